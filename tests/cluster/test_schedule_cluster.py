"""An ``every_s: 1`` schedule on three master processes keeps firing exactly once per tick
while the leader is SIGKILLed and started again (``python -m bench schedules`` measures
the same over a minute, with two kills)."""

from __future__ import annotations

from pathlib import Path

from bench.schedules import run_once


def test_every_tick_fires_once_across_a_leader_kill(tmp_path: Path) -> None:
    outcome = run_once(tmp_path, seconds=12.0, kills=1, down_s=2.0)
    print(outcome.as_dict())
    by_rule = {fired.catch_up: fired for fired in outcome.schedules}
    for fired in outcome.schedules:
        assert fired.expected >= 10, fired
        assert fired.duplicates == 0, fired
        assert fired.missed_outside_gaps == 0, fired
    # catch_up all: the ticks of the leaderless gap fire too, once a leader is back
    assert by_rule["all"].missed == 0 and by_rule["all"].fired == by_rule["all"].expected
    # skip and one drop (skip) or fold into one job (one) only the gap's ticks
    (gap,) = outcome.gaps_s
    for rule in ("skip", "one"):
        assert by_rule[rule].missed <= gap + 2, by_rule[rule]
