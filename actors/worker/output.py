"""A job attempt's output, bounded: the first and the last bytes, and what was cut between.

Everything a job writes goes through one :class:`HeadTail` per attempt. It
keeps the first half of its limit as written (a job's opening lines say what
it set out to do) and the last half as a ring (its closing lines say how it
ended); bytes between are counted, not kept. So memory per attempt is bounded
by the limit whatever the job prints, and the rendered capture is at most the
limit plus a one-line marker.

Bytes are addressed by their offset in the whole stream as written, so a
follower that read up to offset N asks for what comes after N; when part of
what it asks for was cut meanwhile, it gets the marker and then the tail.
A master answers reads of the finished capture the same way
(:func:`~transport.output_messages.read_capture`), so a follower crosses the
attempt's end without a gap or a byte twice.

:class:`RecentOutputs` is the worker's shelf: the captures of running
attempts and of the last few finished ones (a follower that asks just after
an attempt ended, or a master that missed the capture, still finds it).

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections import OrderedDict

import attrs

from transport.output_messages import Capture, read_capture

__all__ = ["DEFAULT_LOG_MAX_BYTES", "HeadTail", "RecentOutputs"]

# the default: a mebibyte of output kept per attempt
DEFAULT_LOG_MAX_BYTES = 1 << 20


class HeadTail:
    """The head and tail of a byte stream, ``limit`` bytes at most (see the module doc)."""

    def __init__(self, limit: int = DEFAULT_LOG_MAX_BYTES) -> None:
        if limit < 2:
            raise ValueError("an output buffer needs a limit of at least 2 bytes")
        self.limit = limit
        self._head_room = limit // 2
        self._tail_room = limit - self._head_room
        self.head = bytearray()
        self._tail = bytearray()
        # bytes written in all, and the offset of the tail's first byte
        self.total = 0

    def write(self, data: bytes | bytearray) -> None:
        self.total += len(data)
        room = self._head_room - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        self._tail += data
        # trimmed in amortised steps rather than on every write
        if len(self._tail) > 2 * self._tail_room:
            del self._tail[: -self._tail_room]

    @property
    def tail(self) -> bytes:
        return bytes(self._tail[-self._tail_room :])

    def read(self, offset: int, limit: int) -> tuple[bytes, int]:
        """Up to ``limit`` bytes written from ``offset`` on (a marker first when some were
        cut), and the offset to ask from next."""
        return read_capture(self.head, self.tail, self.total, offset, limit)

    def capture(self) -> Capture:
        """The capture as it is now, to ship once the attempt ended."""
        return Capture(bytes(self.head), self.tail, self.total)


@attrs.define
class _Capture:
    buffer: HeadTail
    running: bool = True


class RecentOutputs:
    """The captures of running attempts and of the last ``keep`` finished ones."""

    def __init__(self, limit: int = DEFAULT_LOG_MAX_BYTES, keep: int = 16) -> None:
        self.limit = limit
        self.keep = keep
        self._captures: OrderedDict[tuple[str, int], _Capture] = OrderedDict()
        self._finished = 0

    def start(self, job_id: str, attempt: int) -> HeadTail:
        capture = _Capture(HeadTail(self.limit))
        self._captures[(job_id, attempt)] = capture
        return capture.buffer

    def finish(self, job_id: str, attempt: int) -> None:
        """The attempt ended; its capture stays until ``keep`` newer attempts have ended.
        Captures that saw no byte are dropped at once: they cost nothing to forget."""
        key = (job_id, attempt)
        capture = self._captures.get(key)
        if capture is None or not capture.running:
            return
        if not capture.buffer.total:
            del self._captures[key]
            return
        capture.running = False
        self._captures.move_to_end(key)
        self._finished += 1
        while self._finished > self.keep:
            for old, kept in self._captures.items():
                if not kept.running:
                    del self._captures[old]
                    self._finished -= 1
                    break

    def get(self, job_id: str, attempt: int) -> tuple[HeadTail, bool] | None:
        """The attempt's capture and whether it still runs, or None if not held here."""
        capture = self._captures.get((job_id, attempt))
        return None if capture is None else (capture.buffer, capture.running)
