"""The leader's span of an assignment: from proposing it to sending it, committed.

For each traced job an assignment hands out, a ``podium.assign`` span under
the job's submit span (its options' traceparent, which the assignment
carries) runs from when the leader proposed the ``AssignCmd`` to when the
command is committed and the assignment leaves for the worker. The
assignment then carries this span's own traceparent instead, so the
worker's spans of the attempt hang under it: one subtree per attempt, a
retried job showing each.

Called only with tracing on; an untraced assignment passes through untouched.
"""

from __future__ import annotations

from collections.abc import Sequence

from attrs import evolve
from opentelemetry.trace import SpanKind

from runtime.tracing import parent, traceparent_of, tracer
from transport.cluster import Assignment

__all__ = ["traced_assignments"]


def traced_assignments(
    assignments: Sequence[Assignment], began_ns: int, worker: str, leader: str
) -> list[Assignment]:
    """``assignments`` (all to ``worker``), each traced one with its ``podium.assign`` span
    made and ended now, and carrying that span's traceparent."""
    out: list[Assignment] = []
    for assignment in assignments:
        if not assignment.traceparent:
            out.append(assignment)
            continue
        span = tracer().start_span(
            "podium.assign",
            context=parent(assignment.traceparent),
            kind=SpanKind.PRODUCER,
            start_time=began_ns,
            attributes={
                "podium.job.id": assignment.job_id,
                "podium.job.type": assignment.type,
                "podium.job.attempt": assignment.attempt,
                "podium.worker": worker,
                "podium.leader": leader,
            },
        )
        span.end()
        out.append(evolve(assignment, traceparent=traceparent_of(span)))
    return out
