"""The schedule commands in the Raft log: defining, pausing and removing a schedule, and
firing one of its ticks.

A schedule's ticks are wall-clock times (epoch seconds). Only the leader
reads a clock, so only the leader decides that a tick is due; it proposes
:class:`FireScheduleCmd` naming the tick and the id of the job to make. The
job table applies a fire only for a tick later than the last one the
schedule fired, so whatever a leader proposes (again after a failover, after
a restart, with a clock that stepped back), a (schedule, tick) makes one job,
ever: the guard is in the replicated state, not in any leader's memory.
"""

from __future__ import annotations

from attrs import frozen

from transport.cluster import JobSpec
from transport.codec import Message, message

__all__ = [
    "CATCH_UP_RULES",
    "DeleteScheduleCmd",
    "FireScheduleCmd",
    "PauseScheduleCmd",
    "PutScheduleCmd",
    "ScheduleSpec",
]

# what a schedule does with ticks that fell while no leader could fire them
CATCH_UP_RULES = ("skip", "one", "all")


@message("s.spec")
@frozen
class ScheduleSpec(Message):
    """A schedule as it was defined: exactly one of ``cron`` and ``every_s``, and the job
    each tick makes (checked at the gateway: no run time, no idempotency key, no parents)."""

    name: str
    cron: str | None
    every_s: float | None
    timezone: str
    catch_up: str
    job: JobSpec


@message("s.put")
@frozen
class PutScheduleCmd(Message):
    """Define a schedule; its first tick is the first one after ``now``."""

    now: float
    spec: ScheduleSpec
    paused: bool


@message("s.delete")
@frozen
class DeleteScheduleCmd(Message):
    now: float
    name: str


@message("s.pause")
@frozen
class PauseScheduleCmd(Message):
    """Pause (``paused``) or resume a schedule; ticks that fall while it is paused are
    never fired, whatever its ``catch_up``."""

    now: float
    name: str
    paused: bool


@message("s.fire")
@frozen
class FireScheduleCmd(Message):
    """The leader's decision that ``ticks`` of schedule ``name`` are due: one job each,
    with the id beside it. ``version`` names the definition the leader read, so a fire
    meant for a schedule deleted since (and perhaps defined again) makes nothing."""

    now: float
    name: str
    version: int
    ticks: tuple[float, ...]
    job_ids: tuple[str, ...]
