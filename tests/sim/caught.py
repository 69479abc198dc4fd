"""What the mutation tests share: the first violation a scenario meets over a few seeds,
and the leader's own lease checks taken away."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from actors.scheduler.dispatch import Dispatcher
from actors.scheduler.leases import Leases
from sim.harness import run_scenario
from transport.cluster import Assignment
from transport.commands import AssignCmd


def first_caught(scenario: str, seeds: Iterable[int]) -> str | None:
    """The message of the first violation ``scenario`` meets on ``seeds`` (None: none)."""
    for seed in seeds:
        result = run_scenario(scenario, seed)
        if result.violation is not None:
            return result.violation.message
    return None


def without_leader_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The leader sends a committed assignment whatever it thinks of the worker's lease,
    and a worker it declares lost is renewed by whatever it sends next: what stands
    behind those is the workers' own fence."""
    sends_regardless = Dispatcher.assigned

    def assigned(
        self: Dispatcher, cmd: AssignCmd, committed: bool, now: float
    ) -> dict[str, list[Assignment]]:
        return sends_regardless(self, cmd, committed, float("-inf"))

    monkeypatch.setattr(Dispatcher, "assigned", assigned)
    monkeypatch.setattr(Leases, "expire_worker", Leases.forget_worker)
