"""What gateways, masters and clients say about schedules.

Gateway to master: the writes (:class:`PutSchedule`, :class:`DeleteSchedule`,
:class:`PauseSchedule`), forwarded to the leader like a submit, answered
with :class:`ScheduleChanged` once applied; and the reads
(:class:`GetSchedule`, :class:`ListSchedules`), answered with the master's
rendered JSON like a job read. Client to gateway over the native protocol:
one ``Schedule*Op`` per API call, carrying what the HTTP request carries.
"""

from __future__ import annotations

from attrs import frozen

from transport.codec import Message, message
from transport.schedule_commands import (
    DeleteScheduleCmd,
    PauseScheduleCmd,
    PutScheduleCmd,
    ScheduleSpec,
)

__all__ = [
    "RESENDABLE_SCHEDULE_WRITES",
    "SCHEDULE_READS",
    "SCHEDULE_WRITES",
    "DeleteSchedule",
    "GetSchedule",
    "ListSchedules",
    "PauseSchedule",
    "PutSchedule",
    "ScheduleAddOp",
    "ScheduleChanged",
    "ScheduleDeleteOp",
    "ScheduleGetOp",
    "ScheduleListOp",
    "SchedulePauseOp",
    "ScheduleResumeOp",
    "to_command",
]


# -- gateway -> master ----------------------------------------------------------------


@message("c.schedule-put")
@frozen
class PutSchedule(Message):
    spec: ScheduleSpec
    paused: bool


@message("c.schedule-delete")
@frozen
class DeleteSchedule(Message):
    name: str


@message("c.schedule-pause")
@frozen
class PauseSchedule(Message):
    """Pause (``paused``) or resume."""

    name: str
    paused: bool


@message("c.schedule-get")
@frozen
class GetSchedule(Message):
    name: str


@message("c.schedule-list")
@frozen
class ListSchedules(Message):
    pass


@message("c.schedule-changed")
@frozen
class ScheduleChanged(Message):
    """Outcome of a schedule write: ``created``; ``same`` (a schedule of that name and
    definition exists: the write was already done); ``conflict`` (the name holds another
    definition); ``deleted``, ``paused``, ``resumed``; or ``not_found``. ``view`` is the
    schedule as JSON (as it is now, or as it was when deleted; empty when not found)."""

    name: str
    outcome: str
    view: bytes


SCHEDULE_WRITES = (PutSchedule, DeleteSchedule, PauseSchedule)
SCHEDULE_READS = (GetSchedule, ListSchedules)
# writes that may be sent again when their first sending went unanswered: a definition
# sent twice is answered ``same``, a pause or resume twice leaves the same state
RESENDABLE_SCHEDULE_WRITES = (PutSchedule, PauseSchedule)


# -- client -> gateway (native protocol) -----------------------------------------------


@message("n.schedule-add")
@frozen
class ScheduleAddOp(Message):
    """``body``: msgpack of the object ``POST /api/v1/schedules`` takes."""

    body: bytes


@message("n.schedule-list")
@frozen
class ScheduleListOp(Message):
    stale: bool


@message("n.schedule-get")
@frozen
class ScheduleGetOp(Message):
    name: str
    stale: bool


@message("n.schedule-delete")
@frozen
class ScheduleDeleteOp(Message):
    name: str


@message("n.schedule-pause")
@frozen
class SchedulePauseOp(Message):
    name: str


@message("n.schedule-resume")
@frozen
class ScheduleResumeOp(Message):
    name: str


def to_command(request: PutSchedule | DeleteSchedule | PauseSchedule, now: float) -> Message:
    """The log command a schedule write becomes, at the leader's ``now``."""
    if isinstance(request, PutSchedule):
        return PutScheduleCmd(now, request.spec, request.paused)
    if isinstance(request, DeleteSchedule):
        return DeleteScheduleCmd(now, request.name)
    return PauseScheduleCmd(now, request.name, request.paused)
