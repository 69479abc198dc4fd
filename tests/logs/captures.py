"""Reading a worker's output buffer whole, for the capture tests (the worker itself only
reads it from an offset or ships it)."""

from __future__ import annotations

from actors.worker.output import HeadTail


def rendered(buf: HeadTail) -> bytes:
    """The whole capture: the head, a marker for what was cut if anything, the tail."""
    return buf.read(0, buf.total)[0]


def cut(buf: HeadTail) -> int:
    """How many bytes between the head and the tail were dropped."""
    return buf.total - len(buf.head) - len(buf.tail)
