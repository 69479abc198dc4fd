"""The Raft scenarios on the real actors: a small sweep, determinism, and a broken core caught."""

from __future__ import annotations

import pytest

from actors.raft.core import RaftCore
from sim.harness import run_scenario

SCENARIOS = ["split_vote", "leader_partition", "figure8", "crash_restart", "minority_partition"]


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("seed", range(2))
def test_scenario_holds(name: str, seed: int) -> None:
    result = run_scenario(name, seed)
    assert result.ok, f"{result.violation}\n" + "\n".join(result.trace[-20:])
    assert result.summary["acked"], "nothing was acknowledged: the scenario proved nothing"


@pytest.mark.parametrize("seed", range(6))
def test_raft_chaos_sweep(seed: int) -> None:
    result = run_scenario("raft_chaos", seed)
    assert result.ok, str(result.violation)


def test_a_seed_replays_identically() -> None:
    first = run_scenario("raft_chaos", 3)
    second = run_scenario("raft_chaos", 3)
    assert first.fingerprint == second.fingerprint
    assert run_scenario("raft_chaos", 4).fingerprint != first.fingerprint


def commit_without_a_majority(self: RaftCore) -> bool:
    """The mutation: the leader commits what it has persisted, quorum or not."""
    mine = self.progress[self.id].match
    if mine > self.commit:
        self.commit = mine
        return True
    return False


def test_a_core_that_ignores_the_quorum_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RaftCore, "_maybe_commit", commit_without_a_majority)
    result = run_scenario("minority_partition", 0)
    assert not result.ok
    assert result.violation is not None
