"""Validation of a schedule: JSON in, a checked :class:`ScheduleRequest` out.

The job is checked by :func:`~actors.gateway.validation.parse_job`, the rules
of ``POST /api/v1/jobs``, minus what a tick decides or what would make every
tick's job the same one: a run time (``delay_s``, ``run_at``), an
``idempotency_key`` (``unique_key`` is the way to keep one live job at a
time), and ``depends_on`` (a schedule has no parents to wait for).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from attrs import frozen

from actors.gateway.validation import BadRequest, JobRequest, check_fields, parse_job
from actors.scheduler.schedule_ticks import Cadence, CadenceError
from transport.schedule_commands import CATCH_UP_RULES

__all__ = ["ScheduleRequest", "parse_schedule"]

_FIELDS = ("name", "cron", "every_s", "job", "timezone", "catch_up", "paused")
# a name goes in URLs (/api/v1/schedules/{name}), so it keeps to characters that need no
# escaping there
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# job fields a schedule decides itself, with why they are refused
_NOT_IN_JOB = {
    "delay_s": "a schedule's job runs at each tick: leave out delay_s",
    "run_at": "a schedule's job runs at each tick: leave out run_at",
    "idempotency_key": "each tick makes its own job, and one key would make them one; "
    "use unique_key to keep at most one live at a time",
    "depends_on": "a schedule's jobs have no parents to wait for",
}


@frozen
class ScheduleRequest:
    name: str
    cron: str | None
    every_s: float | None
    timezone: str
    catch_up: str
    job: JobRequest
    paused: bool


def parse_schedule(body: Any, now: float) -> ScheduleRequest:
    """Check a schedule object; ``now`` is when it would start (a cron that never fires
    from then on is refused)."""
    body = check_fields(body, "a schedule", _FIELDS)
    name = body.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise BadRequest(
            "name must be 1 to 128 letters, digits, '.', '_', ':' or '-' (not starting with "
            f"a punctuation mark; it goes in URLs), got {name!r}"
        )
    cron, every_s = body.get("cron"), body.get("every_s")
    if cron is not None and not isinstance(cron, str):
        raise BadRequest(f'cron must be a string such as "*/5 * * * *", got {cron!r}')
    if every_s is not None and (isinstance(every_s, bool) or not isinstance(every_s, int | float)):
        raise BadRequest(f"every_s must be a number of seconds, got {every_s!r}")
    timezone = body.get("timezone", "UTC")
    if not isinstance(timezone, str):
        raise BadRequest(f"timezone must be a string such as 'UTC', got {timezone!r}")
    try:
        cadence = Cadence.of(cron, every_s, timezone, now)
    except CadenceError as exc:
        raise BadRequest(str(exc)) from None
    catch_up = body.get("catch_up", "skip")
    if catch_up not in CATCH_UP_RULES:
        raise BadRequest(f"catch_up must be one of {', '.join(CATCH_UP_RULES)}, got {catch_up!r}")
    paused = body.get("paused", False)
    if not isinstance(paused, bool):
        raise BadRequest(f"paused must be true or false, got {paused!r}")
    return ScheduleRequest(
        name,
        cadence.cron,
        cadence.every_s,
        cadence.timezone,
        catch_up,
        _job(body.get("job"), now),
        paused,
    )


def _job(body: Any, now: float) -> JobRequest:
    if not isinstance(body, Mapping):
        raise BadRequest(
            "job must be a JSON object, the job each tick makes (as POST /api/v1/jobs takes "
            f'it, e.g. {{"type": "noop"}}), got {type(body).__name__}'
        )
    for field, why in _NOT_IN_JOB.items():
        if body.get(field) is not None:
            raise BadRequest(f"job.{field}: {why}")
    try:
        return parse_job(body, now)
    except BadRequest as exc:
        raise BadRequest(f"job: {exc}") from None
