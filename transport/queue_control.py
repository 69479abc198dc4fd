"""Gateway -> master requests that control job types (limits, pauses) and cancel in bulk.

Writes go to the leader like a submit does and become the commands of
:mod:`transport.limit_commands`; :class:`GetLimits` is a read, answered from
the table as it stands (linearizable on the leader unless asked stale).
"""

from __future__ import annotations

from attrs import frozen

from transport.codec import Message, message

__all__ = [
    "CONTROL_WRITES",
    "CancelJobs",
    "CancelledJobs",
    "ClearTypeLimit",
    "GetLimits",
    "PauseType",
    "SetTypeLimit",
]


@message("c.limit-set")
@frozen
class SetTypeLimit(Message):
    type: str
    rate_per_s: float | None
    burst: float | None
    max_running: int | None


@message("c.limit-clear")
@frozen
class ClearTypeLimit(Message):
    type: str


@message("c.limits")
@frozen
class GetLimits(Message):
    """Every type with a limit or a pause, with its tokens, running and throttled jobs."""


@message("c.type-pause")
@frozen
class PauseType(Message):
    type: str
    paused: bool


@message("c.cancel-many")
@frozen
class CancelJobs(Message):
    """A bulk cancel: ``ids``, or the filters (as :class:`~transport.limit_commands.CancelManyCmd`
    takes them)."""

    ids: tuple[str, ...]
    type: str | None
    statuses: tuple[str, ...]
    schedule: str | None
    # only jobs this user submitted (a ``user``'s bulk cancel); None: anyone's
    owner: str | None = None


@message("c.cancelled-jobs")
@frozen
class CancelledJobs(Message):
    cancelled: int


CONTROL_WRITES = (SetTypeLimit, ClearTypeLimit, PauseType, CancelJobs)
