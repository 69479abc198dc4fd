"""Progress a pool child sends is the running job's: a value from an earlier job's
context (a thread that job left running) is dropped, not labelled with the next job."""

from __future__ import annotations

import functools

from actors.worker.handlers import JobContext, run_job
from actors.worker.pool import ProcessPool
from actors.worker.progress import ChildProgress
from tests.waits import wait_for
from tests.worker.pool_handlers import HANDLERS, registry


def test_a_value_from_an_earlier_jobs_context_is_dropped() -> None:
    sent: list[object] = []
    progress = ChildProgress(sent.append)
    first = functools.partial(progress.report, "a", 1)
    second = functools.partial(progress.report, "b", 1)
    progress.start("a", 1)
    first(0.3, "a's")
    progress.stop()
    progress.start("b", 1)
    first(0.9, "a's thread, still running")
    second(0.1, "b's")
    first(0.9, "a's thread, still running")
    # b's value waits out the interval after a's, then goes from the timer thread
    wait_for(lambda: len(sent) >= 2, 5, "b's value, once the interval is out")
    progress.stop()
    assert sent == [["progress", "a", 1, 0.3, "a's"], ["progress", "b", 1, 0.1, "b's"]]


async def test_a_thread_left_by_one_job_does_not_report_for_the_next() -> None:
    reg = registry()
    seen: dict[str, list[tuple[float, str]]] = {"a": [], "b": []}

    def context(job_id: str) -> JobContext:
        return JobContext(job_id, 1, {}, lambda f, m: seen[job_id].append((f, m)))

    async with ProcessPool(1, [HANDLERS]) as pool:
        left = await run_job(
            reg, "pool.progress_left_behind", {"seconds": 3.0}, None, context("a"), None, pool
        )
        assert left.ok, left.error
        # the same child runs b while a's thread goes on calling a's ctx.progress
        spun = await run_job(reg, "pool.spin", {"seconds": 0.5}, None, context("b"), None, pool)
        assert spun.ok, spun.error
    assert seen["a"] and set(seen["a"]) == {(0.5, "left behind")}
    assert seen["b"] == []
