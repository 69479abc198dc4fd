"""A handler's ``ctx.progress(fraction, message)``: checked here, kept as the latest value.

Only the latest value of a running job counts: the worker sends it with its
next heartbeat (never a write per call), so a handler may call it as often as
it likes. In a child process of the pool, values go to the worker over the
job's socket, at most one per :data:`MIN_INTERVAL_S` (the latest one always
follows, from a timer thread, so the last call before a long quiet stretch
is not lost).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

__all__ = ["MAX_MESSAGE", "MIN_INTERVAL_S", "ChildProgress", "Latest", "checked"]

# characters of a progress message kept
MAX_MESSAGE = 200
# a child process sends at most one value per this many seconds
MIN_INTERVAL_S = 0.1


def checked(fraction: object, message: object) -> tuple[float, str]:
    """(fraction, message) as kept; a fraction outside 0..1 (or not a number) raises."""
    if isinstance(fraction, bool) or not isinstance(fraction, int | float):
        raise TypeError(f"progress must be a number from 0 to 1, not {fraction!r}")
    value = float(fraction)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"progress must be from 0 to 1, not {fraction!r}")
    if not isinstance(message, str):
        raise TypeError(f"a progress message must be a string, not {type(message).__name__}")
    return value, message[:MAX_MESSAGE]


class Latest:
    """The latest progress of one running job on the worker (set from any thread)."""

    value: tuple[float, str] | None = None

    def set(self, fraction: float, message: str) -> None:
        self.value = (fraction, message)


class ChildProgress:
    """In a child process: send the latest value of the running job, at most one per
    :data:`MIN_INTERVAL_S`. ``send`` must be safe to call from the timer thread (the
    child's pipe takes a lock)."""

    def __init__(self, send: Callable[[object], None]) -> None:
        self._send = send
        self._lock = threading.Lock()
        self._job: tuple[str, int] | None = None
        self._pending: tuple[float, str] | None = None
        self._last_sent = 0.0
        self._timer: threading.Timer | None = None

    def start(self, job_id: str, attempt: int) -> None:
        with self._lock:
            self._job = (job_id, attempt)

    def stop(self) -> None:
        """The job is over: nothing of it may be sent after its reply."""
        with self._lock:
            self._job = None
            self._pending = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def report(self, job_id: str, attempt: int, fraction: float, message: str) -> None:
        """A value from the context of ``job_id``'s ``attempt`` (bound when the context is
        built), dropped unless that attempt runs now: a thread an earlier job left running
        may call its ``ctx.progress`` during a later job, and must not speak for it."""
        with self._lock:
            if self._job != (job_id, attempt):
                return
            self._pending = (fraction, message)
            wait = self._last_sent + MIN_INTERVAL_S - time.monotonic()
            if wait <= 0:
                self._flush_locked()
            elif self._timer is None:
                self._timer = threading.Timer(wait, self._flush)
                self._timer.daemon = True
                self._timer.start()

    def _flush(self) -> None:
        with self._lock:
            self._timer = None
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._job is None or self._pending is None:
            return
        job_id, attempt = self._job
        fraction, message = self._pending
        self._pending = None
        self._last_sent = time.monotonic()
        self._send(["progress", job_id, attempt, fraction, message])
