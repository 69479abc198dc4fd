"""Waits and reads that several test modules share, each bounded in time so that what never
comes fails the test with what was seen instead of hanging the run.

They live here, not in a test module, so that a test module imports no other one (a test
module's helpers move with its tests, and importing it runs its collection-time code).
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import httpx
import trio

from client.events import SseParser

T = TypeVar("T")


def ctrl_c_default() -> None:
    """``preexec_fn`` for a command a test stops with Ctrl-C (SIGINT): a test run in the
    background (``cmd &`` in a script, as CI may start it) ignores SIGINT, children inherit
    that, and a Python that starts with SIGINT ignored never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(
    check: Callable[[], object],
    within_s: float,
    what: str,
    describe: Callable[[], str] | None = None,
) -> None:
    """Until ``check()`` is true, asked again every 50 ms; after ``within_s`` the test fails
    saying ``what`` did not come, followed by what ``describe`` says then (a cluster's log
    tails, say)."""
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            seen = f"\n{describe()}" if describe else ""
            raise AssertionError(f"{what}: not within {within_s:g}s{seen}")
        time.sleep(0.05)


def wait_ready(
    url: str, timeout: float = 60.0, process: subprocess.Popen[Any] | None = None
) -> None:
    """Until the node at ``url`` answers ``/ready`` with 200 (one still starting refuses
    connections, so those count as not yet); when ``process`` is the node, its exit fails
    the wait at once instead of at the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{url}: the node exited with {process.returncode} before ready")
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready in {timeout} s")


def read_until(
    items: Iterable[T], last: Callable[[T], bool], within_s: float, what: str
) -> list[T]:
    """``items`` up to and including the first that ``last`` accepts, read in a thread: a
    stream that stays open without it (keep-alive pings, a process that never prints it)
    fails the test after ``within_s`` rather than hanging the run."""
    got: list[T] = []
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            for item in items:
                got.append(item)
                if last(item):
                    outcome.append(None)
                    return
            outcome.append(AssertionError(f"{what}: the stream ended first, after {got}"))
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(within_s)
    assert outcome, f"{what}: not within {within_s:g}s; read so far: {list(got)}"
    if outcome[0] is not None:
        raise outcome[0]
    return got


async def read_events(
    response: httpx.Response, until: str, limit_s: float = 10.0, times: int = 1
) -> list[dict[str, Any]]:
    """The parsed events of an SSE response, up to and including the ``times``-th of type
    ``until`` (a response's lines can be read once: one call per stream).

    A plain function returning the list, not an async generator: its deadline is a cancel
    scope, and one held open across a ``yield`` would be exited wherever the consumer
    stops iterating (trio forbids that), not where it was entered."""
    parser = SseParser()
    id_line: str | None = None
    events: list[dict[str, Any]] = []
    with trio.fail_after(limit_s):
        async for line in response.aiter_lines():
            if line.startswith("id:"):
                id_line = line.removeprefix("id:").removeprefix(" ")
            event = parser.feed(line)
            if event is None:
                continue
            # the SSE id line, when there is one, is the event's own id
            assert id_line is None or event["id"] == id_line, (event, id_line)
            id_line = None
            events.append(event)
            if event["type"] == until:
                times -= 1
                if not times:
                    break
    return events
