"""What the API shows: jobs (live or from the history), workers and stats, JSON-ready.

A job looks the same whether it is still in the live table or only in the
history: both render through :func:`record_view`, a live job by way of its
record. Worker views add the leader's soft lease state when it has one.
"""

from __future__ import annotations

from typing import Any

import msgpack

from actors.scheduler.attempt_log import entries
from actors.scheduler.lifecycle import JobStatus, WorkerState
from actors.scheduler.records import Job, Worker
from actors.scheduler.state import JobStateMachine
from transport.job_options import JobOptions
from transport.records import JobRecord

_NO_OPTIONS = JobOptions()

__all__ = ["job_view", "options_view", "record_view", "stats_view", "worker_view"]


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False)


def record_view(record: JobRecord) -> dict[str, object]:
    """A job as the API shows it."""
    return {
        "id": record.id,
        "type": record.type,
        "status": record.status,
        "payload": _unpack(record.payload),
        "priority": record.priority,
        "max_retries": record.max_retries,
        "timeout_s": record.timeout_s,
        "run_at": record.run_at,
        "idempotency_key": record.idempotency_key,
        "attempts": record.attempts,
        "worker": record.worker,
        "result": _unpack(record.result) if record.result else None,
        "error": record.error or None,
        "last_reason": record.last_reason or None,
        "attempts_log": entries(record.attempts_log),
        "created_at": record.created_at,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "updated_at": record.updated_at,
        **options_view(record.options, record.max_retries),
    }


def options_view(options: JobOptions | None, max_retries: int) -> dict[str, object]:
    """The fields a job has whether or not it asked for anything beyond one run."""
    if options is None:
        options = _NO_OPTIONS
    policy = options.retry
    return {
        "depends_on": list(options.depends_on),
        "on_parent_failure": options.on_parent_failure,
        "unique_key": options.unique_key,
        "retry": None
        if policy is None
        else {
            "max_retries": max_retries,
            "base_s": policy.base_s,
            "multiplier": policy.multiplier,
            "cap_s": policy.cap_s,
            "jitter": policy.jitter,
            "no_retry_exit_codes": list(policy.no_retry_exit_codes),
        },
        "schedule": options.schedule,
        "scheduled_for": options.scheduled_for,
        "owner": options.owner,
        # the job's OpenTelemetry trace (None unless the gateway that took it traces)
        "trace_id": options.trace_id,
    }


def job_view(job: Job, sm: JobStateMachine) -> dict[str, object]:
    """A live job; a pending one no worker of ``sm`` takes says what it waits for."""
    view = record_view(job.record(0))
    if job.status is JobStatus.PENDING and not sm.serves(job.type):
        view["waiting_for"] = f"a worker that handles type {job.type!r} (none is connected)"
    return view


def worker_view(
    worker: Worker,
    last_heartbeat: float | None,
    lease_until: float | None,
    *,
    draining: bool = False,
) -> dict[str, object]:
    """``last_heartbeat``, ``lease_until`` and ``draining`` are the leader's soft state
    (None and False elsewhere); a draining worker shows as ``draining``."""
    return {
        "id": worker.id,
        "state": "draining" if draining else worker.state.value,
        "slots": worker.capacity,
        "prefetch": worker.prefetch,
        "running": len(worker.running),
        "running_jobs": sorted(worker.running),
        "registered_at": worker.registered_at,
        "last_heartbeat": last_heartbeat,
        "lease_until": lease_until,
        "types": list(worker.types),
    }


def stats_view(sm: JobStateMachine) -> dict[str, object]:
    """Counts for ``/api/v1/stats``: all kept up to date as commands apply, none scanned.

    Final statuses count every job that ended so; removing its record (retention,
    delete, purge) does not lower them, so the counts stay monotonic.
    """
    counts = sm.counts()
    workers: dict[str, int] = {state.value: 0 for state in WorkerState}
    for worker in sm.workers_by_id.values():
        workers[worker.state.value] += 1
    return {
        "jobs": counts,
        "live_jobs": len(sm.jobs),
        "by_type": sm.counts_by_type(),
        "queue_depth": {str(p): n for p, n in sorted(sm.queue_depth_by_priority().items())},
        "dead_letter": counts[JobStatus.DEAD.value],
        "retries": dict(sorted(sm.retries_by_reason.items())),
        "lease_timeouts": sm.lease_timeouts,
        "stale_reports": sm.stale_reports,
        "workers": workers,
        "retention": {
            "keep_finished_s": sm.retention.keep_finished_s,
            "max_finished": sm.retention.max_finished,
        },
        "applied_index": sm.applied_index,
    }
