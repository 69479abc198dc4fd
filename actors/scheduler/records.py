"""The live job and worker records the replicated state machine keeps in memory.

Plain slotted classes rather than attrs ones: the state machine creates and
mutates them for every job on the hot path. A job that reaches a final
status leaves memory as a :class:`~transport.records.JobRecord` for the
history (:meth:`Job.record`), and a retried one comes back from it
(:meth:`Job.revive`).
"""

from __future__ import annotations

from typing import Protocol

from actors.scheduler.lifecycle import JobStatus, WorkerState
from transport.commands import NewJob
from transport.job_options import JobOptions, untraced
from transport.records import RECORD_FIELDS, JobRecord

__all__ = ["JOB_FIELDS", "BodyLike", "Job", "Worker", "same_body"]

# the snapshot codec writes a live job as these fields, in this order
JOB_FIELDS = tuple(name for name in RECORD_FIELDS if name != "finished_index")


class BodyLike(Protocol):
    """What a client says about a job (a spec, a live job, a record share the names)."""

    @property
    def type(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def priority(self) -> int: ...
    @property
    def max_retries(self) -> int: ...
    @property
    def timeout_s(self) -> float | None: ...
    @property
    def options(self) -> JobOptions | None: ...


def same_body(a: BodyLike, b: BodyLike) -> bool:
    """Whether two submissions ask for the same job, so one key may name both: when it
    should run (``run_at``, often computed from ``delay_s`` at the gateway) is left out,
    and so is the trace each submission started."""
    return (
        a.type == b.type
        and a.payload == b.payload
        and a.priority == b.priority
        and a.max_retries == b.max_retries
        and a.timeout_s == b.timeout_s
        and untraced(a.options) == untraced(b.options)
    )


class Job:
    __slots__ = JOB_FIELDS

    def __init__(self, spec: NewJob, seq: int, now: float) -> None:
        self.id = spec.id
        self.type = spec.type
        self.payload = spec.payload
        self.priority = spec.priority
        self.max_retries = spec.max_retries
        self.timeout_s = spec.timeout_s
        self.run_at = spec.run_at
        self.idempotency_key = spec.idempotency_key
        self.seq = seq
        self.created_at = now
        self.attempts = 0
        self.worker: str | None = None
        self.status = JobStatus.PENDING
        self.result: bytes | None = None
        self.error = ""
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.updated_at = now
        self.last_reason = ""
        self.attempts_log = b""
        self.options = spec.options

    @property
    def due(self) -> float:
        return self.run_at if self.run_at is not None else self.created_at

    def record(self, finished_index: int) -> JobRecord:
        return JobRecord(
            self.seq,
            self.id,
            self.type,
            self.status._value_,
            self.payload,
            self.priority,
            self.max_retries,
            self.timeout_s,
            self.run_at,
            self.idempotency_key,
            self.created_at,
            self.attempts,
            self.worker,
            self.result,
            self.error,
            self.last_reason,
            self.started_at,
            self.finished_at,
            self.updated_at,
            finished_index,
            self.attempts_log,
            self.options,
        )

    @classmethod
    def revive(cls, record: JobRecord) -> Job:
        """A final job back from its record (a retry), under its own seq and id."""
        job = cls.__new__(cls)
        for name in JOB_FIELDS:
            setattr(job, name, getattr(record, name))
        job.status = JobStatus(record.status)
        return job


class Worker:
    __slots__ = ("capacity", "id", "prefetch", "registered_at", "running", "state", "types")

    def __init__(
        self, worker_id: str, capacity: int, types: tuple[str, ...], prefetch: int = 0
    ) -> None:
        self.id = worker_id
        # jobs it runs at once, and jobs it holds queued beyond them: a leader counts
        # capacity + prefetch as what it may assign, the worker runs capacity at a time
        self.capacity = capacity
        self.prefetch = prefetch
        self.types = types
        self.state = WorkerState.AVAILABLE
        self.registered_at = 0.0
        # job ids this worker runs now
        self.running: set[str] = set()
