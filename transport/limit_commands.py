"""The log commands that control job types and cancel in bulk, and what applying them returns.

A limit, a pause and a bulk cancel change the replicated state, so each is
a command in the Raft log like a submit: every master applies the same ones
in the same order and agrees on which type is throttled, which is paused and
which jobs a bulk cancel took. Each carries the leader's ``now``; the token
bucket of a rate limit is refilled from the log's own clock, so no master
reads its own.
"""

from __future__ import annotations

from attrs import frozen

from transport.codec import Message, message

__all__ = [
    "CancelManyCmd",
    "CancelledMany",
    "CancelledRun",
    "ClearLimitCmd",
    "LimitCleared",
    "PauseTypeCmd",
    "SetLimitCmd",
]


@message("j.limit-set")
@frozen
class SetLimitCmd(Message):
    """Limit ``type``: at most ``rate_per_s`` assignments a second with bursts of
    ``burst``, and at most ``max_running`` running at once (None: no such limit).
    Replaces the type's earlier limit; a bucket it already had keeps its tokens."""

    now: float
    type: str
    rate_per_s: float | None
    burst: float | None
    max_running: int | None


@message("j.limit-clear")
@frozen
class ClearLimitCmd(Message):
    now: float
    type: str


@message("j.type-pause")
@frozen
class PauseTypeCmd(Message):
    """Pause (or resume) ``type``: its jobs stay pending; running ones finish."""

    now: float
    type: str
    paused: bool


@message("j.cancel-many")
@frozen
class CancelManyCmd(Message):
    """Cancel the live jobs named by ``ids``, or else every live job matching the filters
    (``type``, one of ``statuses``, made by ``schedule``); the filters are evaluated when
    the command applies, so every master cancels the same jobs."""

    now: float
    ids: tuple[str, ...]
    type: str | None
    statuses: tuple[str, ...]
    schedule: str | None
    # only jobs this user submitted (appended with a default: older entries read)
    owner: str | None = None


# what a bulk cancel did: how many jobs, and the runs a worker must stop
@message("j.cancelled-run")
@frozen
class CancelledRun(Message):
    worker: str
    job_id: str
    attempt: int


@message("j.cancelled-many")
@frozen
class CancelledMany(Message):
    count: int
    running: tuple[CancelledRun, ...]


@message("j.limit-cleared")
@frozen
class LimitCleared(Message):
    """What clearing a limit did: ``found`` is False when the type had none."""

    found: bool
