"""What a job asks for beyond running once: dependencies, uniqueness, its own retry
policy, where a schedule's tick put it, and who submitted it.

Most jobs ask for none of it, so a job carries ``options=None`` and the hot
path never looks further; a job that asks carries one :class:`JobOptions`,
which travels unchanged from the submit through the log, the live table, the
snapshot and the history.

A traced job (tracing on at the gateway that took it) carries the W3C
``traceparent`` of its submit span here, so every node that touches it can
parent its own spans and name its trace id without any tracing library.
"""

from __future__ import annotations

from attrs import evolve, frozen

from transport.codec import Message, decode, message

__all__ = [
    "PARENT_FAILURE_RULES",
    "REF_PREFIX",
    "JobOptions",
    "RetryPolicy",
    "decode_options",
    "trace_id_of",
    "untraced",
]

# what a blocked job does when a parent ends in anything but success
PARENT_FAILURE_RULES = ("fail", "skip", "run")
# in a batch, depends_on may name a sibling by its ref: "ref:<name>" (the leader puts
# the sibling's id in its place)
REF_PREFIX = "ref:"


@message("j.retry-policy")
@frozen
class RetryPolicy(Message):
    """A job's own backoff, overriding the cluster's (None: the cluster's value)."""

    base_s: float | None = None
    multiplier: float | None = None
    cap_s: float | None = None
    jitter: float | None = None
    # a shell job that exits with one of these fails at once, without further attempts
    no_retry_exit_codes: tuple[int, ...] = ()


@message("j.options")
@frozen
class JobOptions(Message):
    # ids of the jobs this one waits for (it is ``blocked`` until each is final)
    depends_on: tuple[str, ...] = ()
    on_parent_failure: str = "fail"
    # at most one live (pending, scheduled, blocked or running) job holds a unique key
    unique_key: str | None = None
    retry: RetryPolicy | None = None
    # the schedule whose tick made this job, and that tick's time
    schedule: str | None = None
    scheduled_for: float | None = None
    # who submitted it (the authenticated user; None with auth off): a ``user`` sees only
    # their own jobs, and a schedule's jobs belong to whoever defined it
    owner: str | None = None
    # the W3C traceparent of the job's submit span ("00-<trace id>-<span id>-<flags>"),
    # when the gateway that took it traces: the leader and the worker parent their spans
    # on it (appended with a default: older entries read)
    traceparent: str | None = None

    @property
    def trace_id(self) -> str | None:
        return trace_id_of(self.traceparent)


def trace_id_of(traceparent: str | None) -> str | None:
    """The 32 hex digits of the trace id in a W3C ``traceparent``; None for none."""
    return traceparent[3:35] if traceparent else None


def untraced(options: JobOptions | None) -> JobOptions | None:
    """``options`` without the trace context, None when nothing else is left: what two
    submissions of one job are compared on (a client sending a job again after a
    failover starts a new trace, yet asks for the same job)."""
    if options is None or options.traceparent is None:
        return options
    rest = evolve(options, traceparent=None)
    return None if rest == _NOTHING else rest


def decode_options(data: bytes) -> JobOptions:
    """Options stored as encoded bytes (a history row, a snapshot cell), back."""
    options = decode(data)
    if not isinstance(options, JobOptions):
        raise TypeError(f"stored job options hold a {type(options).__name__}")
    return options


_NOTHING = JobOptions()
