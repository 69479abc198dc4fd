"""Dependent jobs under every fault (jobs_chaos), and a table that releases a child early,
caught by the simulator."""

from __future__ import annotations

from collections.abc import Container, Sequence

import pytest

from actors.scheduler.dependencies import Dependencies, Verdict
from sim.harness import run_scenario

_verdict = Dependencies.verdict


def test_jobs_chaos_runs_children_of_live_final_and_sibling_parents() -> None:
    result = run_scenario("jobs_chaos", 1)
    assert result.ok, f"{result.violation}\n" + "\n".join(result.trace[-30:])
    assert result.summary["children"] >= 20, result.summary


def forgets_live_parents(
    self: Dependencies, parents: Sequence[str], rule: str, live: Container[str]
) -> tuple[Verdict, str, str]:
    """The mutation: a child is decided as soon as it is looked at (its first parent to
    finish, or its submit), as if no parent were still live."""
    return _verdict(self, parents, rule, ())


def runs_once_looked_at(
    self: Dependencies, parents: Sequence[str], rule: str, live: Container[str]
) -> tuple[Verdict, str, str]:
    """The mutation: a child runs once any parent is final, whatever the others do."""
    return Verdict.RUN, "", ""


@pytest.mark.parametrize(
    ("mutant", "caught"),
    [(forgets_live_parents, "for its parents"), (runs_once_looked_at, "started")],
)
def test_a_table_that_releases_a_child_early_is_caught(
    monkeypatch: pytest.MonkeyPatch, mutant: object, caught: str
) -> None:
    monkeypatch.setattr(Dependencies, "verdict", mutant)
    result = run_scenario("jobs_chaos", 0)
    assert result.violation is not None
    message = result.violation.message
    assert "before its parent" in message and caught in message, message
