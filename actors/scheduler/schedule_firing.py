"""The leader's soft state for firing schedules: what it has proposed, when to look again.

The master asks :meth:`ScheduleFiring.due` often (a few times a second);
each schedule is looked at only when something could have changed: a tick's
time came (``next_check``), or its mark or definition moved in the log. For
each schedule with due ticks (:func:`~actors.scheduler.schedule_due.due_ticks`)
it returns one :class:`~transport.schedule_commands.FireScheduleCmd`, and
proposes nothing more for that schedule until that one is applied or lost
(:meth:`done`). None of this is replicated or needs to be right for safety:
the log's mark (:mod:`actors.scheduler.schedules`) keeps every tick to one
job whatever is proposed; this only keeps the leader from proposing in vain.
"""

from __future__ import annotations

from collections.abc import Callable

from actors.scheduler.schedule_due import due_ticks
from actors.scheduler.schedule_ticks import Cadence, CadenceError
from actors.scheduler.schedules import Schedule, ScheduleTable
from transport.schedule_commands import FireScheduleCmd

__all__ = ["ScheduleFiring"]


class ScheduleFiring:
    def __init__(self, table: Callable[[], ScheduleTable]) -> None:
        """``table`` gives the job table's schedules (a restored snapshot replaces them)."""
        self.table = table
        # schedules with a fire proposed and not yet applied or lost
        self.in_flight: set[str] = set()
        # name -> (version, mark) when last looked at, and when to look again
        self.looked: dict[str, tuple[int, float, float | None]] = {}
        self.cadences: dict[str, tuple[int, Cadence | None]] = {}
        # schedules whose timing this master cannot work out (a time zone it lacks)
        self.unusable: list[str] = []

    def due(self, now: float, new_id: Callable[[], str]) -> list[FireScheduleCmd]:
        """The fires to propose at ``now``, one per schedule with due ticks, by name."""
        table = self.table()
        fires = []
        for entry in table:
            name = entry.name
            if entry.paused or name in self.in_flight:
                continue
            if self._unchanged(entry, now):
                continue
            cadence = self._cadence(entry)
            if cadence is None:
                self.looked[name] = (entry.version, entry.mark, None)
                continue
            due = due_ticks(cadence, entry.mark, now, entry.spec.catch_up)
            self.looked[name] = (entry.version, entry.mark, due.next_check)
            if due.ticks:
                self.in_flight.add(name)
                ids = tuple(new_id() for _ in due.ticks)
                fires.append(FireScheduleCmd(now, name, entry.version, due.ticks, ids))
        if len(self.looked) > len(table):
            self._forget_deleted(table)
        return fires

    def _unchanged(self, entry: Schedule, now: float) -> bool:
        """Whether nothing can have become due since ``entry`` was last looked at."""
        seen = self.looked.get(entry.name)
        if seen is None or seen[:2] != (entry.version, entry.mark):
            return False
        return seen[2] is None or now < seen[2]

    def done(self, name: str) -> None:
        """A fire of ``name`` was applied, or lost: look at the schedule afresh."""
        self.in_flight.discard(name)
        self.looked.pop(name, None)

    def step_down(self) -> None:
        """No longer leading: a later term starts from the log alone."""
        self.in_flight.clear()
        self.looked.clear()

    def take_unusable(self) -> list[str]:
        """Schedules found unusable since the last call (the master logs them once)."""
        out, self.unusable = self.unusable, []
        return out

    def _cadence(self, entry: Schedule) -> Cadence | None:
        cached = self.cadences.get(entry.name)
        if cached is not None and cached[0] == entry.version:
            return cached[1]
        spec = entry.spec
        try:
            cadence: Cadence | None = Cadence.of(
                spec.cron, spec.every_s, spec.timezone, entry.created_at
            )
        except CadenceError:
            cadence = None
            self.unusable.append(entry.name)
        self.cadences[entry.name] = (entry.version, cadence)
        return cadence

    def _forget_deleted(self, table: ScheduleTable) -> None:
        for kept in (self.looked, self.cadences):
            for name in [n for n in kept if table.get(n) is None]:
                del kept[name]
