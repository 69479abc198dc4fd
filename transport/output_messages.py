"""Messages about a job attempt's captured output (``podium logs``), out of the Raft log.

Output never rides the log or the hot report: a worker sends the bounded
capture of an attempt that printed something to every master's ``output``
actor once the attempt ends (:class:`StoreOutput`), and anyone reading asks
with :class:`ReadOutput`: a master's ``output`` actor (which answers from its
store, a peer, or the worker running the attempt) or a worker itself.

A capture is its head, its tail and how many bytes were written in all
(:class:`Capture`), and a read addresses bytes by their offset in the whole
stream as written, whoever answers it (:func:`read_capture`): so a follower
that read up to offset N while the worker held the capture goes on from N
once a master holds it, and gets every byte of the tail once.
"""

from __future__ import annotations

from typing import NamedTuple

from attrs import frozen

from transport.codec import Message, message

__all__ = [
    "OUTPUT_ACTOR",
    "Capture",
    "FetchOutput",
    "OutputChunk",
    "ReadOutput",
    "StoreOutput",
    "cut_marker",
    "read_capture",
]

# the actor on every master that keeps and serves captured output
OUTPUT_ACTOR = "output"


class Capture(NamedTuple):
    """An attempt's capture: its first bytes, its last ones, and how many were written
    (the bytes between the two were cut)."""

    head: bytes
    tail: bytes
    total: int


def cut_marker(cut: int) -> bytes:
    """The line standing for ``cut`` bytes left out between the head and the tail."""
    return f"\n... [{cut} bytes of output cut] ...\n".encode()


def read_capture(
    head: bytes | bytearray, tail: bytes, total: int, offset: int, limit: int
) -> tuple[bytes, int]:
    """Up to ``limit`` bytes written from ``offset`` on (a marker first when some were cut),
    and the offset to ask from next; offsets count the whole stream as written."""
    if offset >= total:
        return b"", total
    if offset < len(head):
        data = bytes(head[offset : offset + limit])
        if len(data) == limit:
            return data, offset + len(data)
        rest, after = read_capture(head, tail, total, offset + len(data), limit - len(data))
        return data + rest, after
    tail_start = total - len(tail)
    marker = b""
    if offset < tail_start:
        marker = cut_marker(tail_start - offset)
        offset = tail_start
    data = tail[offset - tail_start : offset - tail_start + limit]
    return marker + data, offset + len(data)


@message("o.store")
@frozen
class StoreOutput(Message):
    """The finished capture of one attempt, at most the worker's ``log_max_bytes``.

    ``data`` is what workers sent before the head and the tail travelled apart: the
    rendered capture (head, cut marker, tail), empty from a newer worker."""

    job_id: str
    attempt: int
    data: bytes
    head: bytes = b""
    tail: bytes = b""
    total: int = 0

    def capture(self) -> Capture:
        """The capture; an older worker's rendering reads as a stream of its own bytes (a
        follower's offsets past its head are then off, as they always were)."""
        if self.total:
            return Capture(self.head, self.tail, self.total)
        return Capture(self.data, b"", len(self.data))


@message("o.fetch")
@frozen
class FetchOutput(Message):
    """A master asks a peer for an attempt's capture to keep it too: the answer is the
    :class:`StoreOutput` the peer holds, or an :class:`OutputChunk` not ``found``."""

    job_id: str
    attempt: int


@message("o.read")
@frozen
class ReadOutput(Message):
    """Up to ``limit`` bytes of an attempt's output from ``offset`` on; ``attempt`` 0 is
    the job's latest. (A master asks its peers with :class:`FetchOutput`, so a question
    never travels on.)"""

    job_id: str
    attempt: int
    offset: int
    limit: int


@message("o.chunk")
@frozen
class OutputChunk(Message):
    """An answer to :class:`ReadOutput`. ``error``: why there is nothing to read (no such
    job or attempt), with ``status`` the HTTP status it maps to. ``running``: the
    attempt still runs, so more may come after ``next_offset``."""

    attempt: int
    data: bytes
    next_offset: int
    running: bool
    found: bool = True
    error: str = ""
    status: int = 200
