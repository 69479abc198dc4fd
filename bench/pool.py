"""``python -m bench pool``: CPU-bound sync handlers, one after the other, on threads, in processes.

Each job is the same pure-Python loop (``--work`` iterations, no I/O, the GIL
held throughout). Three figures, each the wall time of ``--jobs`` jobs
through :func:`~actors.worker.handlers.run_job` as a worker runs them:

- ``sequential``: one after the other on a pool of one process (the reference);
- ``thread``: all at once on threads (``--pool thread``);
- ``process``: all at once on a pool of ``--jobs`` processes (``--pool process``).

Pools are warmed first (their children started), as a worker's are after its
first jobs, so the figures are the jobs alone. On a machine with at least as
many free cores as jobs, ``process`` approaches ``sequential / jobs`` while
``thread`` stays near ``sequential``: only one thread holds the GIL at a time.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import attrs
import trio

from actors.worker.handlers import HandlerRegistry, JobContext, handler, run_job
from actors.worker.pool import ProcessPool

__all__ = ["PoolOptions", "cpu_loop", "measure"]

HANDLERS = "bench.pool"


@handler("bench.cpu")
def cpu_loop(payload: dict[str, int]) -> int:
    total = 0
    for i in range(payload["work"]):
        total += i * i % 7
    return total


@attrs.frozen
class PoolOptions:
    jobs: int = 2
    work: int = 20_000_000
    repeats: int = 3


async def _timed(run_all: Callable[[], Awaitable[None]], repeats: int) -> float:
    """The best of ``repeats`` wall times (the least disturbed by neighbours)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        await run_all()
        best = min(best, time.perf_counter() - started)
    return best


async def _measure(options: PoolOptions) -> dict[str, object]:
    registry = HandlerRegistry()
    registry.load_module(HANDLERS)
    payload = {"work": options.work}

    async def one(pool: ProcessPool | None, n: int) -> None:
        outcome = await run_job(
            registry, "bench.cpu", payload, None, JobContext(f"j{n}", 1), None, pool
        )
        assert outcome.ok, outcome.error

    async def together(pool: ProcessPool | None) -> None:
        async with trio.open_nursery() as nursery:
            for n in range(options.jobs):
                nursery.start_soon(one, pool, n)

    async with (
        ProcessPool(1, registry.modules) as single,
        ProcessPool(options.jobs, registry.modules) as wide,
    ):
        warm = {"work": 1}
        for pool in (single, wide):
            async with trio.open_nursery() as nursery:
                for n in range(pool.size):
                    nursery.start_soon(
                        run_job,
                        registry,
                        "bench.cpu",
                        warm,
                        None,
                        JobContext(f"w{n}", 1),
                        None,
                        pool,
                    )

        async def sequential() -> None:
            for n in range(options.jobs):
                await one(single, n)

        seq = await _timed(sequential, options.repeats)
        thread = await _timed(lambda: together(None), options.repeats)
        process = await _timed(lambda: together(wide), options.repeats)
    return {
        "jobs": options.jobs,
        "work": options.work,
        "sequential_s": round(seq, 3),
        "thread_s": round(thread, 3),
        "process_s": round(process, 3),
        "thread_ratio": round(thread / seq, 2),
        "process_ratio": round(process / seq, 2),
    }


def measure(options: PoolOptions) -> dict[str, object]:
    return trio.run(_measure, options)
