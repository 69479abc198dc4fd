"""A job's whole record, as the history keeps it and as a retry carries it through the log.

A finished job leaves the leader's memory for each master's history store;
its record is the same row everywhere. The field order is the column order
of the history table and of the rows streamed to a follower that catches up
by snapshot, so a row is ``JobRecord(*row)`` and back with :func:`record_row`.
"""

from __future__ import annotations

from typing import Any

from attrs import define

from transport.codec import Message, message

__all__ = ["RECORD_FIELDS", "JobRecord", "record_row"]


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


RECORD_FIELDS: tuple[str, ...] = tuple(a.name for a in JobRecord.__attrs_attrs__)


def record_row(record: JobRecord) -> tuple[Any, ...]:
    """The record as a plain row, in :data:`RECORD_FIELDS` order."""
    return tuple(getattr(record, name) for name in RECORD_FIELDS)
