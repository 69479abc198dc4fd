"""Schedules on the simulator: ``schedules_chaos`` holds, and broken parts are caught."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from actors.scheduler import schedule_firing
from actors.scheduler.schedule_due import Due
from actors.scheduler.schedule_firing import ScheduleFiring
from actors.scheduler.schedule_ticks import Cadence
from actors.scheduler.schedules import Schedule, ScheduleTable
from sim.harness import run_scenario
from transport.schedule_commands import FireScheduleCmd


@pytest.mark.parametrize("seed", range(2))
def test_schedules_chaos_holds(seed: int) -> None:
    result = run_scenario("schedules_chaos", seed)
    assert result.ok, f"{result.violation}\n" + "\n".join(result.trace[-30:])
    summary = result.summary
    assert summary["crash"] and summary["partition"], "faults happened: the run proved something"
    assert int(str(summary["ticks_checked"])) >= 20, "ticks were checked against leaders"


def refiring(refired: list[FireScheduleCmd]) -> Callable[..., list[FireScheduleCmd]]:
    """The mutation: a leader that, at its first look after taking over, fires every
    schedule's last fired tick again (as one that trusted its own memory would)."""
    due = ScheduleFiring.due

    def refire(
        self: ScheduleFiring, now: float, new_id: Callable[[], str]
    ) -> list[FireScheduleCmd]:
        fires = due(self, now, new_id)
        if getattr(self, "refired", False):
            return fires
        self.refired = True  # type: ignore[attr-defined]
        again = [
            FireScheduleCmd(now, e.name, e.version, (e.last_fired,), (new_id(),))
            for e in self.table()
            if e.last_fired is not None and e.name not in self.in_flight
        ]
        self.in_flight.update(fire.name for fire in again)
        refired.extend(again)
        return fires + again

    return refire


def forgetting(self: ScheduleFiring) -> None:
    """Stepping down, the mutant forgets it re-fired (its next term does it again)."""
    self.in_flight.clear()
    self.looked.clear()
    self.refired = False  # type: ignore[attr-defined]


@pytest.fixture
def refired(monkeypatch: pytest.MonkeyPatch) -> list[FireScheduleCmd]:
    proposed: list[FireScheduleCmd] = []
    monkeypatch.setattr(ScheduleFiring, "due", refiring(proposed))
    monkeypatch.setattr(ScheduleFiring, "step_down", forgetting)
    return proposed


def test_a_new_leader_that_refires_the_last_tick_is_stopped_by_the_logs_mark(
    refired: list[FireScheduleCmd],
) -> None:
    result = run_scenario("schedules_chaos", 0)
    assert result.ok, str(result.violation)
    assert refired, "the mutant leader did re-fire"


def test_a_new_leader_that_refires_the_last_tick_is_caught_without_the_mark(
    refired: list[FireScheduleCmd], monkeypatch: pytest.MonkeyPatch
) -> None:
    def accepts_the_last_tick(entry: Schedule, tick: float, now: float) -> bool:
        return entry.mark <= tick <= now

    monkeypatch.setattr(ScheduleTable, "unfired", staticmethod(accepts_the_last_tick))
    result = run_scenario("schedules_chaos", 0)
    assert result.violation is not None
    assert "fired twice" in result.violation.message, result.violation


def test_a_leader_that_drops_every_fifth_tick_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = schedule_firing.due_ticks

    def dropping(cadence: Cadence, mark: float, now: float, catch_up: str) -> Due:
        due = real(cadence, mark, now, catch_up)
        return Due(tuple(t for t in due.ticks if int(t) % 5), due.next_check)

    monkeypatch.setattr(schedule_firing, "due_ticks", dropping)
    result = run_scenario("schedules_chaos", 0)
    assert result.violation is not None
    message = result.violation.message
    # whichever looks first: the leader in charge, or the ``all`` schedule's mark
    assert "did not fire" in message or "has no job for tick" in message, result.violation


def test_a_leader_that_drops_a_new_schedules_first_ticks_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mutation: a schedule's first fire keeps only its latest tick (as a leader that
    counted a new schedule's ticks from its own take-over would). Under a steady leader the
    first fire has one tick and nothing changes; after the outage right after the create,
    the first fire of the ``all`` schedule catches up several and drops the earlier ones,
    which only counting from the create sees (no leader was in charge for those ticks)."""
    due = ScheduleFiring.due

    def first_ticks_dropped(
        self: ScheduleFiring, now: float, new_id: Callable[[], str]
    ) -> list[FireScheduleCmd]:
        fires = due(self, now, new_id)
        for i, fire in enumerate(fires):
            entry = self.table().get(fire.name)
            if entry is not None and entry.fired == 0:
                fires[i] = attrs.evolve(fire, ticks=fire.ticks[-1:], job_ids=fire.job_ids[-1:])
        return fires

    monkeypatch.setattr(ScheduleFiring, "due", first_ticks_dropped)
    result = run_scenario("schedules_chaos", 1)
    assert result.violation is not None
    assert "each-second-all (catch_up all) has no job for tick" in result.violation.message, (
        result.violation
    )
