"""The handler's span API without a tracing library: what a pool child records, and how the
worker makes real spans of it."""

from __future__ import annotations

import threading

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from actors.worker.handlers import JobContext
from actors.worker.job_trace import JobTrace
from runtime import tracing
from runtime.span_records import NO_SPAN, SpanRecorder, clean_attributes
from tests.tracing.trees import assert_child, by_name, from_sdk, one
from transport.cluster import Assignment


def test_an_untraced_job_gets_a_span_that_ignores_everything() -> None:
    ctx = JobContext("j", 1)
    with ctx.span("resize", width=3) as span:
        span.set_attribute("bytes", 5)
    assert span is NO_SPAN
    assert ctx.trace_id is None


def test_the_recorder_nests_times_and_marks_failures() -> None:
    recorder = SpanRecorder()
    ctx = JobContext("j", 1, spans=recorder, traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    assert ctx.trace_id == "a" * 32
    with ctx.span("outer", size=2) as outer:
        with pytest.raises(ValueError), ctx.span("inner"):
            raise ValueError("bad pixel")
        outer.set_attribute("done", True)
    with ctx.span("second"):
        pass
    outer_r, inner_r, second_r = recorder.finished()
    assert [r[0] for r in (outer_r, inner_r, second_r)] == ["outer", "inner", "second"]
    # parents by position: -1 is the job's execute span
    assert (outer_r[4], inner_r[4], second_r[4]) == (-1, 0, -1)
    assert outer_r[3] == {"size": 2, "done": True}
    assert inner_r[5] == "ValueError: bad pixel" and outer_r[5] is None
    assert outer_r[1] <= inner_r[1] <= inner_r[2] <= outer_r[2] <= second_r[1]


def test_a_span_opened_in_another_thread_starts_at_the_top_and_ends_when_sent() -> None:
    recorder = SpanRecorder()
    opened = threading.Event()
    release = threading.Event()

    def work() -> None:
        with recorder.span("background", {}):
            opened.set()
            release.wait(5)

    with recorder.span("outer", {}):
        thread = threading.Thread(target=work)
        thread.start()
        opened.wait(5)
    _, background_r = recorder.finished()
    assert background_r[4] == -1 and background_r[2] is not None
    release.set()
    thread.join()


def test_attributes_keep_what_opentelemetry_takes_and_stringify_the_rest() -> None:
    assert clean_attributes({"a": 1, "b": [1, 2], "c": {"x": 1}, "d": [1, "x"], "e": None}) == {
        "a": 1,
        "b": [1, 2],
        "c": "{'x': 1}",
        "d": "[1, 'x']",
        "e": "None",
    }


def test_a_childs_records_become_spans_under_execute(spans: InMemorySpanExporter) -> None:
    submit = tracing.tracer().start_span("podium.submit")
    submit.end()
    assignment = Assignment("j", 1, "resize", b"", None, traceparent=tracing.traceparent_of(submit))
    job = JobTrace(assignment, "w1")
    job.replay(
        [
            ["outer", 100, 500, {"k": 1}, -1, None],
            ["inner", 200, 300, {}, 0, "ValueError: x"],
        ]
    )
    job.close()
    seen = by_name(from_sdk(spans.get_finished_spans()))
    execute, outer, inner = (one(seen, n) for n in ("podium.execute", "outer", "inner"))
    assert execute.parent_id == f"{submit.get_span_context().span_id:016x}"
    assert_child(outer, execute)
    assert_child(inner, outer)
    assert (outer.start_ns, outer.end_ns, inner.start_ns, inner.end_ns) == (100, 500, 200, 300)
    assert outer.attributes == {"k": 1} and inner.error and not outer.error
    # closed before its outcome came: the attempt was stopped
    assert execute.error
