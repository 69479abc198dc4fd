"""The master: a Raft member whose state machine is the job table; when leading, the scheduler.

Every write (a submit, a worker's registration, heartbeat or report, a
cancel) becomes a command in the replicated log and is answered only once it
is applied, so an acknowledgement means the change is fsynced on a majority.
Reads are served from the local copy of the job table.

On the leader, after each burst of messages, the scheduling step pops due
jobs in (priority, due time, sequence) order, picks a worker for each by the
configured policy, and proposes one ``AssignCmd`` for the whole batch. Credits
are taken from the worker pool when a job is chosen, so no worker is offered
more jobs than its free slots; the assignment is pushed to the worker once it
is committed, carrying its attempt number as the fencing token.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence

import attrs

from actors.master.metrics import MasterMetrics
from actors.raft.actor import Committed, NotLeaderReply, RaftActor
from actors.raft.core import NotLeader, RaftConfig, Role
from actors.scheduler.backoff import Backoff
from actors.scheduler.lifecycle import JobStatus as Status
from actors.scheduler.policies import WorkerPool, make_pool
from actors.scheduler.state import JobStateMachine
from runtime.actor import ActorRef, PendingReply
from runtime.storage import Storage
from transport.cluster import (
    AssignJobs,
    Assignment,
    CancelJob,
    CancelRunning,
    GetCluster,
    GetJob,
    GetStats,
    GetWorkers,
    HeartbeatAck,
    JobChanged,
    JsonView,
    Linearizable,
    ListJobs,
    ReportJobs,
    RetryJob,
    RunningJob,
    SubmitJobs,
    Unavailable,
    Welcome,
    WorkerBye,
    WorkerHeartbeat,
    WorkerHello,
)
from transport.cluster import (
    NotLeader as NotLeaderAnswer,
)
from transport.codec import Message, decode, encode
from transport.commands import (
    AssignCmd,
    AssignmentCmd,
    CancelCmd,
    DeregisterWorkerCmd,
    ExpireLeasesCmd,
    ExpireWorkerCmd,
    NewJob,
    RegisterWorkerCmd,
    RenewCmd,
    ReportCmd,
    ReportItem,
    RetryCmd,
    SubmitCmd,
    TickCmd,
)
from transport.envelope import Ack

log = logging.getLogger("podium.master")

__all__ = ["MasterActor", "MasterSettings"]

WORKER = "worker"


@attrs.frozen
class MasterSettings:
    policy: str = "capacity_aware"
    lease_s: float = 10.0
    heartbeat_s: float = 1.0
    max_assign_batch: int = 1024
    backoff: Backoff = attrs.Factory(Backoff)
    dead_letter: bool = True


@attrs.frozen
class Maintain(Message):
    """Local only: look for expired leases and silent workers."""


def _json(body: object) -> JsonView:
    return JsonView(json.dumps(body).encode())


READS = (GetJob, ListJobs, GetStats, GetWorkers)
WRITES = (SubmitJobs, CancelJob, RetryJob, WorkerHello, WorkerHeartbeat, ReportJobs, WorkerBye)


class _JobLog:
    """The job table as Raft's state machine.

    Entries this master proposed are applied from the command objects it
    encoded rather than decoded back from bytes: on the leader that is every
    entry, and decoding was its largest single cost. The bytes are compared
    first, so an index that another leader filled differently is decoded.
    """

    def __init__(self, jobs: JobStateMachine, metrics: MasterMetrics | None) -> None:
        self.jobs = jobs
        self.metrics = metrics
        self.proposed: dict[int, tuple[bytes, Message]] = {}

    def apply(self, index: int, data: bytes) -> Message | None:
        mine = self.proposed.pop(index, None)
        # bytes equality checks identity first, so this is free on the leader
        cmd = mine[1] if mine is not None and mine[0] == data else decode(data)
        metrics = self.metrics
        if metrics is None:
            return self.jobs.apply_decoded(index, cmd)
        runs = metrics.before_apply(cmd)
        result = self.jobs.apply_decoded(index, cmd)
        metrics.after_apply(cmd, runs)
        return result

    def snapshot(self) -> bytes:
        return self.jobs.snapshot()

    def restore(self, data: bytes) -> None:
        self.proposed.clear()
        self.jobs.restore(data)


class MasterActor(RaftActor):
    peer_name = "master"

    def __init__(
        self,
        node_id: str,
        voters: Sequence[str],
        storage: Storage,
        config: RaftConfig,
        settings: MasterSettings,
        *,
        tick_s: float,
        snapshot_every: int = 10_000,
        jobs: JobStateMachine | None = None,
        metrics: MasterMetrics | None = None,
    ) -> None:
        """``jobs`` replaces the job table (the simulator passes one that reports to it)."""
        self.jobs = jobs or JobStateMachine(settings.backoff, dead_letter=settings.dead_letter)
        self.metrics = metrics
        self.job_log = _JobLog(self.jobs, metrics)
        self.seen_leader: str | None = None
        super().__init__(
            node_id,
            voters,
            storage,
            self.job_log,
            config,
            tick_s=tick_s,
            snapshot_every=snapshot_every,
        )
        self.settings = settings
        self.pool: WorkerPool | None = None
        # job ids proposed for assignment and not yet applied, and credits they hold
        self.assigning: set[str] = set()
        self.reserved: dict[str, int] = {}
        self.led_term = 0
        self.ticking = False

    async def on_start(self) -> None:
        if self.metrics is not None:
            self.metrics.attach(self)
        await super().on_start()
        self.ctx.every(self.settings.lease_s / 4, Maintain())

    # -- messages --------------------------------------------------------------------

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        if isinstance(msg, READS):
            return self._read(msg)
        if isinstance(msg, Linearizable):
            return self._linearizable(msg)
        if isinstance(msg, GetCluster):
            return self._cluster()
        if isinstance(msg, Maintain):
            self._maintain()
            return None
        if isinstance(msg, WRITES):
            if self.core.role is not Role.LEADER:
                return NotLeaderAnswer(self.core.leader)
            try:
                self._write(msg, self.ctx.defer_reply())
            except NotLeader as exc:
                return NotLeaderAnswer(exc.leader_hint)
            return None
        return await super().handle(msg, sender)

    def _write(self, msg: Message, reply: PendingReply) -> None:
        now = self.ctx.wall_time()
        if isinstance(msg, SubmitJobs):
            jobs = tuple(
                NewJob(
                    self._new_id(),
                    s.type,
                    s.payload,
                    s.priority,
                    s.max_retries,
                    s.timeout_s,
                    s.run_at,
                    s.idempotency_key,
                )
                for s in msg.jobs
            )
            self._propose(SubmitCmd(now, jobs), reply)
        elif isinstance(msg, CancelJob):
            self._cancel(msg.id, now, reply)
        elif isinstance(msg, RetryJob):
            self._propose(RetryCmd(now, msg.id), reply)
        elif isinstance(msg, WorkerHello):
            lease = now + self.settings.lease_s
            cmd = RegisterWorkerCmd(now, msg.worker, msg.capacity, msg.types, lease)
            welcome = Welcome(self.node_id, self.settings.lease_s, self.settings.heartbeat_s)
            self._propose(cmd, reply, answer=welcome)
            if msg.running:
                self._propose(RenewCmd(now, msg.worker, msg.running, lease), None)
        elif isinstance(msg, WorkerHeartbeat):
            self._heartbeat(msg, now, reply)
        elif isinstance(msg, ReportJobs):
            rng = self.ctx.rng
            items = tuple(
                ReportItem(r.job_id, r.attempt, r.ok, r.result, r.error, r.timed_out, rng.random())
                for r in msg.reports
            )
            self._propose(ReportCmd(now, msg.worker, items), reply, answer=Ack())
        elif isinstance(msg, WorkerBye):
            self._propose(DeregisterWorkerCmd(now, msg.worker), reply, answer=Ack())

    def _propose(
        self, cmd: Message, reply: PendingReply | None, *, answer: Message | None = None
    ) -> None:
        def done(outcome: Message) -> None:
            if reply is None:
                return
            if isinstance(outcome, NotLeaderReply):
                reply.resolve(NotLeaderAnswer(outcome.leader))
            elif isinstance(outcome, Committed):
                reply.resolve(answer if answer is not None else outcome.result)

        self._propose_cmd(cmd, done)

    def _propose_cmd(self, cmd: Message, done: Callable[[Message], None]) -> None:
        data = encode(cmd)
        index = self.propose(data, done)
        self.job_log.proposed[index] = (data, cmd)

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self.ctx.rng.getrandbits(128), version=4))

    def _heartbeat(self, msg: WorkerHeartbeat, now: float, reply: PendingReply) -> None:
        if self.jobs.worker(msg.worker) is None:
            reply.resolve(HeartbeatAck(False, ()))
            return
        lease = now + self.settings.lease_s

        def done(outcome: Message) -> None:
            if isinstance(outcome, NotLeaderReply):
                reply.resolve(NotLeaderAnswer(outcome.leader))
                return
            known = self.jobs.worker(msg.worker) is not None
            stale = tuple(r for r in msg.running if not self._current(r, msg.worker))
            reply.resolve(HeartbeatAck(known, stale))

        self._propose_cmd(RenewCmd(now, msg.worker, msg.running, lease), done)

    def _current(self, running: RunningJob, worker: str) -> bool:
        job = self.jobs.job(running.job_id)
        return (
            job is not None
            and job.status is Status.RUNNING
            and job.worker == worker
            and job.attempts == running.attempt
        )

    def _cancel(self, job_id: str, now: float, reply: PendingReply) -> None:
        job = self.jobs.job(job_id)
        was = (job.worker, job.attempts) if job and job.status is Status.RUNNING else None

        def done(outcome: Message) -> None:
            if isinstance(outcome, NotLeaderReply):
                reply.resolve(NotLeaderAnswer(outcome.leader))
                return
            assert isinstance(outcome, Committed)
            result = outcome.result
            if was is not None and isinstance(result, JobChanged) and not result.error:
                worker, attempt = was
                if worker is not None:
                    self.ctx.ref(worker, WORKER).try_send(CancelRunning(job_id, attempt))
            reply.resolve(result)

        self._propose_cmd(CancelCmd(now, job_id), done)

    # -- reads -----------------------------------------------------------------------

    def _read(self, msg: Message) -> Message:
        """Answer from this master's own table (the caller decides if stale is fine)."""
        if isinstance(msg, GetJob):
            job = self.jobs.job(msg.id)
            return JsonView(json.dumps(self.jobs.view(job)).encode() if job else b"")
        if isinstance(msg, ListJobs):
            return self._list(msg)
        if isinstance(msg, GetStats):
            return _json(self.jobs.stats_view())
        if isinstance(msg, GetWorkers):
            return _json({"workers": [self.jobs.worker_view(w) for w in self.jobs.workers()]})
        raise TypeError(f"not a read: {type(msg).__name__}")

    def _linearizable(self, msg: Linearizable) -> Message | None:
        if not isinstance(msg.read, READS):
            return Unavailable(f"{type(msg.read).__name__} is not a read")
        if self.core.role is not Role.LEADER:
            return NotLeaderAnswer(self.core.leader)
        reply = self.ctx.defer_reply()
        read = msg.read
        self.read_barrier(
            lambda ok: reply.resolve(self._read(read) if ok else NotLeaderAnswer(self.core.leader))
        )
        return None

    def _list(self, msg: ListJobs) -> Message:
        after = int(msg.cursor) if msg.cursor and msg.cursor.isdigit() else None
        page = self.jobs.list_jobs(msg.status, msg.type, msg.limit, after)
        cursor = str(page[-1].seq) if len(page) == msg.limit else None
        body = {"jobs": [self.jobs.view(job) for job in page], "cursor": cursor}
        return JsonView(json.dumps(body).encode())

    def _cluster(self) -> Message:
        core = self.core
        caught_up = core.leader is not None and self.applied >= core.commit
        body = {
            "node": self.node_id,
            "leader": core.leader,
            "term": core.term,
            "role": core.role.value,
            "masters": list(core.voters),
            "commit_index": core.commit,
            "applied_index": self.applied,
            "ready": caught_up,
        }
        return JsonView(json.dumps(body).encode())

    # -- the leader's scheduling -------------------------------------------------------

    async def on_drained(self) -> None:
        await super().on_drained()
        leader = self.core.leader
        if leader is not None and leader != self.seen_leader:
            if self.seen_leader is not None and self.metrics is not None:
                self.metrics.leader_changes.inc()
            self.seen_leader = leader
        if self.core.role is not Role.LEADER:
            if self.pool is not None:
                self.pool = None
                self.assigning.clear()
                self.reserved.clear()
                self.ticking = False
            return
        if self.pool is None or self.led_term != self.core.term:
            self._take_over()
        else:
            self._sync_pool()
        self._schedule()

    def _take_over(self) -> None:
        """A new term of leadership: rebuild the worker pool from the replicated table."""
        self.led_term = self.core.term
        self.pool = make_pool(self.settings.policy, self.ctx.rng)
        self.assigning.clear()
        self.reserved.clear()
        self._sync_pool()
        log.info("leading", extra={"node": self.node_id, "term": self.core.term})

    def _sync_pool(self) -> None:
        pool = self.pool
        assert pool is not None
        now = self.ctx.wall_time()
        for worker in self.jobs.workers():
            # a worker past its lease has stopped its jobs and refuses new ones, lost or not yet
            if worker.state.value == "lost" or worker.lease_until < now:
                if worker.id in pool:
                    pool.remove(worker.id)
                continue
            free = worker.capacity - len(worker.running) - self.reserved.get(worker.id, 0)
            if worker.id in pool:
                pool.set_free(worker.id, max(free, 0))
            else:
                pool.add(worker.id, worker.capacity, worker.types, max(free, 0))

    def _schedule(self) -> None:
        pool = self.pool
        assert pool is not None
        self._promote_delayed()
        free = pool.free_slots()
        if not free:
            return
        now = self.ctx.wall_time()
        limit = min(free, self.settings.max_assign_batch)
        due = self.jobs.due_jobs(pool.handled_types(), limit, self.assigning)
        if not due:
            return
        lease = now + self.settings.lease_s
        batch: list[AssignmentCmd] = []
        for job in due:
            worker = pool.choose(job.type)
            if worker is None:
                continue
            batch.append(AssignmentCmd(job.id, worker, job.attempts + 1, lease))
            self.reserved[worker] = self.reserved.get(worker, 0) + 1
        if not batch:
            return
        self.assigning.update(a.job_id for a in batch)
        self._propose_cmd(AssignCmd(now, tuple(batch)), lambda out: self._assigned(batch, out))

    def _promote_delayed(self) -> None:
        """Delayed jobs become due through the log: propose a tick when one's time has come."""
        run_at = self.jobs.next_run_at()
        now = self.ctx.wall_time()
        if run_at is None or run_at > now or self.ticking:
            return
        self.ticking = True

        def done(_: Message) -> None:
            self.ticking = False

        self._propose_cmd(TickCmd(now), done)

    def _assigned(self, batch: list[AssignmentCmd], outcome: Message) -> None:
        per_worker: dict[str, list[Assignment]] = {}
        for a in batch:
            self.assigning.discard(a.job_id)
            left = self.reserved.get(a.worker, 0) - 1
            if left > 0:
                self.reserved[a.worker] = left
            else:
                self.reserved.pop(a.worker, None)
            if not isinstance(outcome, Committed):
                continue
            job = self.jobs.job(a.job_id)
            if job is None or not self._current(RunningJob(a.job_id, a.attempt), a.worker):
                continue
            per_worker.setdefault(a.worker, []).append(
                Assignment(job.id, a.attempt, job.type, job.payload, job.timeout_s)
            )
        for worker, assignments in per_worker.items():
            self.ctx.ref(worker, WORKER).try_send(AssignJobs(tuple(assignments)))

    def _maintain(self) -> None:
        if self.core.role is not Role.LEADER:
            return
        now = self.ctx.wall_time()
        rng = self.ctx.rng
        for worker in self.jobs.workers():
            if worker.state.value != "lost" and worker.lease_until < now:
                jitters = tuple(rng.random() for _ in worker.running)
                log.warning("worker lost", extra={"worker": worker.id})
                self._propose(ExpireWorkerCmd(now, worker.id, jitters), None)
        expired = self.jobs.expired_leases(now)
        if expired:
            jitters = tuple(rng.random() for _ in expired)
            self._propose(ExpireLeasesCmd(now, tuple(expired), jitters), None)
