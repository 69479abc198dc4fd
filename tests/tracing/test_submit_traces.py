"""The gateway's submit path with tracing off and on, against a stand-in for the cluster.

Off must mean off: a job carries no options it did not ask for (they stay None,
so nothing more goes through the log) and no span is made, even with a
provider at hand. On, each job carries its submit span's traceparent.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from actors.gateway.app import Gateway, Service
from actors.gateway.auth import ANONYMOUS, Authenticator
from actors.gateway.http_common import ApiError
from runtime import tracing
from runtime.config.model import AuthConfig
from runtime.system import ActorSystem
from tests.tracing.trees import assert_child, by_name, from_sdk, one
from transport.cluster import JobStatus, SubmitJobs, Submitted
from transport.codec import Message


class Cluster(Gateway):
    """Answers every submit at once with made-up ids, and keeps what it was sent."""

    def __init__(self, refuse: bool = False) -> None:
        super().__init__(ActorSystem("m1", None, random.Random(1)))
        self.sent: list[SubmitJobs] = []
        self.refuse = refuse

    async def call(self, msg: Message, *, forward: bool = True) -> Message:
        assert isinstance(msg, SubmitJobs)
        if self.refuse:
            raise ApiError(503, "no leader is elected right now; retry shortly")
        self.sent.append(msg)
        return Submitted(
            tuple(JobStatus(f"job-{len(self.sent)}-{n}", "pending") for n, _ in enumerate(msg.jobs))
        )


def service(cluster: Cluster) -> Service:
    return Service(cluster, Authenticator(AuthConfig(), cluster.system.wall_clock))


@pytest.fixture
def untraced_provider() -> Iterator[InMemorySpanExporter]:
    """A provider whose tracer is in place while the flag says off: a shell that made a
    span without asking the flag would show up here."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.TRACING.tracer = provider.get_tracer("test")
    try:
        yield exporter
    finally:
        tracing.install(None)


BODIES: list[dict[str, Any]] = [{"type": "noop"}, {"type": "noop", "idempotency_key": "k1"}]


async def test_off_adds_no_options_and_makes_no_spans(
    untraced_provider: InMemorySpanExporter,
) -> None:
    assert not tracing.TRACING.on
    cluster = Cluster()
    api = service(cluster)
    for body in BODIES:
        await api.submit(ANONYMOUS, body)
    await api.submit_batch(ANONYMOUS, {"jobs": BODIES})
    specs = [spec for msg in cluster.sent for spec in msg.jobs]
    assert len(specs) == 4
    assert all(spec.options is None for spec in specs)
    assert untraced_provider.get_finished_spans() == ()


async def test_on_each_job_carries_its_submit_spans_traceparent(
    spans: InMemorySpanExporter,
) -> None:
    cluster = Cluster()
    answer = await service(cluster).submit(ANONYMOUS, {"type": "noop", "unique_key": "u"})
    (spec,) = cluster.sent[0].jobs
    seen = by_name(from_sdk(spans.get_finished_spans()))
    submit, commit = one(seen, "podium.submit"), one(seen, "podium.commit")
    assert_child(commit, submit)
    assert spec.options is not None and spec.options.unique_key == "u"
    assert spec.options.traceparent is not None
    assert spec.options.traceparent.startswith(f"00-{submit.trace_id}-{submit.span_id}-")
    assert spec.options.trace_id == submit.trace_id
    assert submit.attributes["podium.job.id"] == answer.value["id"] == "job-1-0"
    assert submit.attributes["http.response.status_code"] == 201


async def test_a_refused_batch_ends_its_spans_in_error(spans: InMemorySpanExporter) -> None:
    with pytest.raises(ApiError):
        await service(Cluster(refuse=True)).submit_batch(ANONYMOUS, {"jobs": BODIES})
    seen = from_sdk(spans.get_finished_spans())
    assert sorted(s.name for s in seen) == ["podium.commit"] * 2 + ["podium.submit"] * 2
    assert all(s.error for s in seen)
    assert len({s.trace_id for s in seen}) == 2
