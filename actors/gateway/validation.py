"""Validation of submitted jobs: JSON in, a checked :class:`JobRequest` out.

Pure functions, so every rule is unit-tested without a server. Errors are
:class:`BadRequest` with a message a person can act on ("priority must be an
integer from 0 to 9, got 12"), which the app turns into a 400.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from attrs import frozen

from actors.payload_rules import payload_problem
from runtime.storage.history import FINAL_STATUSES

DEFAULT_PRIORITY = 5
DEFAULT_MAX_RETRIES = 3
MAX_BATCH = 10_000

_FIELDS = frozenset(
    {
        "type",
        "payload",
        "priority",
        "max_retries",
        "timeout_s",
        "delay_s",
        "run_at",
        "idempotency_key",
    }
)


class BadRequest(ValueError):
    """The request is malformed; the message says what to change."""


@frozen
class JobRequest:
    type: str
    payload: dict[str, Any]
    priority: int
    max_retries: int
    timeout_s: float | None
    # absolute epoch seconds, or None to run as soon as possible
    run_at: float | None
    idempotency_key: str | None


def _number(value: Any, name: str, *, minimum: float, exclusive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadRequest(f"{name} must be a number, got {value!r}")
    if value < minimum or (exclusive and value == minimum):
        bound = f"greater than {minimum:g}" if exclusive else f"at least {minimum:g}"
        raise BadRequest(f"{name} must be {bound}, got {value!r}")
    return float(value)


def _integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


def _run_at(value: Any) -> float:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise BadRequest(
                f"run_at must be epoch seconds or an ISO 8601 time, got {value!r}"
            ) from None
        if parsed.tzinfo is None:
            raise BadRequest(f"run_at needs a time zone (e.g. 'Z' or '+00:00'), got {value!r}")
        return parsed.timestamp()
    return _number(value, "run_at", minimum=0)


def parse_time(value: Any, name: str) -> float:
    """Epoch seconds (a number, or digits in a query string), or an ISO 8601 time with a
    zone; a bare date (``2026-11-01``) is that day's midnight UTC."""
    if isinstance(value, str):
        text = value.strip()
        try:
            return _number(float(text), name, minimum=0)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise BadRequest(
                f"{name} must be epoch seconds or an ISO 8601 time, got {value!r}"
            ) from None
        if len(text) == 10:  # a date
            parsed = parsed.replace(tzinfo=UTC)
        if parsed.tzinfo is None:
            raise BadRequest(f"{name} needs a time zone (e.g. 'Z' or '+00:00'), got {value!r}")
        return parsed.timestamp()
    return _number(value, name, minimum=0)


@frozen
class PurgeRequest:
    statuses: tuple[str, ...]
    type: str | None
    before: float | None


def parse_purge(body: Any) -> PurgeRequest:
    """``{"status": "dead" or [...], "type": ..., "before": ...}``; every field optional
    (no status: every final status)."""
    if not isinstance(body, Mapping):
        raise BadRequest(f"a purge must be a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - {"status", "type", "before"})
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)}; allowed: before, status, type")
    status = body.get("status")
    statuses = [status] if isinstance(status, str) else status
    if statuses is None:
        statuses = list(FINAL_STATUSES)
    if (
        not isinstance(statuses, list)
        or not statuses
        or not all(isinstance(s, str) and s in FINAL_STATUSES for s in statuses)
    ):
        raise BadRequest(
            f"status must be one of {', '.join(FINAL_STATUSES)} (or a list of them): only "
            f"final jobs are purged, got {status!r}"
        )
    job_type = body.get("type")
    if job_type is not None and (not isinstance(job_type, str) or not job_type):
        raise BadRequest("type must be a non-empty string")
    before = body.get("before")
    return PurgeRequest(
        tuple(sorted(set(statuses), key=FINAL_STATUSES.index)),
        job_type,
        None if before is None else parse_time(before, "before"),
    )


def parse_job(body: Any, now: float) -> JobRequest:
    """Check one job object; ``now`` (epoch seconds) turns ``delay_s`` into ``run_at``."""
    if not isinstance(body, Mapping):
        raise BadRequest(f"a job must be a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise BadRequest(
            f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_FIELDS))}"
        )
    job_type = body.get("type")
    if not isinstance(job_type, str) or not job_type or len(job_type) > 200:
        raise BadRequest("type must be a non-empty string (e.g. 'shell', 'sleep', 'noop')")
    payload = body.get("payload", {})
    if payload is None:
        payload = {}
    if not isinstance(payload, Mapping):
        raise BadRequest(f"payload must be a JSON object, got {type(payload).__name__}")
    problem = payload_problem(job_type, payload)
    if problem is not None:
        raise BadRequest(problem)
    priority = _integer(body.get("priority", DEFAULT_PRIORITY), "priority", 0, 9)
    max_retries = _integer(body.get("max_retries", DEFAULT_MAX_RETRIES), "max_retries", 0, 1000)
    timeout = body.get("timeout_s")
    timeout_s = (
        None if timeout is None else _number(timeout, "timeout_s", minimum=0, exclusive=True)
    )
    if body.get("delay_s") is not None and body.get("run_at") is not None:
        raise BadRequest("give delay_s or run_at, not both")
    run_at: float | None = None
    if body.get("delay_s") is not None:
        run_at = now + _number(body["delay_s"], "delay_s", minimum=0)
    elif body.get("run_at") is not None:
        run_at = _run_at(body["run_at"])
    key = body.get("idempotency_key")
    if key is not None and (not isinstance(key, str) or not key or len(key) > 200):
        raise BadRequest("idempotency_key must be a non-empty string of at most 200 characters")
    return JobRequest(job_type, dict(payload), priority, max_retries, timeout_s, run_at, key)


def parse_batch(body: Any, now: float) -> list[JobRequest]:
    if not isinstance(body, Mapping) or set(body) != {"jobs"}:
        raise BadRequest('a batch must be a JSON object {"jobs": [...]}')
    jobs = body["jobs"]
    if not isinstance(jobs, list) or not jobs:
        raise BadRequest("jobs must be a non-empty list")
    if len(jobs) > MAX_BATCH:
        raise BadRequest(f"a batch holds at most {MAX_BATCH} jobs, got {len(jobs)}")
    parsed = []
    for i, job in enumerate(jobs):
        try:
            parsed.append(parse_job(job, now))
        except BadRequest as exc:
            raise BadRequest(f"jobs[{i}]: {exc}") from None
    return parsed
