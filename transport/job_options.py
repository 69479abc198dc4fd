"""What a job asks for beyond running once: dependencies, uniqueness, its own retry
policy, where a schedule's tick put it, and who submitted it.

Most jobs ask for none of it, so a job carries ``options=None`` and the hot
path never looks further; a job that asks carries one :class:`JobOptions`,
which travels unchanged from the submit through the log, the live table, the
snapshot and the history.
"""

from __future__ import annotations

from attrs import frozen

from transport.codec import Message, decode, message

__all__ = ["PARENT_FAILURE_RULES", "REF_PREFIX", "JobOptions", "RetryPolicy", "decode_options"]

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


def decode_options(data: bytes) -> JobOptions:
    """Options stored as encoded bytes (a history row, a snapshot cell), back."""
    options = decode(data)
    if not isinstance(options, JobOptions):
        raise TypeError(f"stored job options hold a {type(options).__name__}")
    return options
