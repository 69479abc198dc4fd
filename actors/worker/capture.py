"""What a job leaves besides its result: a traceback, a bounded output tail, a size check.

Shared by every pool (the trio loop, threads, child processes), so a failure
reads the same wherever its handler ran: the first line is ``Type: message``,
then the traceback from the handler's own frame down (the worker's frames
above it are noise to the user), then, for child processes, the tail of what
the handler printed or logged. Every piece is bounded, because the whole
outcome travels to the leader in one frame of at most ``MAX_FRAME_SIZE``.
"""

from __future__ import annotations

import io
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack

from transport.frames import MAX_FRAME_SIZE

__all__ = [
    "MAX_ERROR_CHARS",
    "MAX_RESULT_BYTES",
    "OUTPUT_TAIL_BYTES",
    "OutputTail",
    "UnstorableResult",
    "bounded_error",
    "failure_detail",
    "invoke",
    "invoke_async",
    "packed_result",
    "with_output",
]

# the last bytes of a handler's printed and logged output kept with a failure
OUTPUT_TAIL_BYTES = 16 * 1024
# an error detail (summary, traceback, output) never grows past this
MAX_ERROR_CHARS = 64 * 1024
# a report carries the result, the error detail (at most 4 bytes a character) and
# the envelope in one frame; a megabyte of room covers the rest with margin
MAX_RESULT_BYTES = MAX_FRAME_SIZE - (1 << 20)
_TRACEBACK_CHARS = 16 * 1024


class UnstorableResult(ValueError):
    """The result cannot travel to the leader: not msgpack-able, or over the size limit."""


def invoke(fn: Callable[..., Any], args: tuple[object, ...]) -> Any:
    """The one place a sync handler is called: its traceback is shown from below here."""
    return fn(*args)


async def invoke_async(fn: Callable[..., Awaitable[Any]], args: tuple[object, ...]) -> Any:
    """The one place an async handler is awaited: its traceback is shown from below here."""
    return await fn(*args)


_ENTRY_CODES = frozenset({invoke.__code__, invoke_async.__code__})


def packed_result(result: object) -> bytes:
    """The result as it will travel, or :class:`UnstorableResult` saying why it cannot."""
    try:
        data: bytes = msgpack.packb(result, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise UnstorableResult(
            f"the handler returned a value that cannot be stored: {exc}"
        ) from None
    if len(data) > MAX_RESULT_BYTES:
        raise UnstorableResult(
            f"the result is {len(data) / (1 << 20):.1f} MiB packed, over the "
            f"{MAX_RESULT_BYTES / (1 << 20):.1f} MiB a job result may take (one wire frame "
            "holds the whole report): store large data elsewhere and return a reference"
        )
    return data


def failure_detail(exc: BaseException, output: str = "") -> str:
    """``Type: message``, the handler's traceback, then its output tail if any."""
    tb = exc.__traceback__
    walk = tb
    while walk is not None:
        if walk.tb_frame.f_code in _ENTRY_CODES:
            tb = walk.tb_next
        walk = walk.tb_next
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    trace = "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()
    if len(trace) > _TRACEBACK_CHARS:
        trace = "...\n" + trace[-_TRACEBACK_CHARS:]
    return with_output(f"{summary}\n{trace}", output)


def with_output(detail: str, output: str) -> str:
    """An error detail followed by the handler's output tail, bounded."""
    if output:
        detail += f"\n--- output (last {OUTPUT_TAIL_BYTES // 1024} KiB) ---\n{output}"
    return bounded_error(detail)


def bounded_error(error: str) -> str:
    """An error detail cut to ``MAX_ERROR_CHARS``, keeping its head (the summary line)."""
    if len(error) <= MAX_ERROR_CHARS:
        return error
    return error[: MAX_ERROR_CHARS - 20] + "\n... (cut)"


class OutputTail(io.TextIOBase):
    """A text stream keeping only the last ``limit`` bytes written, UTF-8 encoded."""

    def __init__(self, limit: int = OUTPUT_TAIL_BYTES) -> None:
        super().__init__()
        self.limit = limit
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer += text.encode("utf-8", "replace")
        if len(self._buffer) > 2 * self.limit:
            del self._buffer[: -self.limit]
        return len(text)

    def text(self) -> str:
        return bytes(self._buffer[-self.limit :]).decode("utf-8", "replace")
