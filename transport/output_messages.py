"""Messages about a job attempt's captured output (``podium logs``), out of the Raft log.

Output never rides the log or the hot report: a worker sends the bounded
capture of an attempt that printed something to every master's ``output``
actor once the attempt ends (:class:`StoreOutput`), and anyone reading asks
with :class:`ReadOutput`: a master's ``output`` actor (which answers from its
store, a peer, or the worker running the attempt) or a worker itself.
"""

from __future__ import annotations

from attrs import frozen

from transport.codec import Message, message

__all__ = ["OUTPUT_ACTOR", "OutputChunk", "ReadOutput", "StoreOutput"]

# the actor on every master that keeps and serves captured output
OUTPUT_ACTOR = "output"


@message("o.store")
@frozen
class StoreOutput(Message):
    """The finished capture of one attempt (head, cut marker, tail), at most the
    worker's ``log_max_bytes`` plus the marker."""

    job_id: str
    attempt: int
    data: bytes


@message("o.read")
@frozen
class ReadOutput(Message):
    """Up to ``limit`` bytes of an attempt's output from ``offset`` on; ``attempt`` 0 is
    the job's latest. ``local``: answer from this node's own store only (a master
    asking its peers sets it, so a question never travels on)."""

    job_id: str
    attempt: int
    offset: int
    limit: int
    local: bool = False


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
