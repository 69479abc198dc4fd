"""The replicated job table: ``apply(command)``, the same result on every master.

Every command carries the leader's ``now`` and any random draw it needs, so
this class never reads a clock or draws a number. Each command first moves
delayed jobs whose time has come into the ready order, so when a job becomes
due is itself a function of the log.

Execution is at-least-once, completion exactly-once: an assignment bumps the
job's ``attempts``, which is the fencing token of that run; a report, renewal
or expiry naming another attempt (or another worker) is stale and ignored,
and counted.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Container

import msgpack

from actors.scheduler.backoff import Backoff
from actors.scheduler.lifecycle import TERMINAL, JobStatus, WorkerState, transition
from actors.scheduler.ready_queue import ReadyQueue
from transport.cluster import JobChanged, RunningJob, Submitted
from transport.cluster import JobStatus as StatusOf
from transport.codec import Message, decode
from transport.commands import (
    AssignCmd,
    CancelCmd,
    DeregisterWorkerCmd,
    ExpireLeasesCmd,
    ExpireWorkerCmd,
    NewJob,
    RegisterWorkerCmd,
    RenewCmd,
    ReportCmd,
    RetryCmd,
    SubmitCmd,
    TickCmd,
)

__all__ = ["Job", "JobStateMachine", "Worker"]

_FIELDS = (
    "id",
    "type",
    "payload",
    "priority",
    "max_retries",
    "timeout_s",
    "run_at",
    "idempotency_key",
    "seq",
    "created_at",
    "attempts",
    "worker",
    "status",
    "result",
    "error",
    "lease_until",
    "started_at",
    "finished_at",
    "updated_at",
    "last_reason",
)


class Job:
    __slots__ = _FIELDS

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
        self.lease_until = 0.0
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.updated_at = now
        self.last_reason = ""

    @property
    def due(self) -> float:
        return self.run_at if self.run_at is not None else self.created_at


class Worker:
    __slots__ = ("capacity", "id", "last_seen", "lease_until", "running", "state", "types")

    def __init__(self, worker_id: str, capacity: int, types: tuple[str, ...]) -> None:
        self.id = worker_id
        self.capacity = capacity
        self.types = types
        self.state = WorkerState.AVAILABLE
        self.last_seen = 0.0
        self.lease_until = 0.0
        # job ids this worker runs now
        self.running: set[str] = set()


class JobStateMachine:
    def __init__(self, backoff: Backoff | None = None, *, dead_letter: bool = True) -> None:
        self.backoff = backoff or Backoff()
        self.dead_letter = dead_letter
        self._reset()

    def _reset(self) -> None:
        """An empty table (restoring a snapshot starts from here)."""
        self.jobs: dict[str, Job] = {}
        # every job in submission order: seq n is at position n - 1 (cursor pagination)
        self.order: list[Job] = []
        self.by_key: dict[str, str] = {}
        self.queue = ReadyQueue()
        self.scheduled: set[str] = set()
        self.workers_by_id: dict[str, Worker] = {}
        # (lease_until, job id, attempt) for running jobs; stale entries are skipped
        self.leases: list[tuple[float, str, int]] = []
        self.applied_index = 0
        self.stale_reports = 0
        self.lease_timeouts = 0
        self.retries_by_reason: dict[str, int] = {}
        # (type, status name) -> jobs, kept as statuses change so stats never scan the
        # table; statuses are read as ``_value_``, because on the hot path both
        # ``Enum.value`` (a descriptor) and hashing a member (Python-level) are slow
        self.counts_by_type_status: dict[tuple[str, str], int] = {}
        # (type, status) -> how many times a job entered that status ("submitted" too):
        # monotonic, for the podium_jobs_total counter
        self.entered: dict[tuple[str, str], int] = {}

    # -- applying the log ------------------------------------------------------------

    def apply(self, index: int, data: bytes) -> Message | None:
        return self.apply_decoded(index, decode(data))

    def apply_decoded(self, index: int, cmd: Message) -> Message | None:
        """Apply entry ``index`` already decoded (the leader's own proposals are)."""
        self.applied_index = index
        return self.apply_command(cmd)

    def apply_command(self, cmd: Message) -> Message | None:
        now: float = getattr(cmd, "now", 0.0)
        self._promote(now)
        if isinstance(cmd, SubmitCmd):
            return self._submit(cmd)
        if isinstance(cmd, AssignCmd):
            self._assign(cmd)
        elif isinstance(cmd, RenewCmd):
            self._renew(cmd)
        elif isinstance(cmd, ReportCmd):
            self._report(cmd)
        elif isinstance(cmd, CancelCmd):
            return self._cancel(cmd)
        elif isinstance(cmd, RetryCmd):
            return self._retry(cmd)
        elif isinstance(cmd, RegisterWorkerCmd):
            self._register(cmd)
        elif isinstance(cmd, DeregisterWorkerCmd):
            self._deregister(cmd)
        elif isinstance(cmd, ExpireWorkerCmd):
            self._expire_worker(cmd)
        elif isinstance(cmd, ExpireLeasesCmd):
            self._expire_leases(cmd)
        elif not isinstance(cmd, TickCmd):
            raise TypeError(f"not a job command: {type(cmd).__name__}")
        return None

    def _set_status(self, job: Job, status: JobStatus, now: float) -> None:
        old = job.status
        job.status = transition(old, status)
        job.updated_at = now
        was, now_is = old._value_, status._value_
        per_type = self.counts_by_type_status
        per_type[job.type, was] -= 1
        per_type[job.type, now_is] = per_type.get((job.type, now_is), 0) + 1
        entered = self.entered
        entered[job.type, now_is] = entered.get((job.type, now_is), 0) + 1

    def _count_new(self, job: Job) -> None:
        key = (job.type, job.status._value_)
        self.counts_by_type_status[key] = self.counts_by_type_status.get(key, 0) + 1

    def _entered_new(self, job: Job) -> None:
        entered = self.entered
        for key in ((job.type, "submitted"), (job.type, job.status._value_)):
            entered[key] = entered.get(key, 0) + 1

    def _promote(self, now: float) -> None:
        if self.queue.next_run_at() is None:
            return
        for job_id in self.queue.promote(now, self.scheduled):
            self.scheduled.discard(job_id)
            self._set_status(self.jobs[job_id], JobStatus.PENDING, now)

    def _enqueue(self, job: Job, now: float) -> None:
        """Put a job in the ready order, or among the delayed ones if it is not due yet."""
        if job.run_at is not None and job.run_at > now:
            self.scheduled.add(job.id)
            self.queue.delay(job.id, job.type, job.priority, job.run_at, job.seq)
            if job.status is not JobStatus.SCHEDULED:
                self._set_status(job, JobStatus.SCHEDULED, now)
        else:
            self.queue.push(job.id, job.type, job.priority, job.due, job.seq)
            if job.status is not JobStatus.PENDING:
                self._set_status(job, JobStatus.PENDING, now)

    def _submit(self, cmd: SubmitCmd) -> Submitted:
        out = []
        for spec in cmd.jobs:
            key = spec.idempotency_key
            if key is not None and key in self.by_key:
                first = self.jobs[self.by_key[key]]
                out.append(StatusOf(first.id, first.status.value))
                continue
            job = Job(spec, len(self.order) + 1, cmd.now)
            self.jobs[job.id] = job
            self.order.append(job)
            if job.run_at is not None and job.run_at > cmd.now:
                job.status = JobStatus.SCHEDULED  # born delayed
            self._count_new(job)
            self._entered_new(job)
            if key is not None:
                self.by_key[key] = job.id
            self._enqueue(job, cmd.now)
            out.append(StatusOf(job.id, job.status.value))
        return Submitted(tuple(out))

    def _assign(self, cmd: AssignCmd) -> None:
        for a in cmd.assignments:
            job = self.jobs.get(a.job_id)
            worker = self.workers_by_id.get(a.worker)
            if (
                job is None
                or worker is None
                or worker.state is WorkerState.LOST
                or job.status is not JobStatus.PENDING
                or a.attempt != job.attempts + 1
            ):
                continue
            self.queue.remove(job.id)
            self._set_status(job, JobStatus.RUNNING, cmd.now)
            job.attempts = a.attempt
            job.worker = worker.id
            job.started_at = cmd.now
            job.lease_until = a.lease_until
            heapq.heappush(self.leases, (a.lease_until, job.id, a.attempt))
            worker.running.add(job.id)
            self._refresh(worker)

    def _current(self, job_id: str, attempt: int, worker: str | None) -> Job | None:
        """The job if ``attempt`` is its live run (on ``worker``, when given); else None."""
        job = self.jobs.get(job_id)
        if job is None or job.status is not JobStatus.RUNNING or job.attempts != attempt:
            return None
        if worker is not None and job.worker != worker:
            return None
        return job

    def _renew(self, cmd: RenewCmd) -> None:
        worker = self.workers_by_id.get(cmd.worker)
        if worker is None:
            return
        worker.last_seen = cmd.now
        worker.lease_until = cmd.lease_until
        if worker.state is WorkerState.LOST:
            worker.state = transition(worker.state, WorkerState.AVAILABLE)
            self._refresh(worker)
        for running in cmd.jobs:
            job = self._current(running.job_id, running.attempt, cmd.worker)
            if job is not None and cmd.lease_until > job.lease_until:
                job.lease_until = cmd.lease_until
                heapq.heappush(self.leases, (cmd.lease_until, job.id, job.attempts))

    def _report(self, cmd: ReportCmd) -> None:
        for item in cmd.reports:
            job = self._current(item.job_id, item.attempt, cmd.worker)
            if job is None:
                self.stale_reports += 1
                continue
            job.error = item.error
            job.result = item.result
            if item.ok:
                self._release(job)
                job.finished_at = cmd.now
                self._set_status(job, JobStatus.SUCCEEDED, cmd.now)
            else:
                reason = "timeout" if item.timed_out else "error"
                self._fail(job, reason, item.jitter, cmd.now)

    def _release(self, job: Job) -> None:
        worker = self.workers_by_id.get(job.worker or "")
        if worker is not None:
            worker.running.discard(job.id)
            self._refresh(worker)

    def _fail(self, job: Job, reason: str, jitter: float, now: float) -> None:
        """A run ended without success: retry after a backoff, or dead-letter the job."""
        self._release(job)
        job.last_reason = reason
        if job.attempts <= job.max_retries:
            self.retries_by_reason[reason] = self.retries_by_reason.get(reason, 0) + 1
            job.run_at = now + self.backoff.delay(job.attempts, jitter)
            self._enqueue(job, now)
        else:
            job.finished_at = now
            final = JobStatus.DEAD if self.dead_letter else JobStatus.FAILED
            self._set_status(job, final, now)

    def _cancel(self, cmd: CancelCmd) -> JobChanged:
        job = self.jobs.get(cmd.job_id)
        if job is None:
            return JobChanged(cmd.job_id, "", "", True)
        if job.status in TERMINAL:
            return JobChanged(job.id, job.status.value, f"job is already {job.status.value}", False)
        if job.status is JobStatus.RUNNING:
            self._release(job)
        else:
            self.queue.remove(job.id)
            self.scheduled.discard(job.id)
        job.finished_at = cmd.now
        self._set_status(job, JobStatus.CANCELLED, cmd.now)
        return JobChanged(job.id, job.status.value, "", False)

    def _retry(self, cmd: RetryCmd) -> JobChanged:
        job = self.jobs.get(cmd.job_id)
        if job is None:
            return JobChanged(cmd.job_id, "", "", True)
        if job.status not in (JobStatus.DEAD, JobStatus.FAILED):
            return JobChanged(
                job.id,
                job.status.value,
                f"only dead or failed jobs can be retried; this one is {job.status.value}",
                False,
            )
        job.max_retries += job.attempts
        job.run_at = None
        job.error = ""
        job.finished_at = None
        self._enqueue(job, cmd.now)
        return JobChanged(job.id, job.status.value, "", False)

    def _register(self, cmd: RegisterWorkerCmd) -> None:
        worker = self.workers_by_id.get(cmd.worker)
        if worker is None:
            worker = self.workers_by_id[cmd.worker] = Worker(cmd.worker, cmd.capacity, cmd.types)
        worker.capacity = cmd.capacity
        worker.types = cmd.types
        worker.last_seen = cmd.now
        worker.lease_until = cmd.lease_until
        if worker.state is WorkerState.LOST:
            worker.state = transition(worker.state, WorkerState.AVAILABLE)
        self._refresh(worker)

    def _give_back(
        self, worker: Worker, reason: str, jitters: tuple[float, ...], now: float
    ) -> None:
        for pos, job_id in enumerate(sorted(worker.running)):
            job = self.jobs[job_id]
            self._fail(job, reason, jitters[pos] if pos < len(jitters) else 0.0, now)

    def _deregister(self, cmd: DeregisterWorkerCmd) -> None:
        worker = self.workers_by_id.get(cmd.worker)
        if worker is not None:
            self._give_back(worker, "worker_left", (), cmd.now)
            del self.workers_by_id[cmd.worker]

    def _expire_worker(self, cmd: ExpireWorkerCmd) -> None:
        worker = self.workers_by_id.get(cmd.worker)
        if worker is None or worker.state is WorkerState.LOST or worker.lease_until > cmd.now:
            return
        self.lease_timeouts += len(worker.running)
        self._give_back(worker, "lease_expired", cmd.jitters, cmd.now)
        worker.state = transition(worker.state, WorkerState.LOST)

    def _expire_leases(self, cmd: ExpireLeasesCmd) -> None:
        for pos, running in enumerate(cmd.jobs):
            job = self._current(running.job_id, running.attempt, None)
            if job is None or job.lease_until > cmd.now:
                continue
            self.lease_timeouts += 1
            jitter = cmd.jitters[pos] if pos < len(cmd.jitters) else 0.0
            self._fail(job, "lease_expired", jitter, cmd.now)

    def _refresh(self, worker: Worker) -> None:
        if worker.state is WorkerState.LOST:
            return
        state = (
            WorkerState.BUSY if len(worker.running) >= worker.capacity else WorkerState.AVAILABLE
        )
        if state is not worker.state:
            worker.state = transition(worker.state, state)

    # -- reading (pure; the leader's scheduler and the API) -------------------------------

    def job(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def worker(self, worker_id: str) -> Worker | None:
        return self.workers_by_id.get(worker_id)

    def workers(self) -> list[Worker]:
        return [self.workers_by_id[w] for w in sorted(self.workers_by_id)]

    def due_jobs(self, types: Collection[str], limit: int, skip: Container[str] = ()) -> list[Job]:
        """The next ``limit`` pending jobs of ``types``, in exact scheduling order."""
        return [self.jobs[i] for i in self.queue.peek_due(types, limit, skip)]

    def next_run_at(self) -> float | None:
        """When the earliest delayed job becomes due (the leader proposes a TickCmd then)."""
        return self.queue.next_run_at()

    def expired_leases(self, now: float) -> list[RunningJob]:
        """Running attempts whose lease ran out by ``now`` (drops stale index entries)."""
        found: list[tuple[float, str, int]] = []
        leases = self.leases
        while leases and leases[0][0] <= now:
            entry = heapq.heappop(leases)
            job = self._current(entry[1], entry[2], None)
            if job is not None and job.lease_until == entry[0]:
                found.append(entry)
        for entry in found:
            heapq.heappush(leases, entry)
        return [RunningJob(job_id, attempt) for _, job_id, attempt in found]

    def counts(self) -> dict[str, int]:
        """Jobs by status, summed over the per-type counts (a few types, not every job)."""
        out = {status.value: 0 for status in JobStatus}
        for (_, status), n in self.counts_by_type_status.items():
            out[status] += n
        return out

    def counts_by_type(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (job_type, status), n in sorted(self.counts_by_type_status.items()):
            if n:
                out.setdefault(job_type, {})[status] = n
        return out

    def queue_depth_by_priority(self) -> dict[int, int]:
        return self.queue.depth_by_priority()

    def stats_view(self) -> dict[str, object]:
        """Counts for ``/api/v1/stats``: all kept up to date as commands apply, none scanned."""
        counts = self.counts()
        workers: dict[str, int] = {state.value: 0 for state in WorkerState}
        for worker in self.workers_by_id.values():
            workers[worker.state.value] += 1
        return {
            "jobs": counts,
            "by_type": self.counts_by_type(),
            "queue_depth": {str(p): n for p, n in sorted(self.queue_depth_by_priority().items())},
            "dead_letter": counts[JobStatus.DEAD.value],
            "retries": dict(sorted(self.retries_by_reason.items())),
            "lease_timeouts": self.lease_timeouts,
            "stale_reports": self.stale_reports,
            "workers": workers,
            "applied_index": self.applied_index,
        }

    def worker_view(self, worker: Worker) -> dict[str, object]:
        return {
            "id": worker.id,
            "state": worker.state.value,
            "slots": worker.capacity,
            "running": len(worker.running),
            "running_jobs": sorted(worker.running),
            "last_heartbeat": worker.last_seen,
            "lease_until": worker.lease_until,
            "types": list(worker.types),
        }

    def list_jobs(
        self, status: str | None, job_type: str | None, limit: int, after_seq: int | None
    ) -> list[Job]:
        page: list[Job] = []
        for job in self.order[after_seq or 0 :]:
            if (status is None or job.status.value == status) and (
                job_type is None or job.type == job_type
            ):
                page.append(job)
                if len(page) >= limit:
                    break
        return page

    def view(self, job: Job) -> dict[str, object]:
        """The job as the API shows it (JSON-ready)."""
        return {
            "id": job.id,
            "type": job.type,
            "status": job.status.value,
            "payload": _unpack(job.payload),
            "priority": job.priority,
            "max_retries": job.max_retries,
            "timeout_s": job.timeout_s,
            "run_at": job.run_at,
            "idempotency_key": job.idempotency_key,
            "attempts": job.attempts,
            "worker": job.worker,
            "result": _unpack(job.result) if job.result else None,
            "error": job.error or None,
            "last_reason": job.last_reason or None,
            "created_at": job.created_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "updated_at": job.updated_at,
        }

    # -- snapshots ---------------------------------------------------------------------

    def snapshot(self) -> bytes:
        jobs = [
            [getattr(job, f) if f != "status" else job.status.value for f in _FIELDS]
            for job in self.order
        ]
        workers = [
            [w.id, w.capacity, list(w.types), w.state.value, w.last_seen, w.lease_until]
            for w in self.workers()
        ]
        stats = [
            self.applied_index,
            self.stale_reports,
            self.lease_timeouts,
            self.retries_by_reason,
            [[t, status, n] for (t, status), n in sorted(self.entered.items())],
        ]
        return msgpack.packb([jobs, workers, stats])  # type: ignore[no-any-return]

    def restore(self, data: bytes) -> None:
        jobs, workers, stats = msgpack.unpackb(data, strict_map_key=False)
        self._reset()
        self.applied_index, self.stale_reports, self.lease_timeouts, retries = stats[:4]
        self.retries_by_reason = dict(retries)
        self.entered = {(t, status): n for t, status, n in (stats[4] if len(stats) > 4 else [])}
        for row in workers:
            worker = Worker(row[0], row[1], tuple(row[2]))
            worker.state = WorkerState(row[3])
            worker.last_seen, worker.lease_until = row[4], row[5]
            self.workers_by_id[worker.id] = worker
        for row in jobs:
            job = Job.__new__(Job)
            for name, value in zip(_FIELDS, row, strict=True):
                setattr(job, name, value)
            job.status = JobStatus(job.status)
            self.jobs[job.id] = job
            self.order.append(job)
            self._count_new(job)
            if job.idempotency_key is not None:
                self.by_key.setdefault(job.idempotency_key, job.id)
            if job.status is JobStatus.PENDING:
                self.queue.push(job.id, job.type, job.priority, job.due, job.seq)
            elif job.status is JobStatus.SCHEDULED:
                self.scheduled.add(job.id)
                assert job.run_at is not None
                self.queue.delay(job.id, job.type, job.priority, job.run_at, job.seq)
            elif job.status is JobStatus.RUNNING:
                heapq.heappush(self.leases, (job.lease_until, job.id, job.attempts))
                owner = self.workers_by_id.get(job.worker or "")
                if owner is not None:
                    owner.running.add(job.id)


def _unpack(data: bytes) -> object:
    return msgpack.unpackb(data, raw=False)
