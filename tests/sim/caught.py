"""What the mutation tests share: the first violation a scenario meets over a few seeds."""

from __future__ import annotations

from collections.abc import Iterable

from sim.harness import run_scenario


def first_caught(scenario: str, seeds: Iterable[int]) -> str | None:
    """The message of the first violation ``scenario`` meets on ``seeds`` (None: none)."""
    for seed in seeds:
        result = run_scenario(scenario, seed)
        if result.violation is not None:
            return result.violation.message
    return None
