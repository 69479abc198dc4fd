"""A type limit through leader failures on the simulator, and broken limits caught.

``limits_chaos`` limits one type to 4/s with a burst of 3 and 3 running,
under load that wants several times more, while the leader crashes, freezes
and is cut off. Each mutant breaks one promise: a bucket that never runs
dry, a new leader that starts from a full bucket whatever its predecessor
spent (the limit as a leader's soft state), and a table that ignores
``max_running``.
"""

from __future__ import annotations

import pytest

from actors.scheduler import type_control
from actors.scheduler.dispatch import Dispatcher
from actors.scheduler.type_control import Limit, TypeControl
from sim.harness import run_scenario

ORIGINAL_ADMIT = TypeControl.admit
ORIGINAL_TAKE_OVER = Dispatcher.take_over


@pytest.mark.parametrize("seed", range(2))
def test_the_limit_holds_through_leader_failures(seed: int) -> None:
    result = run_scenario("limits_chaos", seed)
    assert result.ok, f"{result.violation}\n" + "\n".join(result.trace[-30:])
    assert result.summary["leader_faults"] and result.summary["limited_starts"]


def first_caught(seeds: range) -> str | None:
    for seed in seeds:
        result = run_scenario("limits_chaos", seed)
        if result.violation is not None:
            return result.violation.message
    return None


def test_a_bucket_that_never_runs_dry_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def always_full(bucket: object, limit: Limit, now: float) -> float:
        assert limit.burst is not None
        return limit.burst

    monkeypatch.setattr(type_control, "_refilled", always_full)
    caught = first_caught(range(1))
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
    caught = first_caught(range(3))
    assert caught is not None and "over its limit" in caught, caught


def test_a_table_that_ignores_max_running_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def admit_ignoring_running(self: TypeControl, job_type: str, now: float, running: int) -> bool:
        return ORIGINAL_ADMIT(self, job_type, now, 0)

    monkeypatch.setattr(TypeControl, "admit", admit_ignoring_running)
    monkeypatch.setattr(TypeControl, "room", lambda self, *args, **kw: None)
    caught = first_caught(range(1))
    assert caught is not None and "over its max_running" in caught, caught
