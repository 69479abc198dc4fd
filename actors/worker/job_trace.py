"""The worker's spans of one attempt: execute, the handler's own, and report.

An assignment of a traced job carries a traceparent: the leader's
``podium.assign`` span (or the job's submit span, when the leader does not
trace). Under it the worker makes

- ``podium.execute``: the handler's run, from taking a slot to its outcome
  (an error status for a failure, a timeout or a cancel). While it runs it is
  the current span, so what the handler adds nests under it: ``ctx.span(...)``
  and its own OpenTelemetry calls alike (trio hands the context on to a thread
  of ``--pool thread``). A handler in a pool child records its spans without a
  tracing library and they are made here from the records
  (:meth:`JobTrace.replay`, see :mod:`runtime.span_records`).
- ``podium.report``: from the outcome to the leader's acknowledgment, which it
  sends once the report is committed; a report sent again (a failover) stays
  in the one span.

A :class:`JobTrace` exists only when this worker traces and the job is traced.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from actors.worker.handlers import JobOutcome
from runtime.span_records import (
    ATTRIBUTES,
    END,
    ERROR,
    NAME,
    PARENT,
    START,
    AttributeValue,
    HandlerSpan,
    RecordedSpan,
    clean_attributes,
)
from runtime.tracing import parent, tracer
from transport.cluster import Assignment

__all__ = ["JobTrace", "executing"]


class JobTrace:
    """One attempt's spans; also the :class:`~runtime.span_records.SpanSink` its handler's
    ``ctx.span`` uses."""

    def __init__(self, assignment: Assignment, worker: str) -> None:
        self._parent = parent(assignment.traceparent)
        self._attributes: dict[str, AttributeValue] = {
            "podium.job.id": assignment.job_id,
            "podium.job.type": assignment.type,
            "podium.job.attempt": assignment.attempt,
            "podium.worker": worker,
        }
        self.execute = tracer().start_span(
            "podium.execute",
            context=self._parent,
            kind=SpanKind.CONSUMER,
            attributes=self._attributes,
        )
        self._report: trace.Span | None = None

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """The execute span is the current one meanwhile."""
        with trace.use_span(self.execute, end_on_exit=False):
            yield

    def span(
        self, name: str, attributes: Mapping[str, AttributeValue]
    ) -> contextlib.AbstractContextManager[HandlerSpan]:
        return tracer().start_as_current_span(name, attributes=clean_attributes(attributes))

    def replay(self, records: Sequence[RecordedSpan]) -> None:
        """Make the spans a pool child recorded, under execute, as it nested them. Their
        attributes are used as they come: the child's recorder cleaned them already."""
        made: list[trace.Span] = []
        for record in records:
            at = record[PARENT]
            above = made[at] if 0 <= at < len(made) else self.execute
            span = tracer().start_span(
                str(record[NAME]),
                context=trace.set_span_in_context(above),
                start_time=int(record[START]),
                attributes=record[ATTRIBUTES],
            )
            if record[ERROR] is not None:
                span.set_status(Status(StatusCode.ERROR, str(record[ERROR])))
            made.append(span)
        for span, record in zip(made, records, strict=True):
            span.end(end_time=int(record[END]))

    def executed(self, outcome: JobOutcome) -> None:
        """The handler's outcome: execute ends."""
        span = self.execute
        if not span.is_recording():
            return
        span.set_attribute("podium.job.ok", outcome.ok)
        if outcome.timed_out:
            span.set_attribute("podium.job.timed_out", True)
        if not outcome.ok:
            span.set_status(Status(StatusCode.ERROR, outcome.error.split("\n", 1)[0]))
        span.end()

    def reporting(self) -> None:
        """The outcome leaves for the leader (once, however often it is sent)."""
        if self._report is None:
            self._report = tracer().start_span(
                "podium.report",
                context=self._parent,
                kind=SpanKind.PRODUCER,
                attributes=self._attributes,
            )

    def close(self) -> None:
        """The attempt is done here (acknowledged, cancelled or stopped): end what is open."""
        if self.execute.is_recording():
            self.execute.set_status(Status(StatusCode.ERROR, "stopped before it finished"))
            self.execute.end()
        if self._report is not None and self._report.is_recording():
            self._report.end()


# what an untraced job runs in: one shared do-nothing context, so the untraced path
# allocates nothing per job
_UNTRACED = contextlib.nullcontext()


def executing(job_trace: JobTrace | None) -> contextlib.AbstractContextManager[None]:
    """:meth:`JobTrace.running`, or nothing for an untraced job."""
    return _UNTRACED if job_trace is None else job_trace.running()
