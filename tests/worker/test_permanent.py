"""``podium.Permanent``: a handler says its failure is final, in every pool, up to the report."""

from __future__ import annotations

import msgpack
import pytest

import podium
from actors.worker.errors import JobFailed, Permanent
from actors.worker.handlers import HandlerRegistry, JobContext, run_job
from actors.worker.pool import ProcessPool

HANDLERS = "tests.worker.pool_handlers"


def test_the_public_names_are_the_worker_s() -> None:
    assert podium.Permanent is Permanent and issubclass(Permanent, JobFailed)
    assert podium.handler and podium.JobContext and podium.JobFailed is JobFailed


@pytest.mark.parametrize("pool", ["process", "thread"])
async def test_a_sync_handler_raising_permanent_is_a_permanent_failure(pool: str) -> None:
    registry = HandlerRegistry()
    registry.load_module(HANDLERS)
    context = JobContext("j", 1)
    payload = {"id": "r7"}
    if pool == "process":
        async with ProcessPool(1, [HANDLERS]) as processes:
            outcome = await run_job(
                registry, "pool.permanent", payload, None, context, None, processes
            )
    else:
        outcome = await run_job(registry, "pool.permanent", payload, None, context)
    assert not outcome.ok and outcome.permanent
    assert outcome.error.startswith("no such record: r7") and outcome.result == {"id": "r7"}


async def test_an_async_handler_raising_permanent_and_a_plain_failure() -> None:
    registry = HandlerRegistry()

    async def gone(payload: object) -> None:
        raise Permanent("gone")

    async def flaky(payload: object) -> None:
        raise JobFailed("try again")

    registry.register("gone", gone)
    registry.register("flaky", flaky)
    context = JobContext("j", 1)
    assert (await run_job(registry, "gone", {}, None, context)).permanent
    assert not (await run_job(registry, "flaky", {}, None, context)).permanent


async def test_an_unstorable_result_keeps_the_failure_permanent() -> None:
    registry = HandlerRegistry()

    async def odd(payload: object) -> None:
        raise Permanent("bad", result=object())

    registry.register("odd", odd)
    outcome = await run_job(registry, "odd", {}, None, JobContext("j", 1))
    assert outcome.permanent and outcome.result is None and "cannot be stored" in outcome.error
    assert msgpack.packb(outcome.result) == b"\xc0"
