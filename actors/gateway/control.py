"""The API of job-type control: limits, pauses and bulk cancels, checked and sent to the leader.

``PUT /api/v1/limits/{type}`` takes ``{"rate_per_s", "burst", "max_running"}``
(each optional, at least one; a PUT replaces the type's limit whole, and a
field left out is no limit of that kind); ``GET /api/v1/limits`` lists every
limited or paused type; ``DELETE /api/v1/limits/{type}`` removes a limit.
``POST /api/v1/types/{type}/pause`` and ``/resume`` stop and restart
assignments of a type. ``POST /api/v1/jobs/cancel`` takes ``{"ids": [...]}`` or
filters ``{"type", "status", "schedule"}`` and answers ``{"cancelled": n}``.

The parsers are pure (a bad field is a :class:`BadRequest` naming it);
:class:`~actors.gateway.app.Service` runs the operations for both protocols.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from actors.gateway.validation import BadRequest, check_fields, parse_type, status_list
from actors.scheduler.lifecycle import TERMINAL, JobStatus
from transport.queue_control import CancelJobs, SetTypeLimit

__all__ = ["LIVE_STATUSES", "parse_bulk_cancel", "parse_limit"]

# what a bulk cancel may take: the statuses of live jobs
LIVE_STATUSES = tuple(s.value for s in JobStatus if s not in TERMINAL)
_LIMIT_FIELDS = ("rate_per_s", "burst", "max_running")
_CANCEL_FIELDS = ("ids", "type", "status", "schedule")
# ids one bulk cancel may name (a batch's worth)
MAX_CANCEL_IDS = 10_000
MAX_RUNNING = 1_000_000
MAX_RATE = 1_000_000.0


def _positive(body: Mapping[str, Any], name: str, minimum: float, maximum: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not minimum <= value <= maximum
    ):
        raise BadRequest(f"{name} must be a number from {minimum:g} to {maximum:g}, got {value!r}")
    return float(value)


def parse_limit(job_type: str, body: Any) -> SetTypeLimit:
    """``{"rate_per_s": 50, "burst": 50, "max_running": 10}``: each optional, at least one.
    ``burst`` (at least 1: a job takes a whole token) needs ``rate_per_s``; without it the
    burst is a second's worth of the rate."""
    body = check_fields(body, "a limit", _LIMIT_FIELDS)
    if all(body.get(name) is None for name in _LIMIT_FIELDS):
        raise BadRequest(
            "a limit needs at least one of rate_per_s, burst with rate_per_s, or max_running "
            "(to stop a type, pause it: POST /api/v1/types/{type}/pause)"
        )
    rate = _positive(body, "rate_per_s", 0.001, MAX_RATE)
    burst = _positive(body, "burst", 1.0, MAX_RATE)
    if burst is not None and rate is None:
        raise BadRequest("burst needs rate_per_s: it is the most tokens the rate's bucket holds")
    running = body.get("max_running")
    if running is not None and (
        isinstance(running, bool) or not isinstance(running, int) or not 1 <= running <= MAX_RUNNING
    ):
        raise BadRequest(
            f"max_running must be an integer from 1 to {MAX_RUNNING}, got {running!r} "
            "(to stop a type, pause it)"
        )
    return SetTypeLimit(parse_type(job_type), rate, burst, running)


def parse_bulk_cancel(body: Any) -> CancelJobs:
    """``{"ids": [...]}``, or filters ``{"type", "status", "schedule"}`` (at least one; they
    all must match). Not both: a list of ids is exact, filters match whatever is live."""
    body = check_fields(body, "a bulk cancel", _CANCEL_FIELDS)
    given = {k: v for k, v in body.items() if v is not None}
    if "ids" in given:
        ids = given["ids"]
        if len(given) > 1:
            raise BadRequest("give ids or filters (type, status, schedule), not both")
        if (
            not isinstance(ids, list)
            or not 1 <= len(ids) <= MAX_CANCEL_IDS
            or not all(isinstance(i, str) and i for i in ids)
        ):
            raise BadRequest(f"ids must be a list of 1 to {MAX_CANCEL_IDS} job ids (strings)")
        return CancelJobs(tuple(dict.fromkeys(ids)), None, (), None)
    if not given:
        raise BadRequest(
            "name the jobs to cancel: ids, or at least one filter (type, status, schedule); "
            'every live job is {"status": ["pending", "scheduled", "blocked", "running"]}'
        )
    job_type = None if "type" not in given else parse_type(given["type"])
    schedule = given.get("schedule")
    if schedule is not None and (not isinstance(schedule, str) or not schedule):
        raise BadRequest("schedule must be a schedule's name (a non-empty string)")
    statuses = (
        status_list(given["status"], LIVE_STATUSES, "only live jobs are cancelled")
        if "status" in given
        else ()
    )
    return CancelJobs((), job_type, statuses, schedule)
