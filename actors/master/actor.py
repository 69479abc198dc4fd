"""The master: a Raft member whose state machine is the live job table; when leading, the
scheduler.

Every write (a submit, a worker's registration or report, a cancel, a
removal from the history) becomes a command in the replicated log and is
answered only once it is applied, so an acknowledgement means the change is
fsynced on a majority. Worker heartbeats are not writes: leases are the
leader's soft state (:mod:`actors.scheduler.leases`), and a heartbeat is
acknowledged once a ReadIndex round confirms this master still leads.

Memory holds live work; a job that reaches a final status goes to this
master's history store (:mod:`runtime.storage.history`), written from the
same log on every master. Reads find a job wherever it is: a page of jobs
merges live ones and finished ones by submission order.

On the leader, after each burst of messages, the scheduling step pops due
jobs in (priority, due time, sequence) order, picks a worker for each by the
configured policy, and proposes one ``AssignCmd`` for the whole batch. Credits
are taken from the worker pool when a job is chosen, so no worker is offered
more jobs than its free slots; the assignment is pushed to the worker once it
is committed, carrying its attempt number as the fencing token. The leader
also proposes retention (removing finished jobs past their time or beyond
the cap) with its clock, so every master removes the same records.

Every write is answered, whatever happens to the leader meanwhile: applied
(the result), lost to another leader's entry at its index (``NotLeader``, so
the gateway may send it again), or in doubt (``InDoubt``: this master
stopped leading, or could not write its log, before it committed; it may
still apply). A leader whose disk is full takes no new write (``DiskFull``,
which the gateway turns into a 507) and keeps answering reads and
``GetCluster``; it falls silent to its peers until it can write again, so
another master takes over the leadership.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence

import attrs
import trio

from actors.master.assign_traces import traced_assignments
from actors.master.control import ControlRequest, control_answer, control_command
from actors.master.event_feed import EventFeed, EventsOf, OpenEvents
from actors.master.metrics import MasterMetrics
from actors.master.parents import (
    CHILDREN_SHOWN,
    LOOKUPS,
    Linked,
    children_view,
    has_parents,
    link,
    retried_parents,
)
from actors.raft.core import NotLeader, RaftConfig
from actors.raft.replica import Committed, InDoubtReply, NotLeaderReply, Replica, Wake
from actors.scheduler import snapshot_codec
from actors.scheduler.backoff import Backoff
from actors.scheduler.control_views import control_stats, limits_view
from actors.scheduler.dispatch import Dispatcher
from actors.scheduler.leases import Leases
from actors.scheduler.lifecycle import JobStatus as Status
from actors.scheduler.lifecycle import WorkerState
from actors.scheduler.records import same_body
from actors.scheduler.schedule_firing import ScheduleFiring
from actors.scheduler.schedule_views import schedules_read
from actors.scheduler.state import KEY_WINDOW, JobStateMachine
from actors.scheduler.views import job_view, record_view, stats_view, worker_view
from runtime.actor import Actor, ActorRef, PendingReply
from runtime.storage import Storage
from runtime.storage.history import History, Link, pack_row
from runtime.storage.history import Remove as RemoveRecord
from runtime.tracing import TRACING, now_ns
from transport.cluster import (
    READS,
    AssignJobs,
    CancelJob,
    CancelRunning,
    DeleteJob,
    DiskFull,
    GetCluster,
    GetJob,
    GetJobs,
    GetStats,
    GetWorkers,
    HeartbeatAck,
    InDoubt,
    JobChanged,
    JobSpec,
    JsonView,
    Linearizable,
    ListJobs,
    PurgeJobs,
    Rejected,
    Removed,
    ReportJobs,
    RetryJob,
    RunningJob,
    SubmitJobs,
    Submitted,
    Unavailable,
    Welcome,
    WorkerBye,
    WorkerHeartbeat,
    WorkerHello,
)
from transport.cluster import JobStatus as StatusOf
from transport.cluster import NotLeader as NotLeaderAnswer
from transport.codec import Message, decode, encode
from transport.commands import (
    AssignCmd,
    CancelCmd,
    DeleteCmd,
    DeregisterWorkerCmd,
    NewJob,
    PurgeCmd,
    RegisterWorkerCmd,
    ReportCmd,
    ReportItem,
    RetainCmd,
    RetryCmd,
    SetRetentionCmd,
    SubmitCmd,
)
from transport.envelope import Ack
from transport.parents import ParentsMissing
from transport.progress import JobProgress, SoftEvents
from transport.queue_control import CONTROL_WRITES, GetLimits
from transport.raft import Snapshot
from transport.records import JobQuery, JobRecord
from transport.schedule_requests import SCHEDULE_READS, SCHEDULE_WRITES, to_command

log = logging.getLogger("podium.master")

__all__ = ["MasterActor", "MasterSettings", "encode_cursor"]

WORKER = "worker"


@attrs.frozen
class MasterSettings:
    policy: str = "capacity_aware"
    lease_s: float = 10.0
    heartbeat_s: float = 1.0
    max_assign_batch: int = 1024
    backoff: Backoff = attrs.Factory(Backoff)
    dead_letter: bool = True
    # the retention policy this master proposes when it leads
    keep_finished_s: float = 86_400.0
    max_finished: int = 10_000_000
    retention_check_s: float = 1.0
    # how often the leader looks for due schedule ticks (how late a tick may fire)
    schedule_check_s: float = 0.1
    # events kept for GET /api/v1/events to resume from (http.events_retained)
    events_retained: int = 10_000


@attrs.frozen
class Maintain(Message):
    """Local only: look for expired leases and silent workers."""


@attrs.frozen
class CheckRetention(Message):
    """Local only: propose removing what the retention policy no longer keeps."""


@attrs.frozen
class FireSchedules(Message):
    """Local only: propose the schedule ticks that are due."""


def _json(body: object) -> JsonView:
    return JsonView(json.dumps(body).encode())


def encode_cursor(seq: int) -> str:
    """The opaque cursor of a page that ended at ``seq`` (the gateway decodes it)."""
    return f"s{seq:x}"


WRITES = (
    SubmitJobs,
    CancelJob,
    RetryJob,
    DeleteJob,
    PurgeJobs,
    WorkerHello,
    WorkerHeartbeat,
    ReportJobs,
    WorkerBye,
    *CONTROL_WRITES,
    *SCHEDULE_WRITES,
)
# what a master answers from its own state: the job reads, and the schedule reads
_READS = (*READS, *SCHEDULE_READS)
_ACK = Ack()


class _JobLog:
    """The live job table and the history together, as Raft's state machine.

    Entries this master proposed are applied from the command objects it
    encoded rather than decoded back from bytes: on the leader that is every
    entry, and decoding was its largest single cost. The bytes are compared
    first, so an index that another leader filled differently is decoded.
    """

    def __init__(
        self,
        jobs: JobStateMachine,
        history: History,
        metrics: MasterMetrics | None,
        feed: EventFeed,
    ) -> None:
        self.jobs = jobs
        self.history = history
        self.metrics = metrics
        self.feed = feed
        self.proposed: dict[int, tuple[bytes, Message]] = {}
        # index -> who waits for the number of records a removal of ours took
        self.removals: dict[int, Callable[[int], None]] = {}

    def apply(self, index: int, data: bytes) -> Message | None:
        mine = self.proposed.pop(index, None)
        waiter = self.removals.pop(index, None)
        # bytes equality checks identity first, so this is free on the leader
        ours = mine is not None and mine[0] == data
        cmd = mine[1] if mine is not None and ours else decode(data)
        metrics = self.metrics
        before = self.feed.before(self.jobs, cmd)
        if metrics is None:
            result = self.jobs.apply_decoded(index, cmd)
        else:
            runs = metrics.before_apply(cmd)
            result = self.jobs.apply_decoded(index, cmd)
            metrics.after_apply(cmd, runs)
        self.feed.after(index, cmd, result, self.jobs, before)
        self._to_history(index, cmd, result, waiter if ours else None)
        return result

    def _to_history(
        self, index: int, cmd: Message, result: Message | None, waiter: Callable[[int], None] | None
    ) -> None:
        history = self.history
        jobs = self.jobs
        # with keep_finished_s = 0 the jobs that left have had their events, and no records
        left = jobs.take_finished() if jobs.finished else ()
        if left and jobs.retention.keep_finished_s > 0:
            for finished_index, job in left:
                history.record(finished_index, pack_row(job, job.status._value_, finished_index))
                if job.options is not None and job.options.depends_on:
                    history.record(finished_index, Link(job.seq, job.id, job.options.depends_on))
        if jobs.revived:
            for job_id in jobs.take_revived():
                history.record(index, RemoveRecord(job_id))
        if isinstance(cmd, DeleteCmd) and result is None:
            history.record(index, RemoveRecord(cmd.job_id), waiter)
        elif isinstance(cmd, PurgeCmd):
            history.record(index, cmd, waiter)
        elif isinstance(cmd, RetainCmd):
            history.record(index, cmd)

    def snapshot_pieces(self) -> Iterable[bytes]:
        return snapshot_codec.encode_pieces(self.jobs)

    def restore(self, data: bytes) -> None:
        self.proposed.clear()
        snapshot_codec.restore(self.jobs, data)

    async def persist(self, index: int) -> None:
        await self.history.persist(index)

    def export_extra(self, index: int) -> AsyncIterator[bytes]:
        return self.history.export(index)

    async def begin_install(self, index: int) -> None:
        await self.history.begin_install()

    async def receive_extra(self, data: bytes) -> None:
        await self.history.receive(data)

    async def install(self, snapshot: Snapshot) -> None:
        self.proposed.clear()
        self.removals.clear()
        await self.history.finish_install(snapshot.index)
        for _ in snapshot_codec.restore_steps(self.jobs, snapshot.data):
            await trio.sleep(0)
        self.feed.restarted(snapshot.index, self.jobs)


class MasterActor(Actor):
    """The master's messages around a composed Raft replica (``self.raft``), whose
    propose, read barrier, leadership and term are all the master uses of Raft."""

    mailbox_size = 8192

    def __init__(
        self,
        node_id: str,
        voters: Sequence[str],
        storage: Storage,
        history: History,
        config: RaftConfig,
        settings: MasterSettings,
        *,
        tick_s: float,
        snapshot_every: int = 10_000,
        snapshot_bytes: int = 16 << 20,
        jobs: JobStateMachine | None = None,
        metrics: MasterMetrics | None = None,
    ) -> None:
        """``jobs`` replaces the job table (the simulator passes one that reports to it)."""
        self.jobs = jobs or JobStateMachine(settings.backoff, dead_letter=settings.dead_letter)
        self.history = history
        self.metrics = metrics
        self.feed = EventFeed(settings.events_retained)
        self.job_log = _JobLog(self.jobs, history, metrics, self.feed)
        self.seen_leader: str | None = None
        self.node_id = node_id
        self.raft = Replica(
            node_id,
            voters,
            storage,
            self.job_log,
            config,
            peer_name="master",
            tick_s=tick_s,
            snapshot_every=snapshot_every,
            snapshot_bytes=snapshot_bytes,
            after_apply=history.advance,
        )
        self.settings = settings
        self.leases = Leases(settings.lease_s)
        self.dispatch = Dispatcher(
            self.jobs,
            self.leases,
            policy=settings.policy,
            lease_s=settings.lease_s,
            max_batch=settings.max_assign_batch,
        )
        # job ids whose retry is on its way (a second one waits for the first)
        self.retrying: set[str] = set()
        # answers to heartbeats (and repeated hellos) waiting for this drain's ReadIndex round
        self.beats: list[tuple[PendingReply, Message]] = []
        self.heartbeats_answered = 0
        # types whose pending jobs no worker handles, already warned about
        self.unserved_warned: set[str] = set()
        self.retaining = False
        self.firing = ScheduleFiring(lambda: self.jobs.schedules)

    async def on_start(self) -> None:
        if self.metrics is not None:
            self.metrics.attach(self)
        await self.history.open()
        await self.ctx.nursery.start(self.history.run)
        await self.raft.start(self.ctx)
        if self.raft.core.log.offset > self.history.recovered:
            raise RuntimeError(
                f"the history holds entries up to {self.history.recovered}, behind the "
                f"snapshot at {self.raft.core.log.offset}: the data directory is damaged"
            )
        self.feed.ring.starts_after(self.raft.core.log.offset)
        self.ctx.every(self.settings.lease_s / 4, Maintain())
        self.ctx.every(self.settings.retention_check_s, CheckRetention())
        self.ctx.every(self.settings.schedule_check_s, FireSchedules())

    async def on_stop(self) -> None:
        self.feed.ring.close()
        await self.history.close()

    # -- messages --------------------------------------------------------------------

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        if isinstance(msg, _READS):
            self._read(msg, self.ctx.defer_reply())
            return None
        if isinstance(msg, Linearizable):
            return self._linearizable(msg)
        if isinstance(msg, GetCluster):
            return self._cluster()
        if isinstance(msg, OpenEvents):
            return EventsOf(self.feed)
        if isinstance(msg, SoftEvents):
            self._soft_events(msg)
            return None
        if isinstance(msg, Maintain):
            self._maintain()
            return None
        if isinstance(msg, FireSchedules):
            self._fire_schedules()
            return None
        if isinstance(msg, CheckRetention):
            if self.raft.is_leader and self.dispatch.leading and not self.retaining:
                self.retaining = True
                self.ctx.nursery.start_soon(self._retention, self.ctx.wall_time())
            return None
        if isinstance(msg, WRITES):
            if not self.raft.is_leader:
                return NotLeaderAnswer(self.raft.leader)
            full = self.disk_full
            if full is not None:
                return DiskFull(f"disk full on {self.node_id}: {full}")
            try:
                self._write(msg, self.ctx.defer_reply())
            except NotLeader as exc:
                return NotLeaderAnswer(exc.leader_hint)
            return None
        return await self.raft.handle(msg)

    def _write(self, msg: Message, reply: PendingReply) -> None:
        now = self.ctx.wall_time()
        if isinstance(msg, SubmitJobs):
            if has_parents(msg.jobs) or (
                not msg.fresh and any(s.idempotency_key is not None for s in msg.jobs)
            ):
                self._spawn(self._submit_keyed(msg, reply), reply)
            else:
                self._propose(SubmitCmd(now, self._new_jobs(msg)), reply)
        elif isinstance(msg, CancelJob):
            self._cancel(msg.id, now, reply)
        elif isinstance(msg, RetryJob):
            self._spawn(self._retry(msg.id, reply), reply)
        elif isinstance(msg, DeleteJob):
            self._spawn(self._delete(msg.id, reply), reply)
        elif isinstance(msg, PurgeJobs):
            self._remove(PurgeCmd(now, msg.statuses, msg.type, msg.before), reply)
        elif isinstance(msg, WorkerHello):
            self._hello(msg, now, reply)
        elif isinstance(msg, WorkerHeartbeat):
            self._heartbeat(msg, now, reply)
        elif isinstance(msg, ReportJobs):
            self._report(msg, now, reply)
        elif isinstance(msg, WorkerBye):
            self.leases.forget_worker(msg.worker)
            bye = DeregisterWorkerCmd(now, msg.worker, msg.unstarted)
            self._propose(bye, reply, answer=_ACK)
        elif isinstance(msg, CONTROL_WRITES):
            self._control(msg, now, reply)
        elif isinstance(msg, SCHEDULE_WRITES):
            self._propose(to_command(msg, now), reply)

    @property
    def disk_full(self) -> str | None:
        """Why this master cannot write its data directory now (its Raft log or its
        history), or None."""
        return self.raft.storage_full or self.history.full

    def _new_jobs(self, msg: SubmitJobs) -> tuple[NewJob, ...]:
        millis = int(self.ctx.wall_time() * 1000) & ((1 << 48) - 1)
        return tuple(
            NewJob(
                self._new_id(millis),
                s.type,
                s.payload,
                s.priority,
                s.max_retries,
                s.timeout_s,
                s.run_at,
                s.idempotency_key,
                s.options,
            )
            for s in msg.jobs
        )

    def _propose(
        self,
        cmd: Message,
        reply: PendingReply | None,
        *,
        answer: Message | None = None,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Propose ``cmd``; once applied (or lost) run ``then``, and answer ``reply`` with
        ``answer``, or what applying returned. If it cannot be proposed (NotLeader),
        ``then`` runs before the error goes up."""

        def done(outcome: Message) -> None:
            if then is not None:
                then()
            if reply is None:
                return
            committed = self._committed(outcome, reply)
            if committed is not None:
                reply.resolve(answer if answer is not None else committed.result)

        try:
            self._propose_cmd(cmd, done)
        except NotLeader:
            if then is not None:
                then()
            raise

    def _in_doubt(self, outcome: InDoubtReply) -> InDoubt:
        return InDoubt(
            f"master {self.node_id} took the request but {outcome.reason}; "
            "the request may still apply"
        )

    def _committed(self, outcome: Message, reply: PendingReply) -> Committed | None:
        """The proposal's commit, or None once ``reply`` has been told why there is none
        (this master is not the leader, or cannot tell whether it applied)."""
        if isinstance(outcome, NotLeaderReply):
            reply.resolve(NotLeaderAnswer(outcome.leader))
        elif isinstance(outcome, InDoubtReply):
            reply.resolve(self._in_doubt(outcome))
        elif isinstance(outcome, Committed):
            return outcome
        return None

    def _propose_cmd(self, cmd: Message, done: Callable[[Message], None]) -> int:
        data = encode(cmd)
        index = self.raft.propose(data, done)
        self.job_log.proposed[index] = (data, cmd)
        return index

    def _new_id(self, millis: int) -> str:
        """A UUID whose first 48 bits are the leader's wall time in milliseconds (as in
        UUIDv7), so ids sort roughly by creation and index well in the history."""
        return str(uuid.UUID(int=(millis << 80) | self.ctx.rng.getrandbits(80), version=4))

    # -- writes that need the history first ------------------------------------------------

    def _spawn(self, work: Awaitable[None], reply: PendingReply) -> None:
        """Run ``work`` beside the mailbox (it waits on the history); a proposal it makes
        wakes the actor so the Ready goes out at once."""

        async def run() -> None:
            try:
                await work
            except NotLeader as exc:
                reply.resolve(NotLeaderAnswer(exc.leader_hint))
            self.ctx.self_ref.try_send(Wake())

        self.ctx.nursery.start_soon(run)

    async def _settled(self) -> bool:
        """Whether this master leads and has applied everything committed before its term
        (a ReadIndex round while it has not yet applied an entry of its own term)."""
        if not self.raft.is_leader:
            return False
        if self.raft.applied_own_term:
            return True
        confirmed = trio.Event()
        outcome = [False]

        def done(ok: bool) -> None:
            outcome[0] = ok
            confirmed.set()

        self.raft.read_barrier(done)
        self.ctx.self_ref.try_send(Wake())
        await confirmed.wait()
        return outcome[0]

    async def _submit_keyed(self, msg: SubmitJobs, reply: PendingReply, lookups: int = 1) -> None:
        """Jobs with idempotency keys, or with parents: a key whose job is in the history
        answers with that job; the rest are proposed, with refs resolved and final parents
        written in (:mod:`actors.master.parents`). The live table catches keys of jobs that
        finish between the lookup and the apply (see :data:`KEY_WINDOW`), and refuses a
        submit whose parents finished meanwhile: then this looks again."""
        keys = _keys(msg)
        while True:
            if not await self._settled():
                reply.resolve(NotLeaderAnswer(self.raft.leader))
                return
            found = await self.history.by_keys(keys)
            fresh = [s for s in msg.jobs if s.idempotency_key not in found]
            jobs = self._new_jobs(SubmitJobs(tuple(fresh)))
            linked: Linked | Rejected = (jobs, ())
            if has_parents(fresh):
                linked = await link(msg.jobs, jobs, found, self.jobs, self.history)
            if self.raft.unapplied + 1 <= KEY_WINDOW // 2:
                break
        if isinstance(linked, Rejected):
            reply.resolve(linked)
            return
        if not fresh:
            # every job has a key here, and the history holds each
            answers = (_status(found[k], s) for s in msg.jobs if (k := s.idempotency_key))
            reply.resolve(Submitted(tuple(answers)))
            return
        cmd = SubmitCmd(self.ctx.wall_time(), *linked)

        def done(outcome: Message) -> None:
            committed = self._committed(outcome, reply)
            if committed is None:
                return
            if isinstance(committed.result, ParentsMissing):
                if lookups >= LOOKUPS:
                    reply.resolve(Unavailable("the jobs' parents kept changing; submit again"))
                else:
                    self._spawn(self._submit_keyed(msg, reply, lookups + 1), reply)
                return
            assert isinstance(committed.result, Submitted)
            made = iter(committed.result.jobs)
            reply.resolve(
                Submitted(
                    tuple(
                        _status(found[s.idempotency_key], s)
                        if s.idempotency_key in found
                        else next(made)
                        for s in msg.jobs
                    )
                )
            )

        self._propose_cmd(cmd, done)

    def _cancel(self, job_id: str, now: float, reply: PendingReply) -> None:
        job = self.jobs.job(job_id)
        if job is None:
            self._spawn(self._cancel_final(job_id, reply), reply)
            return
        running = (
            (job.worker, job.attempts) if job.status is Status.RUNNING and job.worker else None
        )

        def done(outcome: Message) -> None:
            committed = self._committed(outcome, reply)
            if committed is None:
                return
            assert isinstance(committed.result, JobChanged)
            result = committed.result
            if result.not_found:  # it finished before the cancel applied
                self._spawn(self._cancel_final(job_id, reply), reply)
                return
            if running is not None:
                worker, attempt = running
                self.ctx.ref(worker, WORKER).try_send(CancelRunning(job_id, attempt))
            reply.resolve(result)

        self._propose_cmd(CancelCmd(now, job_id), done)

    def _control(self, msg: ControlRequest, now: float, reply: PendingReply) -> None:
        """A limit, a pause or a bulk cancel; the running jobs a bulk cancel took are
        stopped on their workers once it is committed, as a single cancel's is."""

        def done(outcome: Message) -> None:
            committed = self._committed(outcome, reply)
            if committed is not None:
                answer, stops = control_answer(
                    msg, committed.result, self.jobs, self.ctx.wall_time()
                )
                for worker, stop in stops:
                    self.ctx.ref(worker, WORKER).try_send(stop)
                reply.resolve(answer)

        self._propose_cmd(control_command(msg, now), done)

    async def _cancel_final(self, job_id: str, reply: PendingReply) -> None:
        if not await self._settled():
            reply.resolve(NotLeaderAnswer(self.raft.leader))
            return
        job = self.jobs.job(job_id)
        if job is not None:  # live after all (a retry, or a submit older than our term)
            self._cancel(job_id, self.ctx.wall_time(), reply)
            return
        record = await self.history.get(job_id)
        if record is None:
            reply.resolve(JobChanged(job_id, "", "", True))
        else:
            reply.resolve(
                JobChanged(job_id, record.status, f"job is already {record.status}", False)
            )

    async def _retry(self, job_id: str, reply: PendingReply) -> None:
        if job_id in self.retrying:
            reply.resolve(JobChanged(job_id, "", "a retry of this job is already under way", False))
            return
        self.retrying.add(job_id)
        try:
            if not await self._settled():
                reply.resolve(NotLeaderAnswer(self.raft.leader))
                self.retrying.discard(job_id)
                return
            record = None if self.jobs.job(job_id) else await self.history.get(job_id)
            parents = await retried_parents(record, self.jobs, self.history)
        except BaseException:
            self.retrying.discard(job_id)
            raise

        self._propose(
            RetryCmd(self.ctx.wall_time(), job_id, record, parents),
            reply,
            then=lambda: self.retrying.discard(job_id),
        )

    async def _delete(self, job_id: str, reply: PendingReply) -> None:
        if not await self._settled():
            reply.resolve(NotLeaderAnswer(self.raft.leader))
            return
        job = self.jobs.job(job_id)
        if job is None and await self.history.get(job_id) is None:
            reply.resolve(Removed(0, "", True))
            return
        self._remove(DeleteCmd(self.ctx.wall_time(), job_id), reply)

    def _remove(self, cmd: DeleteCmd | PurgeCmd, reply: PendingReply) -> None:
        """Propose a removal from the history; the answer is the number of records it
        took, known once this master's history has written it."""

        def done(outcome: Message) -> None:
            committed = self._committed(outcome, reply)
            if committed is not None and isinstance(committed.result, JobChanged):
                reply.resolve(Removed(0, committed.result.error, False))

        index = self._propose_cmd(cmd, done)
        deleting_one = isinstance(cmd, DeleteCmd)
        self.job_log.removals[index] = lambda n: reply.resolve(
            Removed(n, "", deleting_one and n == 0)
        )

    # -- workers -----------------------------------------------------------------------

    def _hello(self, msg: WorkerHello, now: float, reply: PendingReply) -> None:
        leases = self.leases
        worker = msg.worker
        welcome = Welcome(
            self.node_id,
            self.settings.lease_s,
            self.settings.heartbeat_s,
            self.raft.term,
            leases.registration(worker),
        )
        trusted = leases.hello(
            worker, now, self._current(worker, msg.running), draining=msg.draining
        )
        known = self.jobs.worker(worker)
        if (
            trusted
            and known is not None
            and known.state is not WorkerState.LOST
            and (known.capacity, known.types, known.prefetch)
            == (msg.capacity, msg.types, msg.prefetch)
        ):
            # a worker saying hello again (it lost touch for a moment): nothing in the
            # table changes, so no log write, only the leadership check a heartbeat gets
            self.beats.append((reply, welcome))
            return

        def registered(outcome: Message) -> None:
            committed = self._committed(outcome, reply)
            if committed is None:
                return
            leases.registration_applied(
                worker,
                committed.index,
                self.ctx.wall_time(),
                self._current(worker, msg.running),
                draining=msg.draining,
                waited=not trusted,
            )
            reply.resolve(attrs.evolve(welcome, registered=committed.index))

        cmd = RegisterWorkerCmd(now, worker, msg.capacity, msg.types, msg.prefetch)
        self._propose_cmd(cmd, registered)

    def _report(self, msg: ReportJobs, now: float, reply: PendingReply) -> None:
        """Propose the outcomes; the slots they free are offered again before the report
        is applied, so the next assignment goes out in the same log write."""
        rng = self.ctx.rng
        items = tuple(
            ReportItem(
                r.job_id,
                r.attempt,
                r.ok,
                r.result,
                r.error,
                r.timed_out,
                rng.random(),
                r.started,
                r.permanent,
            )
            for r in msg.reports
        )
        is_current = self.jobs.is_current
        freed = self.dispatch.reported(
            msg.worker,
            (r.job_id for r in msg.reports if is_current(r.job_id, r.attempt, msg.worker)),
        )
        self._propose(
            ReportCmd(now, msg.worker, items),
            reply,
            answer=_ACK,
            then=lambda: self.dispatch.report_applied(msg.worker, freed),
        )

    def _heartbeat(self, msg: WorkerHeartbeat, now: float, reply: PendingReply) -> None:
        """Renew the worker's lease in memory, from when the heartbeat arrived; answer once
        this drain's ReadIndex round confirms the lease was granted by the leader."""
        worker = self.jobs.worker(msg.worker)
        if worker is None or worker.state is WorkerState.LOST or self.leases.is_expiring(worker.id):
            reply.resolve(HeartbeatAck(False, (), self.raft.term))
            return
        if msg.draining and not self.leases.is_draining(msg.worker):
            self.feed.draining(msg.worker, now)
            self._relay(SoftEvents(now, (), (msg.worker,)))
        self.leases.heard_from(msg.worker, now, draining=msg.draining)
        current = self._current(msg.worker, msg.running)
        self.leases.renew_jobs(current, now)
        if msg.progress:
            self._progress(msg.progress, msg.worker, now)
        stale = tuple(r for r in msg.running if r not in current)
        self.beats.append((reply, HeartbeatAck(True, stale, self.raft.term)))

    def _progress(self, notes: tuple[JobProgress, ...], worker: str, now: float) -> None:
        """Keep the progress of ``worker``'s live runs; tell the other masters what
        changed."""
        changed = self.feed.progressed(notes, now, self.jobs, worker)
        if changed:
            self._relay(SoftEvents(now, tuple(changed)))

    def _relay(self, msg: SoftEvents) -> None:
        for peer in self.raft.voters:
            if peer != self.node_id:
                self.ctx.ref(peer, "master").try_send(msg)

    def _soft_events(self, msg: SoftEvents) -> None:
        """The leader's progress and draining news (a master that leads itself keeps its
        own: a deposed leader's late news would only go back)."""
        if self.raft.is_leader:
            return
        self.feed.progressed(msg.progress, msg.now, self.jobs)
        for worker in msg.draining:
            self.feed.draining(worker, msg.now)

    def _current(self, worker: str, running: Iterable[RunningJob]) -> list[RunningJob]:
        """The attempts ``worker`` says it runs that are the live run of their job."""
        is_current = self.jobs.is_current
        return [r for r in running if is_current(r.job_id, r.attempt, worker)]

    def _confirm_beats(self) -> None:
        beats, self.beats = self.beats, []

        def done(ok: bool) -> None:
            for reply, ack in beats:
                reply.resolve(ack if ok else NotLeaderAnswer(self.raft.leader))
            if ok:
                self.heartbeats_answered += len(beats)

        try:
            self.raft.read_barrier(done)
        except NotLeader as exc:
            for reply, _ in beats:
                reply.resolve(NotLeaderAnswer(exc.leader_hint))

    # -- reads -----------------------------------------------------------------------

    def _read(self, msg: Message, reply: PendingReply) -> None:
        """Answer from this master's own state (the caller decides if stale is fine)."""
        if isinstance(msg, GetJob):
            self._spawn(self._get_one(msg.id, reply), reply)
        elif isinstance(msg, GetJobs):
            self._spawn(self._get_many(msg, reply), reply)
        elif isinstance(msg, ListJobs):
            self._spawn(self._list(msg, reply), reply)
        elif isinstance(msg, GetStats):
            body = stats_view(self.jobs)
            body["history_jobs"] = self.history.rows
            body.update(control_stats(self.jobs, self.ctx.wall_time()))
            reply.resolve(_json(body))
        elif isinstance(msg, GetLimits):
            reply.resolve(_json(limits_view(self.jobs, self.ctx.wall_time())))
        elif isinstance(msg, GetWorkers):
            leading = self.raft.is_leader
            views = [
                worker_view(
                    w,
                    self.leases.last_heard(w.id) if leading else None,
                    self.leases.deadline(w.id) if leading else None,
                    draining=leading and self.leases.is_draining(w.id),
                )
                for w in self.jobs.workers()
            ]
            reply.resolve(_json({"workers": views}))
        elif isinstance(msg, SCHEDULE_READS):
            reply.resolve(JsonView(schedules_read(msg, self.jobs.schedules, self.ctx.wall_time())))
        else:
            raise TypeError(f"not a read: {type(msg).__name__}")

    async def _get_one(self, job_id: str, reply: PendingReply) -> None:
        """One job, live or final, with its ``children``: the final ones from the history,
        the live ones from memory, the first :data:`~actors.master.parents.CHILDREN_SHOWN`."""
        done = await self.history.children(job_id, CHILDREN_SHOWN)
        job = self.jobs.job(job_id)
        record = None
        if job is None:
            record = await self.history.get(job_id)
            job = self.jobs.job(job_id)  # it may have been retried meanwhile
        # no await from here on: the job and its live children as of this instant
        if job is not None:
            view = job_view(job, self.jobs)
            view.update(self.feed.progress_view(job.id, job.attempts))
        elif record is not None:
            view = record_view(record)
        else:
            reply.resolve(JsonView(b""))
            return
        view["children"] = children_view(self.jobs.deps.children.get(job_id, {}), done)
        reply.resolve(_json(view))

    async def _get_many(self, msg: GetJobs, reply: PendingReply) -> None:
        """``{"jobs": [...], "missing": [...]}`` in the order asked: live jobs from memory, the
        rest from the history. A job that finishes while others are looked up is looked up
        in its turn, so none is reported missing on its way from memory to the history."""
        wanted = list(dict.fromkeys(msg.ids))
        looked_up: set[str] = set()
        found: dict[str, JobRecord] = {}
        while todo := [i for i in wanted if i not in looked_up and self.jobs.job(i) is None]:
            found.update(await self.history.get_many(todo))
            looked_up.update(todo)
        # no await from here on: live jobs (a retried one is live again) as of this instant
        jobs: list[dict[str, object]] = []
        missing: list[str] = []
        for job_id in wanted:
            job = self.jobs.job(job_id)
            record = found.get(job_id)
            if job is not None:
                view = job_view(job, self.jobs)
                view.update(self.feed.progress_view(job.id, job.attempts))
            elif record is not None:
                view = record_view(record)
            else:
                missing.append(job_id)
                continue
            if msg.owner is not None and view.get("owner") != msg.owner:
                missing.append(job_id)
            else:
                jobs.append(view)
        reply.resolve(_json({"jobs": jobs, "missing": missing}))

    async def _list(self, msg: ListJobs, reply: PendingReply) -> None:
        query = JobQuery(
            msg.status,
            msg.type,
            msg.since,
            msg.until,
            msg.after_seq,
            msg.ascending,
            msg.limit,
            msg.owner,
        )
        rows, more = await self.history.query(query)
        # no await from here on: the live page is taken at the instant the history's is
        live = self.jobs.live_page(query)
        records = [*rows, *(job.record(0) for job in live)]
        records.sort(key=_seq_of, reverse=not msg.ascending)
        page = records[: msg.limit]
        more = more or len(live) >= msg.limit or len(records) > msg.limit
        cursor = encode_cursor(page[-1].seq) if more and page else None
        body = {"jobs": [record_view(r) for r in page], "cursor": cursor}
        reply.resolve(JsonView(json.dumps(body).encode()))

    def _linearizable(self, msg: Linearizable) -> Message | None:
        if not isinstance(msg.read, _READS):
            return Unavailable(f"{type(msg.read).__name__} is not a read")
        if not self.raft.is_leader:
            return NotLeaderAnswer(self.raft.leader)
        reply = self.ctx.defer_reply()
        read = msg.read

        def done(ok: bool) -> None:
            if ok:
                self._read(read, reply)
            else:
                reply.resolve(NotLeaderAnswer(self.raft.leader))

        self.raft.read_barrier(done)
        return None

    def _cluster(self) -> Message:
        """This master's view; a full disk makes it not ready, and says so."""
        status = {"node": self.node_id, **self.raft.status()}
        full = self.disk_full
        status["disk_full"] = full
        if full is not None:
            status["ready"] = False
        return _json(status)

    # -- the leader's scheduling -------------------------------------------------------

    async def on_drained(self) -> None:
        leading = self.raft.is_leader
        if self.beats and leading:
            self._confirm_beats()
        if leading and self.dispatch.freeing and self.dispatch.term == self.raft.term:
            # before the Ready: assignments into slots that reports just freed share
            # the reports' log write (with nothing freed, the plan after the Ready finds the same)
            self._dispatch(wake=False)
        await self.raft.drained()
        if self.history.congested:
            await self.history.wait_flushed()
        leader = self.raft.leader
        if leader is not None and leader != self.seen_leader:
            if self.seen_leader is not None and self.metrics is not None:
                self.metrics.leader_changes.inc()
            self.seen_leader = leader
            self.feed.leader_changed(leader, self.raft.term, self.ctx.wall_time())
        if not self.raft.is_leader:
            if self.dispatch.leading:
                self.dispatch.step_down()
                self.feed.progress.clear()
                self.firing.step_down()
                self.retaining = False
            for reply, _ in self.beats:
                reply.resolve(NotLeaderAnswer(self.raft.leader))
            self.beats.clear()
            return
        if self.dispatch.term != self.raft.term:
            self._take_over()
        if self.raft.storage_full is None:
            self._dispatch()  # while the disk is full, nothing proposed could be kept

    def _take_over(self) -> None:
        """A new term of leadership: a fresh pool, a full lease for every worker."""
        now = self.ctx.wall_time()
        self.dispatch.take_over(self.raft.term, now, self.ctx.rng)
        wanted = (self.settings.keep_finished_s, self.settings.max_finished)
        policy = self.jobs.retention
        if (policy.keep_finished_s, policy.max_finished) != wanted:
            self._propose(SetRetentionCmd(now, *wanted), None)
        log.info("leading", extra={"node": self.node_id, "term": self.raft.term})

    def _dispatch(self, *, wake: bool = True) -> None:
        """Propose what the dispatcher plans. With ``wake`` the Ready goes out in the
        next turn (a ``Wake`` behind the messages already queued), so no job waits for
        a timer."""
        dispatch = self.dispatch
        plan = dispatch.plan(self.ctx.wall_time())
        if plan.tick is not None:
            self._propose_cmd(plan.tick, lambda _: dispatch.ticked())
        assign = plan.assign
        if assign is not None:
            term = dispatch.term
            began = now_ns() if TRACING.on else 0  # the assign spans' start
            self._propose_cmd(assign, lambda out: self._assigned(assign, out, term, began))
        if wake and (plan.tick is not None or assign is not None):
            self.ctx.self_ref.try_send(Wake())

    def _assigned(self, cmd: AssignCmd, outcome: Message, term: int, began: int) -> None:
        """Send what committed, stamped with the term it was proposed in and the index it
        committed at: this master may have been paused and deposed since (workers refuse
        an older term's work), or have declared the worker lost meanwhile (a worker that
        registered again refuses work from before). With tracing on, traced jobs get
        their assign spans (from ``began``) here."""
        if not isinstance(outcome, Committed):
            self.dispatch.assigned(cmd, False, self.ctx.wall_time())
            return
        per_worker = self.dispatch.assigned(cmd, True, self.ctx.wall_time())
        for worker, assignments in per_worker.items():
            if TRACING.on:
                assignments = traced_assignments(assignments, began, worker, self.node_id)
            self.ctx.ref(worker, WORKER).try_send(
                AssignJobs(tuple(assignments), term, outcome.index)
            )

    def _maintain(self) -> None:
        if not self.raft.is_leader or not self.dispatch.leading:
            return
        lost, expired = self.dispatch.expirations(self.ctx.wall_time(), self.ctx.rng)
        for cmd in lost:
            log.warning("worker lost", extra={"worker": cmd.worker})
            self._propose(cmd, None)
        if expired is not None:
            self._propose(expired, None)
        self._warn_unserved()

    def _warn_unserved(self) -> None:
        """Say once per type when pending jobs wait for a worker that handles them (again
        after a worker took the type and left)."""
        unserved = set(self.jobs.unserved_types())
        for job_type in sorted(unserved - self.unserved_warned):
            log.warning(
                "jobs wait: no connected worker handles their type",
                extra={"type": job_type, "event": "type_unserved"},
            )
        self.unserved_warned = unserved

    async def _retention(self, now: float) -> None:
        """Propose removing what the retention policy no longer keeps, if anything."""
        try:
            policy = self.jobs.retention
            before = now - policy.keep_finished_s
            expired = await self.history.finished_before(before)
            cut = await self.history.cutoff(policy.max_finished)
            if (expired or cut is not None) and self.raft.is_leader:
                cmd = RetainCmd(now, before if expired else None, cut or 0)
                self._propose_cmd(cmd, lambda _: self._retained())
                self.ctx.self_ref.try_send(Wake())
            else:
                self._retained()
        except NotLeader:
            self._retained()

    def _retained(self) -> None:
        self.retaining = False

    def _fire_schedules(self) -> None:
        """Propose the due ticks of every schedule (:mod:`actors.scheduler.schedule_firing`),
        once this leader has applied its predecessors' fires. The log's time is used when
        this master's clock is behind it, as the job table does."""
        raft = self.raft
        if not (raft.is_leader and self.dispatch.leading and raft.applied_own_term):
            return
        if self.disk_full is not None:
            return
        firing = self.firing
        now = max(self.ctx.wall_time(), self.jobs.now)
        millis = int(now * 1000) & ((1 << 48) - 1)
        fires = firing.due(now, lambda: self._new_id(millis))
        for cmd in fires:
            self._propose_cmd(cmd, _calling(firing.done, cmd.name))
        if fires:
            self.ctx.self_ref.try_send(Wake())
        for name in firing.take_unusable():
            log.warning(
                "schedule cannot fire here: its timing is unknown to this master",
                extra={"schedule": name, "event": "schedule_unusable"},
            )


def _keys(msg: SubmitJobs) -> list[str]:
    return [s.idempotency_key for s in msg.jobs if s.idempotency_key is not None]


def _status(record: JobRecord, spec: JobSpec) -> StatusOf:
    """What a keyed submit whose key names ``record`` (in the history) answers."""
    return StatusOf(record.id, record.status, "same" if same_body(record, spec) else "conflict")


def _seq_of(record: JobRecord) -> int:
    return record.seq


def _calling(then: Callable[[str], None], name: str) -> Callable[[Message], None]:
    """A proposal's callback that, whatever the outcome, calls ``then(name)``."""
    return lambda _: then(name)
