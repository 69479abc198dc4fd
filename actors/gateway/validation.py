"""Validation of submitted jobs: JSON in, a checked :class:`JobRequest` out.

Pure functions, so every rule is unit-tested without a server. Errors are
:class:`BadRequest` with a message a person can act on ("priority must be an
integer from 0 to 9, got 12"), which the app turns into a 400.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

import msgpack
from attrs import frozen

from actors.payload_rules import payload_problem
from runtime.storage.history import FINAL_STATUSES
from transport.cluster import JobSpec
from transport.job_options import PARENT_FAILURE_RULES, REF_PREFIX, JobOptions, RetryPolicy

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
        "depends_on",
        "on_parent_failure",
        "unique_key",
        "retry",
    }
)
# a batch's jobs may also name themselves, for their siblings' depends_on
_BATCH_FIELDS = _FIELDS | {"ref"}
_RETRY_FIELDS = ("max_retries", "base_s", "multiplier", "cap_s", "jitter", "no_retry_exit_codes")
MAX_PARENTS = 1000


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
    options: JobOptions | None = None
    # the job's name among its batch's siblings ("ref:<name>" in their depends_on)
    ref: str | None = None


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


def status_list(value: Any, allowed: tuple[str, ...], why: str) -> tuple[str, ...]:
    """One status or a list of them, each in ``allowed`` (``why`` says what the rest are
    not), in ``allowed``'s order without repeats."""
    statuses = [value] if isinstance(value, str) else value
    if (
        not isinstance(statuses, list)
        or not statuses
        or not all(isinstance(s, str) and s in allowed for s in statuses)
    ):
        raise BadRequest(
            f"status must be one of {', '.join(allowed)} (or a list of them): {why}, got {value!r}"
        )
    return tuple(sorted(set(statuses), key=allowed.index))


def check_fields(body: Any, what: str, allowed: Collection[str]) -> Mapping[str, Any]:
    """``body`` as a JSON object of ``allowed`` fields only (named in the order given)."""
    if not isinstance(body, Mapping):
        raise BadRequest(f"{what} must be a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return body


def parse_purge(body: Any) -> PurgeRequest:
    """``{"status": "dead" or [...], "type": ..., "before": ...}``; every field optional
    (no status: every final status)."""
    body = check_fields(body, "a purge", ("before", "status", "type"))
    status = body.get("status")
    statuses = (
        FINAL_STATUSES
        if status is None
        else status_list(status, FINAL_STATUSES, "only final jobs are purged")
    )
    job_type = None if body.get("type") is None else parse_type(body["type"])
    before = body.get("before")
    return PurgeRequest(
        statuses,
        job_type,
        None if before is None else parse_time(before, "before"),
    )


def _key(value: Any, name: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value or len(value) > 200):
        raise BadRequest(f"{name} must be a non-empty string of at most 200 characters")
    return value


def _retry(value: Any) -> tuple[int | None, RetryPolicy | None]:
    """``{"max_retries", "base_s", "multiplier", "cap_s", "jitter", "no_retry_exit_codes"}``,
    every field optional: (max_retries, the rest as a policy)."""
    if value is None:
        return None, None
    if not isinstance(value, Mapping):
        raise BadRequest(f"retry must be a JSON object, got {type(value).__name__}")
    unknown = sorted(set(value) - set(_RETRY_FIELDS))
    if unknown:
        raise BadRequest(
            f"unknown retry field(s) {', '.join(unknown)}; allowed: {', '.join(_RETRY_FIELDS)}"
        )
    max_retries = value.get("max_retries")
    if max_retries is not None:
        max_retries = _integer(max_retries, "retry.max_retries", 0, 1000)

    def seconds(name: str, *, minimum: float = 0.0) -> float | None:
        got = value.get(name)
        return None if got is None else _number(got, f"retry.{name}", minimum=minimum)

    jitter = seconds("jitter")
    if jitter is not None and jitter > 1:
        raise BadRequest(f"retry.jitter must be a fraction from 0 to 1, got {jitter!r}")
    codes = value.get("no_retry_exit_codes", [])
    if not isinstance(codes, list) or not all(
        isinstance(c, int) and not isinstance(c, bool) and -255 <= c <= 255 for c in codes
    ):
        raise BadRequest(
            f"retry.no_retry_exit_codes must be a list of exit codes (integers), got {codes!r}"
        )
    policy = RetryPolicy(
        seconds("base_s"),
        seconds("multiplier", minimum=1.0),
        seconds("cap_s"),
        jitter,
        tuple(sorted(set(codes))),
    )
    return max_retries, (None if policy == RetryPolicy() else policy)


def _depends_on(value: Any, batch: bool) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise BadRequest(f"depends_on must be a list of job ids, got {value!r}")
    if len(value) > MAX_PARENTS:
        raise BadRequest(f"depends_on names at most {MAX_PARENTS} jobs, got {len(value)}")
    if not batch:
        refs = [p for p in value if p.startswith(REF_PREFIX)]
        if refs:
            raise BadRequest(
                f"depends_on may name {refs[0]!r} only in a batch (POST /api/v1/jobs/batch), "
                "where a sibling has that ref"
            )
    return tuple(dict.fromkeys(value))


def parse_type(value: Any) -> str:
    """A job type, in a job's body or a path: what a worker registers handlers under."""
    if not isinstance(value, str) or not value or len(value) > 200:
        raise BadRequest(
            "type must be a non-empty string of at most 200 characters "
            "(e.g. 'shell', 'sleep', 'noop')"
        )
    return value


def parse_job(body: Any, now: float, *, batch: bool = False) -> JobRequest:
    """Check one job object; ``now`` (epoch seconds) turns ``delay_s`` into ``run_at``.
    In a ``batch``, a job may carry a ``ref`` and name its siblings' refs."""
    body = check_fields(body, "a job", sorted(_BATCH_FIELDS if batch else _FIELDS))
    job_type = parse_type(body.get("type"))
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
    key = _key(body.get("idempotency_key"), "idempotency_key")
    policy_retries, policy = _retry(body.get("retry"))
    if policy_retries is not None:
        if "max_retries" in body and body["max_retries"] != policy_retries:
            raise BadRequest("give max_retries or retry.max_retries, not two different values")
        max_retries = policy_retries
    rule = body.get("on_parent_failure", "fail")
    if rule not in PARENT_FAILURE_RULES:
        raise BadRequest(
            f"on_parent_failure must be one of {', '.join(PARENT_FAILURE_RULES)}, got {rule!r}"
        )
    options = JobOptions(
        depends_on=_depends_on(body.get("depends_on"), batch),
        on_parent_failure=rule,
        unique_key=_key(body.get("unique_key"), "unique_key"),
        retry=policy,
    )
    ref = _key(body.get("ref"), "ref")
    return JobRequest(
        job_type,
        dict(payload),
        priority,
        max_retries,
        timeout_s,
        run_at,
        key,
        None if options == JobOptions() else options,
        ref,
    )


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
            parsed.append(parse_job(job, now, batch=True))
        except BadRequest as exc:
            raise BadRequest(f"jobs[{i}]: {exc}") from None
    return parsed


def to_spec(job: JobRequest) -> JobSpec:
    """The job as the cluster takes it: its payload packed as the log stores it."""
    try:
        payload = msgpack.packb(job.payload, use_bin_type=True)
    except (OverflowError, TypeError, ValueError) as exc:
        # JSON allows integers of any size; the log stores 64-bit ones
        raise BadRequest(f"payload holds a value that cannot be stored: {exc}") from None
    return JobSpec(
        type=job.type,
        payload=payload,
        priority=job.priority,
        max_retries=job.max_retries,
        timeout_s=job.timeout_s,
        run_at=job.run_at,
        idempotency_key=job.idempotency_key,
        options=job.options,
        ref=job.ref,
    )
