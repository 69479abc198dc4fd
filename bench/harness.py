"""Micro-benchmark timing: warm up, repeat, report the median.

A :class:`BenchCase` is a named callable that does some work and returns how
many operations it performed; the harness sizes the number of calls so each
repeat lasts long enough to time, and reports nanoseconds per operation.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable

from attrs import frozen


@frozen
class BenchCase:
    name: str
    # does a chunk of work and returns how many operations it was
    run: Callable[[], int]
    # untimed set-up before each chunk (refilling a queue that run() drains)
    prepare: Callable[[], None] | None = None


@frozen
class BenchResult:
    name: str
    ns_per_op: float

    @property
    def ops_per_s(self) -> float:
        return 1e9 / self.ns_per_op if self.ns_per_op > 0 else float("inf")

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ns_per_op": round(self.ns_per_op, 1),
            "ops_per_s": round(self.ops_per_s, 1),
        }


def measure(case: BenchCase, *, repeats: int = 5, min_time_s: float = 0.2) -> BenchResult:
    """Time ``case``: one warm-up pass, then ``repeats`` passes of at least ``min_time_s``.

    Only ``run`` is timed; ``prepare`` runs before every chunk, off the clock.
    """
    prepare = case.prepare or (lambda: None)
    prepare()
    case.run()
    samples: list[float] = []
    for _ in range(repeats):
        ops = 0
        elapsed = 0
        while elapsed < min_time_s * 1e9:
            prepare()
            start = time.perf_counter_ns()
            ops += case.run()
            elapsed += time.perf_counter_ns() - start
        samples.append(elapsed / max(ops, 1))
    return BenchResult(case.name, statistics.median(samples))


def measure_all(
    cases: Iterable[BenchCase],
    *,
    repeats: int = 5,
    min_time_s: float = 0.2,
    on_result: Callable[[BenchResult], None] | None = None,
) -> list[BenchResult]:
    results = []
    for case in cases:
        result = measure(case, repeats=repeats, min_time_s=min_time_s)
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results
