"""What the API shows of type limits and pauses: ``GET /api/v1/limits``, and in ``/api/v1/stats``.

A type appears once it has a limit or is paused. ``throttled`` is how many of
its pending jobs the limit or the pause holds back right now (pending beyond
what may start at this moment), so an operator sees at once which queues a
limit is holding; it is read from the counts the table keeps, never by a scan.
``tokens`` is the bucket refilled to the time of the answer (on the master
that answered), as the dispatcher would see it.
"""

from __future__ import annotations

from actors.scheduler.lifecycle import JobStatus
from actors.scheduler.state import JobStateMachine

__all__ = ["control_stats", "limits_view", "throttled", "type_view"]

_PENDING = JobStatus.PENDING.value


def throttled(sm: JobStateMachine, job_type: str, now: float) -> int:
    """Pending jobs of ``job_type`` that its limit or pause holds back at ``now``."""
    room = sm.control.room(job_type, now, sm.running_of(job_type))
    if room is None:
        return 0
    return max(sm.counts_by_type_status.get((job_type, _PENDING), 0) - room, 0)


def type_view(sm: JobStateMachine, job_type: str, now: float) -> dict[str, object]:
    control = sm.control
    limit = control.limits.get(job_type)
    tokens = control.tokens(job_type, now)
    return {
        "type": job_type,
        "rate_per_s": None if limit is None else limit.rate_per_s,
        "burst": None if limit is None else limit.burst,
        "max_running": None if limit is None else limit.max_running,
        "paused": job_type in control.paused,
        "tokens": None if tokens is None else round(tokens, 3),
        "running": sm.running_of(job_type),
        "pending": sm.counts_by_type_status.get((job_type, _PENDING), 0),
        "throttled": throttled(sm, job_type, now),
    }


def _entries(sm: JobStateMachine, now: float) -> list[dict[str, object]]:
    return [type_view(sm, t, now) for t in sm.control.types()]


def limits_view(sm: JobStateMachine, now: float) -> dict[str, object]:
    """``{"limits": [...]}``: every limited or paused type, by name."""
    return {"limits": _entries(sm, now)}


def control_stats(sm: JobStateMachine, now: float) -> dict[str, object]:
    """The stats' share: the same entries, and throttled jobs by type."""
    entries = _entries(sm, now)
    return {"limits": entries, "throttled": {e["type"]: e["throttled"] for e in entries}}
