"""One job's trace, in one process: the real gateway, master and worker, spans in memory.

The cross-process test (``test_trace_across_processes.py``) checks the same
tree with the worker in its own process; this one is fast and also covers
the in-process handlers (async on the loop, sync on a thread), a caller's
``traceparent`` header, a batch, a failure and the log lines.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from actors.worker.agent import WorkerActor
from actors.worker.handlers import HandlerRegistry
from tests.gateway.api import Api, running_api, wait_status
from tests.tracing.traced_handlers import broken, resize, resize_async
from tests.tracing.trees import Seen, assert_child, by_name, from_sdk, one


def worker() -> Callable[[], WorkerActor]:
    registry = HandlerRegistry()
    registry.register("resize", resize)
    registry.register("resize_async", resize_async)
    registry.register("broken", broken)
    # thread pool: sync handlers run on a thread of this process, async ones on the loop
    return lambda: WorkerActor("m1", ["m1"], registry, capacity=2, heartbeat_s=0.2, pool="thread")


@asynccontextmanager
async def traced_api() -> AsyncIterator[Api]:
    async with running_api(worker_actor=worker()) as api:
        yield api


async def reports(spans: InMemorySpanExporter, count: int) -> list[Seen]:
    """Every span, once ``count`` report spans ended (a report ends at the leader's ack)."""
    with trio.fail_after(10):
        while True:
            seen = from_sdk(spans.get_finished_spans())
            if sum(s.name == "podium.report" for s in seen) >= count:
                return seen
            await trio.sleep(0.02)


async def run_one(api: Api, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    answer = await api.client.post("/api/v1/jobs", json=body, **kw)
    assert answer.status_code == 201, answer.text
    return await wait_status(api, answer.json()["id"], "succeeded", "failed", "dead")


def check_tree(seen: list[Seen], job: dict[str, Any], handler: str = "resize") -> dict[str, Seen]:
    """The job's one trace: submit -> commit; submit -> assign -> execute -> the handler's
    spans; assign -> report."""
    spans = by_name(seen)
    submit = one(spans, "podium.submit")
    commit, assign = one(spans, "podium.commit"), one(spans, "podium.assign")
    execute, report = one(spans, "podium.execute"), one(spans, "podium.report")
    assert {s.trace_id for s in seen} == {submit.trace_id} == {job["trace_id"]}
    assert submit.parent_id is None
    assert_child(commit, submit)
    assert_child(assign, submit)
    assert_child(execute, assign)
    assert_child(report, assign)
    outer = one(spans, handler)
    assert_child(outer, execute)
    for span in (submit, commit, assign, execute, report):
        assert span.attributes["podium.job.id"] == job["id"], span.name
    assert execute.attributes["podium.job.attempt"] == 1
    assert assign.start_ns <= execute.start_ns <= outer.start_ns <= outer.end_ns
    assert outer.end_ns <= execute.end_ns <= report.start_ns <= report.end_ns
    return spans


@pytest.mark.parametrize("job_type", ["resize", "resize_async"])
async def test_one_job_makes_one_trace_through_every_stage(
    spans: InMemorySpanExporter, job_type: str
) -> None:
    async with traced_api() as api:
        job = await run_one(api, {"type": job_type, "payload": {"width": 640}})
        seen = await reports(spans, 1)
    assert job["status"] == "succeeded"
    tree = check_tree(seen, job)
    resize_span, encode = one(tree, "resize"), one(tree, "encode")
    assert_child(encode, resize_span)
    assert resize_span.attributes == {"width": 640, "bytes": 5}
    # the handler sees its trace id too
    assert job["result"] == {"trace_id": job["trace_id"]}


async def test_a_callers_traceparent_header_holds_the_job(spans: InMemorySpanExporter) -> None:
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    header = {"traceparent": f"00-{caller_trace}-{caller_span}-01"}
    async with traced_api() as api:
        job = await run_one(api, {"type": "resize"}, headers=header)
        seen = await reports(spans, 1)
    submit = one(by_name(seen), "podium.submit")
    assert job["trace_id"] == submit.trace_id == caller_trace
    assert submit.parent_id == caller_span


async def test_each_job_of_a_batch_has_a_trace_of_its_own(spans: InMemorySpanExporter) -> None:
    async with traced_api() as api:
        answer = await api.client.post(
            "/api/v1/jobs/batch", json={"jobs": [{"type": "resize"}, {"type": "resize"}]}
        )
        assert answer.status_code == 201, answer.text
        jobs = [await wait_status(api, entry["id"], "succeeded") for entry in answer.json()["jobs"]]
        seen = await reports(spans, 2)
    traces = {job["trace_id"] for job in jobs}
    assert len(traces) == 2 and None not in traces
    for job in jobs:
        check_tree([s for s in seen if s.trace_id == job["trace_id"]], job)


async def test_a_failure_marks_its_spans_and_its_log_line_names_the_trace(
    spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="podium.worker")
    async with traced_api() as api:
        job = await run_one(api, {"type": "broken", "max_retries": 0})
        seen = await reports(spans, 1)
    assert job["status"] in ("failed", "dead")
    tree = check_tree(seen, job, handler="decode")
    assert one(tree, "decode").error and one(tree, "podium.execute").error
    failed = [r for r in caplog.records if r.getMessage() == "job failed"]
    assert [(r.job, r.trace_id) for r in failed] == [(job["id"], job["trace_id"])]  # type: ignore[attr-defined]


async def test_audit_lines_about_a_job_name_its_trace(
    spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    """A retry and a delete are logged on the audit trail with the job's trace id, like
    every other log line about the job (auth off: the job is read for it all the same)."""
    caplog.set_level(logging.INFO, logger="podium.audit")
    async with traced_api() as api:
        job = await run_one(api, {"type": "broken", "max_retries": 0})
        client = api.client
        retried = await client.post(f"/api/v1/jobs/{job['id']}/retry")
        assert retried.status_code == 200, retried.text
        await wait_status(api, job["id"], "failed", "dead")
        deleted = await client.delete(f"/api/v1/jobs/{job['id']}")
        assert deleted.status_code == 200, deleted.text
    lines = [r for r in caplog.records if r.name == "podium.audit"]
    assert [(r.event, r.job, r.trace_id) for r in lines] == [  # type: ignore[attr-defined]
        ("retry", job["id"], job["trace_id"]),
        ("delete", job["id"], job["trace_id"]),
    ]
