"""Where a job's writes go while it runs in the worker's own process.

Async handlers run on the worker's trio loop and sync ones on its threads
(``--pool thread``), many at once, while ``sys.stdout`` and the root logger
are one per process. So the process-wide streams are replaced, once, by a
router that looks up the *current job* in a context variable: a write made
inside a job (its task, or the thread trio runs it on, which inherits the
task's context) lands in that attempt's :class:`~actors.worker.output.HeadTail`;
any other write goes where it always went. Logging is routed the same way
by one handler on the root logger, which ignores podium's own loggers.

Child processes (``--pool process``) capture their own output and stream it
to the worker (:mod:`actors.worker.child`); shell jobs read their pipes
(:mod:`actors.worker.shell`); both write into :func:`current_sink`.
"""

from __future__ import annotations

import io
import logging
import sys
from contextvars import ContextVar, Token
from typing import TextIO

from actors.worker.output import HeadTail

__all__ = ["LOG_FORMAT", "capturing", "current_sink"]

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"

_SINK: ContextVar[HeadTail | None] = ContextVar("podium_job_output", default=None)


def current_sink() -> HeadTail | None:
    """The capture of the job running in this context, if any."""
    return _SINK.get()


class _Router(io.TextIOBase):
    """A process-wide stream: the current job's capture, else the stream it replaced."""

    def __init__(self, original: TextIO) -> None:
        super().__init__()
        self.original = original

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        sink = _SINK.get()
        if sink is None:
            return self.original.write(text)
        sink.write(text.encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        if _SINK.get() is None:
            self.original.flush()

    def fileno(self) -> int:
        return self.original.fileno()

    def isatty(self) -> bool:
        return _SINK.get() is None and self.original.isatty()


class _JobLogHandler(logging.Handler):
    """A handler's log records into its job's capture (podium's own records stay out)."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _SINK.get()
        if sink is None or _podiums(record.name):
            return
        try:
            sink.write((self.format(record) + "\n").encode("utf-8", "replace"))
        except Exception:
            self.handleError(record)


def _podiums(logger: str) -> bool:
    """Whether a logger is podium's own: ``podium`` and its children, not a user's
    ``podium_etl`` (whose records are its job's output)."""
    return logger == "podium" or logger.startswith("podium.")


_HANDLER = _JobLogHandler()
_HANDLER.setFormatter(logging.Formatter(LOG_FORMAT))


def _install() -> None:
    """Route the process's streams and root logger through the current job.

    Checked on every job rather than done once: whoever swaps ``sys.stdout`` later (a
    test's capsys, pytest between a test's phases, a logging reconfiguration dropping
    the root's handlers) would otherwise take the jobs' output with it. The check is
    three identity tests, the one handler found by identity rather than by a scan."""
    if type(sys.stdout) is not _Router:
        sys.stdout = _Router(sys.stdout)
    if type(sys.stderr) is not _Router:
        sys.stderr = _Router(sys.stderr)
    if _HANDLER not in logging.root.handlers:
        logging.root.addHandler(_HANDLER)


class capturing:
    """Everything written in this context (and threads started from it) goes to ``sink``.

    A class rather than a generator context manager: it wraps every job a worker runs,
    and this costs a quarter of what ``contextlib.contextmanager`` does."""

    __slots__ = ("_sink", "_token")
    _token: Token[HeadTail | None]

    def __init__(self, sink: HeadTail) -> None:
        self._sink = sink

    def __enter__(self) -> None:
        _install()
        self._token = _SINK.set(self._sink)

    def __exit__(self, *exc: object) -> None:
        _SINK.reset(self._token)
