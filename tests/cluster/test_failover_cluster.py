"""Failover no client notices: every write through a follower is answered within 2 s of
the leader dying or freezing, and nothing is applied twice.

Three masters and two workers run as real processes (``bench.loopback``);
writer threads submit one job per request through the two masters that do
not lead, half of them with an idempotency key, while the leader is SIGKILLed
or SIGSTOPped for 3 s. ``python -m bench.failover --runs 10`` runs the same
load ten times per fault and reports the stall figures in the README.
"""

from __future__ import annotations

from pathlib import Path

from bench.failover import Outcome, run_once


def _check(outcome: Outcome) -> None:
    print(outcome.as_dict())
    # every answer is a 201 (or 200: a keyed write's job, made by its send the gateway
    # moved), or a 503 with Retry-After that says it may still apply;
    # keyed writes sent again return their job; no more jobs than writes that may apply
    assert not outcome.bad, outcome.bad
    assert outcome.worst_wait_s < 2.0, outcome
    assert outcome.resumed_s < 2.0, outcome
    assert outcome.acked > 100, outcome


def test_leader_killed_every_write_through_followers_is_answered_within_2s(
    tmp_path: Path,
) -> None:
    _check(run_once(tmp_path, "kill"))


def test_leader_frozen_writes_move_to_the_new_leader_and_the_frozen_one_answers_on_resume(
    tmp_path: Path,
) -> None:
    outcome = run_once(tmp_path, "pause", pause_s=3.0)
    _check(outcome)
    # the writes that reached the leader as it froze are answered once it runs again
    assert outcome.frozen_waits_s, outcome
    assert max(outcome.frozen_waits_s) < 2.0, outcome
