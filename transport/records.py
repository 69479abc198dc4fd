"""A job's whole record, as the history keeps it and as a retry carries it through the log.

A finished job leaves the leader's memory for each master's history store;
its record is the same row everywhere. The field order is the column order
of the history table and of the rows streamed to a follower that catches up
by snapshot, so a row is ``JobRecord(*row)`` and back with :func:`record_row`.
"""

from __future__ import annotations

from typing import Any

from attrs import define, frozen

from transport.codec import Message, message
from transport.job_options import JobOptions

__all__ = ["RECORD_FIELDS", "JobQuery", "JobRecord", "record_row"]


@message("j.record")
@define
class JobRecord(Message):
    """Treated as immutable; not ``frozen`` only because a frozen class's ``__init__``
    costs twice as much, and one is made for every job that finishes."""

    # submission order: the order of lists and the key of pagination
    seq: int
    id: str
    type: str
    status: str
    payload: bytes
    priority: int
    max_retries: int
    timeout_s: float | None
    run_at: float | None
    idempotency_key: str | None
    created_at: float
    attempts: int
    worker: str | None
    result: bytes | None
    error: str
    last_reason: str
    started_at: float | None
    finished_at: float | None
    updated_at: float
    # the log index of the command that made the job final (0 while it is live)
    finished_index: int
    # each failed attempt, packed (actors.scheduler.attempt_log); last, with a default,
    # so rows written before it existed still read
    attempts_log: bytes = b""
    # what the job asked for beyond one run (transport.job_options); None for most jobs
    options: JobOptions | None = None


RECORD_FIELDS: tuple[str, ...] = tuple(a.name for a in JobRecord.__attrs_attrs__)


def record_row(record: JobRecord) -> tuple[Any, ...]:
    """The record as a plain row, in :data:`RECORD_FIELDS` order."""
    return tuple(getattr(record, name) for name in RECORD_FIELDS)


@frozen
class JobQuery:
    """A page of jobs: filters, where the previous page ended, order and size. The live
    table and the history answer the same query, and a listing merges the two."""

    status: str | None = None
    type: str | None = None
    since: float | None = None
    until: float | None = None
    after_seq: int | None = None
    ascending: bool = False
    limit: int = 100
    # only the jobs this user submitted (a ``user``'s listing); None: everyone's
    owner: str | None = None

    def owns(self, options: JobOptions | None) -> bool:
        """Whether a job with these options belongs to the owner asked for (if any)."""
        return self.owner is None or (options is not None and options.owner == self.owner)

    def admits(self, status: str, job_type: str, created_at: float, seq: int) -> bool:
        """Whether a job with these fields belongs in the answer (ignoring the limit)."""
        if self.status is not None and status != self.status:
            return False
        if self.type is not None and job_type != self.type:
            return False
        if self.since is not None and created_at < self.since:
            return False
        if self.until is not None and created_at >= self.until:
            return False
        if self.after_seq is not None:
            return seq > self.after_seq if self.ascending else seq < self.after_seq
        return True
