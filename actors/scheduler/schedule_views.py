"""What the API shows of a schedule, JSON-ready.

``next_run_at`` is worked out when the view is made, from the schedule's mark
and the time given: the next tick the leader will fire, or None while the
schedule is paused (or when its time zone is unknown to this master, whose
view then cannot say).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import attrs
import msgpack

from actors.scheduler.schedule_ticks import Cadence, CadenceError
from transport.schedule_requests import GetSchedule, ListSchedules

if TYPE_CHECKING:
    from actors.scheduler.schedules import Schedule, ScheduleTable

__all__ = ["schedule_view", "schedules_read"]


def schedule_view(entry: Schedule, now: float) -> dict[str, object]:
    spec = entry.spec
    job = spec.job
    job_body: dict[str, object] = {
        "type": job.type,
        "payload": msgpack.unpackb(job.payload, raw=False),
        "priority": job.priority,
        "max_retries": job.max_retries,
        "timeout_s": job.timeout_s,
    }
    options = job.options
    if options is not None and options.unique_key is not None:
        job_body["unique_key"] = options.unique_key
    if options is not None and options.retry is not None:
        job_body["retry"] = attrs.asdict(options.retry)
    return {
        "name": spec.name,
        "cron": spec.cron,
        "every_s": spec.every_s,
        "timezone": spec.timezone,
        "catch_up": spec.catch_up,
        "paused": entry.paused,
        # who defined it: the owner of every job it fires
        "owner": options.owner if options is not None else None,
        "job": job_body,
        "next_run_at": None if entry.paused else _next_run(entry, now),
        "last_fired": entry.last_fired,
        "last_job": entry.last_job,
        "fired": entry.fired,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
    }


def _next_run(entry: Schedule, now: float) -> float | None:
    spec = entry.spec
    try:
        cadence = Cadence.of(spec.cron, spec.every_s, spec.timezone, entry.created_at)
    except CadenceError:
        return None
    return cadence.next_after(max(entry.mark, now))


def schedules_read(msg: GetSchedule | ListSchedules, table: ScheduleTable, now: float) -> bytes:
    """A schedule read's answer as JSON: one schedule (empty when there is none of that
    name), or ``{"schedules": [...]}`` by name."""
    if isinstance(msg, ListSchedules):
        return json.dumps({"schedules": [schedule_view(s, now) for s in table]}).encode()
    entry = table.get(msg.name)
    return json.dumps(schedule_view(entry, now)).encode() if entry is not None else b""
