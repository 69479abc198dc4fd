"""Length-prefixed framing, as a sans-I/O decoder.

A frame is a 4-byte big-endian length followed by that many bytes. The decoder
never buffers more than one maximum-size frame: a length over the limit is an
error at once, before any of the body is read, so a hostile peer cannot make a
node allocate gigabytes by announcing them.
"""

from __future__ import annotations

import struct

MAX_FRAME_SIZE = 16 * 1024 * 1024
_HEADER = struct.Struct(">I")
HEADER_SIZE = _HEADER.size

__all__ = ["HEADER_SIZE", "MAX_FRAME_SIZE", "FrameDecoder", "FrameError", "frame"]


class FrameError(ValueError):
    """The byte stream does not follow the framing rules."""


def frame(body: bytes, max_size: int = MAX_FRAME_SIZE) -> bytes:
    if len(body) > max_size:
        raise FrameError(f"frame of {len(body)} bytes exceeds the {max_size}-byte limit")
    return _HEADER.pack(len(body)) + body


class FrameDecoder:
    """Feed it bytes as they arrive; it hands back every complete frame body."""

    def __init__(self, max_size: int = MAX_FRAME_SIZE) -> None:
        self._max_size = max_size
        self._buffer = bytearray()

    def feed(self, data: bytes | bytearray) -> list[bytes]:
        self._buffer += data
        frames: list[bytes] = []
        view = self._buffer
        offset = 0
        while len(view) - offset >= HEADER_SIZE:
            (length,) = _HEADER.unpack_from(view, offset)
            if length > self._max_size:
                raise FrameError(
                    f"peer announced a {length}-byte frame; the limit is {self._max_size}"
                )
            end = offset + HEADER_SIZE + length
            if len(view) < end:
                break
            frames.append(bytes(view[offset + HEADER_SIZE : end]))
            offset = end
        if offset:
            del self._buffer[:offset]
        return frames

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame; non-zero at end of stream means truncation."""
        return len(self._buffer)
