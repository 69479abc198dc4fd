"""The leader and a follower paused together: the leader wakes in its own term with every
lease run out, and two executions of one job must still never both hold a lease.

The bug this scenario found (with the code before the fix, seeds 20, 30, 31, 39 and 41
of 0-59 failed; with it, none of 0-99): the waking leader committed
an assignment it had proposed before the pause and sent it to a worker it was, in the
same moment, declaring lost; the worker said hello, got a ``Welcome`` (the loss was not
in the log yet, so the hello wrote nothing) and then the late assignment, and ran it
beside the retry the loss made. Three defences now stand, and each alone held the
first seeds found: the leader sends no assignment to a worker it no longer trusts
(:meth:`Leases.trusts`); a worker declared lost is renewed by nothing until it has
registered again after the loss (:meth:`Leases.expire_worker`); and a worker refuses
an assignment committed before its latest registration (:class:`AttemptFence`).
The mutant takes all three away."""

from __future__ import annotations

import pytest

from actors.worker.fence import AttemptFence
from sim.harness import run_scenario
from tests.sim.caught import first_caught, without_leader_checks


def test_a_paired_pause_keeps_one_live_lease_per_job() -> None:
    result = run_scenario("leader_follower_pause", 30)
    assert result.ok, f"{result.violation}\n" + "\n".join(result.trace[-30:])
    assert result.summary["paired_pauses"] and result.summary["runs"], result.summary
    assert any("worker lost" in line for line in result.trace), "leases did run out"


def test_the_three_defences_taken_away_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    without_leader_checks(monkeypatch)
    refusal = AttemptFence.refusal
    # the term fence stays: only a registration is no longer a reason to refuse
    monkeypatch.setattr(AttemptFence, "refusal", lambda self, term, index=0: refusal(self, term))
    caught = first_caught("leader_follower_pause", [30, 31])
    assert caught is not None and "two live leases" in caught, caught
