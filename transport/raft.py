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
