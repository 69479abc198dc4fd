"""ctx.progress in a handler: checked, kept as the latest value, on a thread and on the loop;
a child process's values are coalesced and never outlive their job."""

from __future__ import annotations

import functools
import time
from typing import Any

import pytest

from actors.worker.handlers import HandlerRegistry, JobContext, run_job
from actors.worker.progress import MAX_MESSAGE, MIN_INTERVAL_S, ChildProgress, Latest
from tests.waits import wait_for


def reporting(ctx: JobContext) -> str:
    for i in range(1, 5):
        ctx.progress(i / 4, f"step {i} of 4")
    return "ok"


def sync_handler(payload: object, ctx: JobContext) -> str:
    return reporting(ctx)


async def async_handler(payload: object, ctx: JobContext) -> str:
    return reporting(ctx)


@pytest.mark.parametrize("fn", [sync_handler, async_handler], ids=["thread", "async"])
async def test_the_latest_value_is_kept_for_the_heartbeat(fn: Any) -> None:
    registry = HandlerRegistry()
    registry.register("steps", fn)
    latest = Latest()
    outcome = await run_job(registry, "steps", {}, None, JobContext("j", 1, {}, latest.set))
    assert outcome.ok
    assert latest.value == (1.0, "step 4 of 4")


def test_progress_is_checked() -> None:
    latest = Latest()
    ctx = JobContext("j", 1, {}, latest.set)
    for bad in (-0.1, 1.5, float("nan"), "half", True):
        with pytest.raises((TypeError, ValueError)):
            ctx.progress(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ctx.progress(0.5, 42)  # type: ignore[arg-type]
    ctx.progress(1, "x" * 1000)
    assert latest.value == (1.0, "x" * MAX_MESSAGE)
    JobContext("j", 1).progress(0.5)  # no one listens: nothing happens


def test_a_child_sends_at_most_one_value_per_interval_and_the_latest_follows() -> None:
    sent: list[object] = []
    progress = ChildProgress(sent.append)
    report = functools.partial(progress.report, "j", 2)
    report(0.1, "ignored: no job runs")
    progress.start("j", 2)
    report(0.2, "first")
    report(0.3, "coalesced")
    report(0.4, "latest")
    assert sent == [["progress", "j", 2, 0.2, "first"]]
    wait_for(lambda: len(sent) >= 2, 5, "the latest value, once the interval is out")
    assert sent[-1] == ["progress", "j", 2, 0.4, "latest"] and len(sent) == 2
    report(0.5, "pending at the end")
    report(0.6, "pending at the end")
    progress.stop()
    time.sleep(MIN_INTERVAL_S * 3)
    assert len(sent) <= 3 and all(m[3] != 0.6 for m in sent)  # type: ignore[index]
