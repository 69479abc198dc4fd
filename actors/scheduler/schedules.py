"""The replicated schedule table: definitions, pause state, and each schedule's mark.

A schedule's **mark** is the time up to which its ticks are done: when it was
defined, then each tick it fired, and when it was resumed (ticks that fell
while paused are never fired). It only moves forward, and only through the
log. A fire (:class:`~transport.schedule_commands.FireScheduleCmd`) makes a
job for each of its ticks later than the mark and moves the mark to that
tick; a tick not later is ignored. That is the whole of "exactly one job per
(schedule, tick)": a leader that proposes a tick again, after a failover, a
restart of every master or a clock step, finds the mark already past it.

Like the job table, this never reads a clock: the time is the command's. It
never evaluates a cron expression or a time zone either (the leader does,
:mod:`actors.scheduler.schedule_due`), so applying the log gives the same
table on every master whatever its time-zone database says.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import attrs

from actors.scheduler.schedule_views import schedule_view
from transport.codec import decode, encode
from transport.commands import NewJob
from transport.job_options import JobOptions
from transport.schedule_commands import (
    DeleteScheduleCmd,
    FireScheduleCmd,
    PauseScheduleCmd,
    PutScheduleCmd,
    ScheduleSpec,
)
from transport.schedule_requests import ScheduleChanged

__all__ = ["SCHEDULE_CHANGES", "Schedule", "ScheduleTable"]

SCHEDULE_CHANGES = (PutScheduleCmd, DeleteScheduleCmd, PauseScheduleCmd)
_NO_OPTIONS = JobOptions()


@attrs.define
class Schedule:
    spec: ScheduleSpec
    # the table's serial when this definition was made: tells it from an earlier
    # schedule of the same name, so a fire meant for that one makes nothing here
    version: int
    created_at: float
    paused: bool
    # ticks up to here are done (see the module doc)
    mark: float
    updated_at: float
    last_fired: float | None = None
    last_job: str | None = None
    # ticks this schedule has fired (each made a job, or found one live by its unique key)
    fired: int = 0

    @property
    def name(self) -> str:
        return self.spec.name


class ScheduleTable:
    def __init__(self) -> None:
        self.entries: dict[str, Schedule] = {}
        self.serial = 0

    # -- applying ------------------------------------------------------------------------

    def change(
        self, cmd: PutScheduleCmd | DeleteScheduleCmd | PauseScheduleCmd, now: float
    ) -> ScheduleChanged:
        """Define, delete, pause or resume; the answer carries the schedule's view."""
        if isinstance(cmd, PutScheduleCmd):
            return self._put(cmd, now)
        entry = self.entries.get(cmd.name)
        if entry is None:
            return ScheduleChanged(cmd.name, "not_found", b"")
        if isinstance(cmd, DeleteScheduleCmd):
            del self.entries[cmd.name]
            return self._answer(entry, "deleted", now)
        if cmd.paused != entry.paused:
            entry.paused = cmd.paused
            entry.updated_at = now
            if not cmd.paused:
                entry.mark = max(entry.mark, now)
        return self._answer(entry, "paused" if cmd.paused else "resumed", now)

    def _put(self, cmd: PutScheduleCmd, now: float) -> ScheduleChanged:
        spec = cmd.spec
        entry = self.entries.get(spec.name)
        if entry is not None:
            return self._answer(entry, "same" if entry.spec == spec else "conflict", now)
        self.serial += 1
        entry = Schedule(spec, self.serial, now, cmd.paused, now, now)
        self.entries[spec.name] = entry
        return self._answer(entry, "created", now)

    def fire(self, cmd: FireScheduleCmd, now: float) -> tuple[NewJob, ...]:
        """The jobs a fire makes: one per tick later than the mark (and not later than
        ``now``, the log's time), none for a paused, deleted or redefined schedule."""
        entry = self.entries.get(cmd.name)
        if entry is None or entry.version != cmd.version or entry.paused:
            return ()
        jobs = []
        for tick, job_id in zip(cmd.ticks, cmd.job_ids, strict=False):
            if not self.unfired(entry, tick, now):
                continue
            entry.mark = entry.last_fired = tick
            entry.fired += 1
            jobs.append(_job(entry.spec, tick, job_id))
        if jobs:
            entry.updated_at = now
        return tuple(jobs)

    def found(self, name: str, job_id: str) -> None:
        """The job the last tick of ``name`` fired: the one it made, or the live one its
        unique key found (which made none)."""
        entry = self.entries.get(name)
        if entry is not None:
            entry.last_job = job_id

    @staticmethod
    def unfired(entry: Schedule, tick: float, now: float) -> bool:
        """The guard: whether ``tick`` may still make a job, being later than the mark
        (nothing fired it yet) and no later than the log's time."""
        return entry.mark < tick <= now

    def _answer(self, entry: Schedule, outcome: str, now: float) -> ScheduleChanged:
        view = json.dumps(schedule_view(entry, now)).encode()
        return ScheduleChanged(entry.name, outcome, view)

    # -- reading ---------------------------------------------------------------------------

    def get(self, name: str) -> Schedule | None:
        return self.entries.get(name)

    def __iter__(self) -> Iterator[Schedule]:
        """Every schedule, by name."""
        return (self.entries[name] for name in sorted(self.entries))

    def __len__(self) -> int:
        return len(self.entries)

    # -- snapshot --------------------------------------------------------------------------

    def rows(self) -> list[list[Any]]:
        return [
            [
                s.name, encode(s.spec), s.version, s.created_at, s.paused, s.mark,
                s.updated_at, s.last_fired, s.last_job, s.fired,
            ]
            for s in self
        ]  # fmt: skip

    def restore(self, rows: list[list[Any]], serial: int) -> None:
        self.entries = {}
        self.serial = serial
        for name, packed, *fields in rows:
            spec = decode(packed)
            assert isinstance(spec, ScheduleSpec) and spec.name == name, type(spec)
            self.entries[name] = Schedule(spec, *fields)


def _job(spec: ScheduleSpec, tick: float, job_id: str) -> NewJob:
    """The job a tick makes: the schedule's job, marked with the schedule and the tick."""
    job = spec.job
    options = attrs.evolve(job.options or _NO_OPTIONS, schedule=spec.name, scheduled_for=tick)
    return NewJob(
        job_id, job.type, job.payload, job.priority, job.max_retries, job.timeout_s,
        None, None, options,
    )  # fmt: skip
