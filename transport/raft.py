"""Raft's durable records and wire messages.

The records here (:class:`Entry`, :class:`HardState`, :class:`Snapshot`) are
what storage persists; the messages are what masters exchange. Both are plain
attrs data so the pure core, the storage layer and the codec share them.
"""

from __future__ import annotations

import enum

from attrs import frozen

from transport.codec import Message, message


class EntryKind(enum.IntEnum):
    NORMAL = 0  # an application command (opaque bytes to Raft)
    NOOP = 1  # appended by a new leader to commit entries of earlier terms
    CONF = 2  # a membership change; data is an encoded ConfChange


@message("raft.entry")
@frozen
class Entry(Message):
    term: int
    index: int
    kind: int
    data: bytes


@message("raft.hard")
@frozen
class HardState(Message):
    """What must be on disk before a node answers a vote or acknowledges entries."""

    term: int
    vote: str | None
    commit: int


@message("raft.snapshot")
@frozen
class Snapshot(Message):
    """A state-machine image covering every entry up to ``index``."""

    index: int
    term: int
    voters: tuple[str, ...]
    data: bytes


class ConfOp(enum.IntEnum):
    ADD = 0
    REMOVE = 1


@message("raft.conf")
@frozen
class ConfChange(Message):
    """The payload of a CONF entry: one master joins or leaves the voters."""

    op: int
    node: str


# -- messages between masters: every one names its sender and its term --


@message("raft.vote")
@frozen
class VoteRequest(Message):
    """RequestVote, or PreVote when ``pre`` (the term is then the one the sender *would* use)."""

    src: str
    term: int
    last_index: int
    last_term: int
    pre: bool
    # a leadership transfer: voters ignore their leader lease
    transfer: bool


@message("raft.voted")
@frozen
class VoteResponse(Message):
    src: str
    term: int
    granted: bool
    pre: bool


@message("raft.append")
@frozen
class AppendEntries(Message):
    src: str
    term: int
    prev_index: int
    prev_term: int
    entries: tuple[Entry, ...]
    commit: int


@message("raft.appended")
@frozen
class AppendResponse(Message):
    """``index`` is the follower's new match on success, the rejected ``prev_index`` otherwise.

    On a rejection ``hint_term``/``hint_index`` let the leader skip a whole
    conflicting term at once instead of probing one index per round trip.
    """

    src: str
    term: int
    success: bool
    index: int
    hint_index: int
    hint_term: int


@message("raft.beat")
@frozen
class Heartbeat(Message):
    """Keeps followers' election timers quiet; ``ctx`` numbers the round for ReadIndex."""

    src: str
    term: int
    commit: int
    ctx: int


@message("raft.beaten")
@frozen
class HeartbeatResponse(Message):
    src: str
    term: int
    ctx: int
    last_index: int


@message("raft.install")
@frozen
class InstallSnapshot(Message):
    src: str
    term: int
    snapshot: Snapshot


@message("raft.timeout_now")
@frozen
class TimeoutNow(Message):
    """Leadership transfer: the target campaigns at once, without PreVote."""

    src: str
    term: int


class SnapshotPart(enum.IntEnum):
    STATE = 0  # a slice of the snapshot's own data (the live state machine)
    EXTRA = 1  # a batch of the state machine's bulk data (the job history)
    DONE = 2  # nothing more: install it


@message("raft.snap-chunk")
@frozen
class SnapshotChunk(Message):
    """One piece of an InstallSnapshot streamed from the leader, asked and acknowledged
    one at a time, so no message is ever the whole snapshot. ``seq`` counts from 0;
    a follower that sees a gap refuses, and the leader starts over later."""

    src: str
    term: int
    index: int
    snap_term: int
    voters: tuple[str, ...]
    seq: int
    part: int
    data: bytes


@message("raft.snap-ack")
@frozen
class SnapshotChunkAck(Message):
    accepted: bool
    reason: str


RaftMessage = (
    VoteRequest
    | VoteResponse
    | AppendEntries
    | AppendResponse
    | Heartbeat
    | HeartbeatResponse
    | InstallSnapshot
    | TimeoutNow
)
