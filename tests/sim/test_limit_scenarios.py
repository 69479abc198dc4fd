"""A type limit through leader failures on the simulator, and broken limits caught.

``limits_chaos`` limits one type to 4/s with a burst of 3 and 3 running,
under load that wants several times more, while the leader crashes, freezes
and is cut off. Each mutant breaks one promise: a bucket that never runs
dry, a new leader that starts from a full bucket whatever its predecessor
spent (the limit as a leader's soft state), a table that ignores
``max_running``, and a dispatcher that plans a paused type's jobs.
"""

from __future__ import annotations

import pytest

from actors.scheduler import type_control
from actors.scheduler.backoff import Backoff
from actors.scheduler.dispatch import Dispatcher
from actors.scheduler.state import JobStateMachine
from actors.scheduler.type_control import Limit, TypeControl
from sim.harness import run_scenario
from sim.pause_check import PauseCheck
from tests.sim.caught import first_caught
from transport.commands import AssignCmd, AssignmentCmd, NewJob, RegisterWorkerCmd, SubmitCmd
from transport.limit_commands import PauseTypeCmd

ORIGINAL_ADMIT = TypeControl.admit
ORIGINAL_TAKE_OVER = Dispatcher.take_over
ORIGINAL_WITHIN_LIMITS = Dispatcher._within_limits


@pytest.mark.parametrize("seed", range(2))
def test_the_limit_holds_through_leader_failures(seed: int) -> None:
    result = run_scenario("limits_chaos", seed)
    assert result.ok, f"{result.violation}\n" + "\n".join(result.trace[-30:])
    assert result.summary["leader_faults"] and result.summary["limited_starts"]
    assert result.summary["pauses"] and result.summary["assigns_while_paused"]


def test_a_bucket_that_never_runs_dry_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def always_full(bucket: object, limit: Limit, now: float) -> float:
        assert limit.burst is not None
        return limit.burst

    monkeypatch.setattr(type_control, "_refilled", always_full)
    caught = first_caught("limits_chaos", range(1))
    assert caught is not None and "over its limit" in caught, caught


def test_a_new_leader_that_refills_the_bucket_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bucket kept as the leader's own state: each new leader starts it full."""

    def take_over_with_a_full_bucket(self: Dispatcher, term: int, now: float, rng: object) -> None:
        ORIGINAL_TAKE_OVER(self, term, now, rng)  # type: ignore[arg-type]
        control = self.jobs.control
        for job_type, bucket in control.buckets.items():
            burst = control.limits[job_type].burst
            assert burst is not None
            bucket.tokens, bucket.at = burst, now

    monkeypatch.setattr(Dispatcher, "take_over", take_over_with_a_full_bucket)
    caught = first_caught("limits_chaos", range(3))
    assert caught is not None and "over its limit" in caught, caught


def test_a_table_that_ignores_max_running_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def admit_ignoring_running(self: TypeControl, job_type: str, now: float, running: int) -> bool:
        return ORIGINAL_ADMIT(self, job_type, now, 0)

    monkeypatch.setattr(TypeControl, "admit", admit_ignoring_running)
    # no room limit but a pause's (this mutant is about max_running only)
    monkeypatch.setattr(
        TypeControl, "room", lambda self, job_type, *a, **kw: 0 if job_type in self.paused else None
    )
    caught = first_caught("limits_chaos", range(1))
    assert caught is not None and "over its max_running" in caught, caught


def test_a_dispatcher_that_ignores_pauses_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The table still refuses what it is sent; the leader must not send it."""

    def ignoring_pauses(
        self: Dispatcher, types: frozenset[str], now: float
    ) -> tuple[frozenset[str], dict[str, int]]:
        control = self.jobs.control
        paused, control.paused = control.paused, set()
        try:
            return ORIGINAL_WITHIN_LIMITS(self, types, now)
        finally:
            control.paused = paused

    monkeypatch.setattr(Dispatcher, "_within_limits", ignoring_pauses)
    caught = first_caught("limits_chaos", range(1))
    assert caught is not None and "while the type was paused" in caught, caught


def test_the_pause_check_spares_an_assignment_chosen_before_the_pause_applied() -> None:
    """A leader that chose a batch while the pause was on its way: the batch commits after
    the pause, the table refuses it, and that is no violation; one chosen after is."""
    chosen: dict[int, int] = {}
    check = PauseCheck(lambda cmd: chosen.get(int(cmd.now)))
    table = JobStateMachine(Backoff())
    table.apply_decoded(1, RegisterWorkerCmd(0.0, "w1", 4, ("work",), 4))
    table.apply_decoded(2, SubmitCmd(0.0, (NewJob("j1", "work", b"", 0, 0, 3.0, None, None),)))
    pause = PauseTypeCmd(1.0, "work", True)
    table.apply_decoded(3, pause)
    check.applied("m1", table, 3, pause, True)
    late = AssignCmd(4.0, (AssignmentCmd("j1", "w1", 1, 9.0),))
    chosen[4] = 2
    table.apply_decoded(4, late)
    check.applied("m1", table, 4, late, True)
    assert check.check() is None
    assert check.paused_since("work", 4) == 3 and check.paused_since("work", 3) is None
    again = AssignCmd(5.0, (AssignmentCmd("j1", "w1", 1, 9.0),))
    chosen[5] = 4
    table.apply_decoded(5, again)
    check.applied("m1", table, 5, again, True)
    problem = check.check()
    assert problem is not None and "chose it at index 4" in problem and "since index 3" in problem
