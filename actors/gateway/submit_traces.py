"""The gateway's spans of a submit: where each job's trace begins.

Every job a request submits gets a trace of its own (one trace per job, also
in a batch): a ``podium.submit`` span from when the job passed validation to
the answer, a root unless the request's ``traceparent`` header names a
parent (:func:`runtime.tracing.incoming`), and under it a ``podium.commit``
span for the wait on the Raft commit (batched with other submits, then
replicated and applied). The submit span's traceparent is written into the
job's options before it is proposed, so it goes through the log with the job
and the leader's and the worker's spans join the same trace.

Made only with tracing on (:data:`runtime.tracing.TRACING`); the submit path
asks once per request and, with it off, carries on as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from attrs import evolve
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from actors.gateway.http_common import Answer, ApiError
from runtime.tracing import TRACING, traceparent_of, tracer
from transport.cluster import JobSpec
from transport.job_options import JobOptions

__all__ = ["SubmitTraces", "submit_traces", "trace_id_of_spec"]

_NO_OPTIONS = JobOptions()


class SubmitTraces:
    """The spans of one request's jobs, by the job's position in the request."""

    def __init__(self) -> None:
        self._spans: dict[int, tuple[trace.Span, trace.Span]] = {}

    def stamp(self, n: int, spec: JobSpec) -> JobSpec:
        """Start job ``n``'s submit and commit spans; ``spec`` carrying the submit span's
        traceparent."""
        submit = tracer().start_span(
            "podium.submit", kind=SpanKind.SERVER, attributes={"podium.job.type": spec.type}
        )
        commit = tracer().start_span("podium.commit", context=trace.set_span_in_context(submit))
        self._spans[n] = (submit, commit)
        options = evolve(spec.options or _NO_OPTIONS, traceparent=traceparent_of(submit))
        return evolve(spec, options=options)

    def committed(self, n: int, job_id: str) -> None:
        """Job ``n`` is in the log (or an idempotency key named ``job_id`` already)."""
        submit, commit = self._spans[n]
        submit.set_attribute("podium.job.id", job_id)
        commit.set_attribute("podium.job.id", job_id)
        commit.end()

    def answered(self, outcomes: Sequence[object]) -> None:
        """End every span, with job ``n``'s answer ``outcomes[n]``: an :class:`Answer`, or
        the error that refused it (its commit span, if still open, ends with it)."""
        for n, (submit, commit) in self._spans.items():
            outcome = outcomes[n]
            if isinstance(outcome, (Answer, ApiError)):
                submit.set_attribute("http.response.status_code", outcome.status)
            if not isinstance(outcome, Answer):
                error = Status(StatusCode.ERROR, str(outcome))
                submit.set_status(error)
                commit.set_status(error)
            if commit.is_recording():  # not yet ended (an ended span stops recording)
                commit.end()
            submit.end()
        self._spans.clear()


def submit_traces() -> SubmitTraces | None:
    """A request's traces, or None with tracing off (the submit path's one check)."""
    return SubmitTraces() if TRACING.on else None


def trace_id_of_spec(spec: JobSpec) -> str | None:
    """The trace id a submitted job's log lines carry (None: not traced)."""
    return None if spec.options is None else spec.options.trace_id
