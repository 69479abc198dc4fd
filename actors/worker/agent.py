"""The worker actor: finds the leader, runs what it is given, heartbeats and reports.

Its mailbox only ever takes quick messages (assignments, cancels); everything
that waits on the network (registering, heartbeats, delivering reports) runs
in one background loop, and every job runs in its own task. So a slow master
never delays a job, and a busy job never delays a heartbeat: sync handlers run
in child processes (:mod:`actors.worker.pool`, or threads with
``pool="thread"``), leaving the trio loop free.

A finished job's report is kept until the leader acknowledges it, which it
does only once the outcome is committed; until then the job stays in the
heartbeat's running list, so its lease is renewed and a new leader after a
failover re-attaches it rather than running it again.

The worker also fences itself: a lease runs from when the master handled a
heartbeat, which is after the worker sent it, so "time of the last
acknowledged heartbeat's sending + lease" is a deadline the master's own one
never precedes. A worker that cannot renew by then (cut off from the
masters) stops its unfinished jobs, because the leader is about to give them
to someone else; at no time do two workers run one job each believing it is
theirs, and a cancelled job cannot outlive its cancel by more than a lease.

And it runs an attempt at most once (:mod:`actors.worker.fence`): it refuses
assignments from a leader older than one it has heard from, and remembers
the attempts it started for two leases, so a replayed assignment never runs
again. (A job given back unstarted is not remembered: its number is reissued.)
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence

import attrs
import msgpack
import trio

from actors.worker.capture import MAX_RESULT_BYTES
from actors.worker.fence import AttemptFence
from actors.worker.handlers import HandlerRegistry, JobContext, JobOutcome, run_job
from actors.worker.job_trace import JobTrace, executing
from actors.worker.metrics import SlotTurnaround, WorkerMetrics
from actors.worker.output import DEFAULT_LOG_MAX_BYTES, RecentOutputs
from actors.worker.output_capture import capturing
from actors.worker.output_shipping import read_held, ship_output
from actors.worker.pool import ProcessPool
from actors.worker.progress import Latest
from runtime.actor import Actor, ActorRef
from runtime.config.model import PoolKind
from runtime.errors import AskError, AskTimeout
from runtime.tracing import TRACING
from transport.cluster import (
    AssignJobs,
    Assignment,
    CancelRunning,
    HeartbeatAck,
    JobReport,
    NotLeader,
    ReportJobs,
    RunningJob,
    Welcome,
    WorkerBye,
    WorkerHeartbeat,
    WorkerHello,
)
from transport.codec import Message
from transport.envelope import Ack
from transport.job_options import trace_id_of
from transport.output_messages import ReadOutput
from transport.progress import JobProgress

log = logging.getLogger("podium.worker")

# bytes a report takes on the wire beside its result and error (ids, flags, framing)
REPORT_OVERHEAD = 128

__all__ = ["Drain", "WorkerActor"]


@attrs.define
class _Job:
    key: RunningJob
    scope: trio.CancelScope
    assignment: Assignment
    outcome: JobOutcome | None = None
    # given back unstarted (the worker is draining): reported so, costing no attempt
    returned: bool = False
    # its handler was started: the attempt may never start here again
    started: bool = False
    # what its handler last said with ctx.progress (sent with each heartbeat)
    progress: Latest = attrs.Factory(Latest)
    # its spans, when it is traced and this worker traces (see actors.worker.job_trace)
    trace: JobTrace | None = None


class Drain(Message):
    """Local only: stop taking work, finish or hand back what runs, then leave."""

    __slots__ = ()


class WorkerActor(Actor):
    def __init__(
        self,
        worker_id: str,
        masters: Sequence[str],
        registry: HandlerRegistry,
        *,
        capacity: int,
        prefetch: int = 0,
        types: Sequence[str] = (),
        heartbeat_s: float = 1.0,
        ask_timeout_s: float = 2.0,
        drain_grace_s: float = 30.0,
        metrics: WorkerMetrics | None = None,
        pool: PoolKind = "process",
        max_jobs_per_child: int = 0,
        log_max_bytes: int = DEFAULT_LOG_MAX_BYTES,
    ) -> None:
        """``prefetch``: jobs taken beyond ``capacity`` and queued here, so that a slot
        freed starts the next job at once instead of after a round trip to the leader.
        ``pool``: where sync handlers run, ``process`` (a pool of ``capacity`` children
        importing ``registry.modules``) or ``thread``; ``max_jobs_per_child`` > 0 replaces
        a child after that many jobs."""
        if not masters:
            raise ValueError("a worker needs at least one master to register with")
        self.worker_id = worker_id
        self.masters = list(masters)
        self.registry = registry
        self.capacity = capacity
        self.prefetch = prefetch
        self.types = tuple(types) or tuple(registry.types())
        self.heartbeat_s = heartbeat_s
        self.ask_timeout_s = ask_timeout_s
        self.drain_grace_s = drain_grace_s
        self.pool = (
            ProcessPool(capacity, registry.modules, max_jobs_per_child=max_jobs_per_child)
            if pool == "process"
            else None
        )
        self.leader: str | None = None
        self.registered = False
        # no lease until a master welcomes this worker; see the module docstring
        self.lease_s = float("inf")
        self.lease_deadline = float("-inf")
        self._lease_moved = trio.Event()
        self.draining = False
        # set by a second Drain: cut the drain's grace short
        self._hurry = trio.Event()
        # every job assigned and not yet reported: queued, running or finished
        self.jobs: dict[RunningJob, _Job] = {}
        # assigned jobs waiting for a slot, oldest first, and the slots in use
        self.queued: deque[_Job] = deque()
        self.busy = 0
        self._next_master = 0
        # set when a job finishes (there is something to report)
        self._wake = trio.Event()
        # set to talk to the leader now rather than at the next beat: register again
        # when the leader was lost, or heartbeat at once to say this worker drains
        self._beat_now = trio.Event()
        # finished jobs in a report that is on its way
        self.reporting: set[RunningJob] = set()
        self.metrics = metrics
        self.slots = SlotTurnaround(capacity)
        self.fence = AttemptFence()
        # what running and recently finished attempts printed (see actors.worker.output)
        self.outputs = RecentOutputs(log_max_bytes)

    # -- mailbox ------------------------------------------------------------------

    async def on_start(self) -> None:
        self.ctx.nursery.start_soon(self._control_loop)
        self.ctx.nursery.start_soon(self._reporter)
        self.ctx.nursery.start_soon(self._lease_watch)

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        if isinstance(msg, AssignJobs):
            if trio.current_time() >= self.lease_deadline:
                # sent on a stale view of this worker: the job returns when its lease ends
                log.warning("assignment refused: no lease", extra={"worker": self.worker_id})
                return None
            refusal = self.fence.refusal(msg.term, msg.index)
            if refusal is not None:
                # a deposed leader's, sent on its stale view (its successor has the job),
                # or made before this worker was declared lost and registered again
                log.warning(
                    "assignment refused: %s",
                    refusal,
                    extra={
                        "worker": self.worker_id,
                        "term": msg.term,
                        "known": self.fence.term,
                        "index": msg.index,
                        "registered": self.fence.registered,
                    },
                )
                return None
            for assignment in msg.assignments:
                key = RunningJob(assignment.job_id, assignment.attempt)
                if key in self.jobs or self.fence.ran(key):
                    continue
                job = _Job(key, trio.CancelScope(), assignment)
                self.jobs[key] = job
                if self.draining:
                    # sent before the leader heard this worker drains: give it back
                    self._give_back(job)
                elif self.busy < self.capacity:
                    self.busy += 1
                    self.ctx.nursery.start_soon(self._slot, job)
                else:
                    self.queued.append(job)
        elif isinstance(msg, ReadOutput):
            return read_held(self.outputs, msg)
        elif isinstance(msg, CancelRunning):
            self._cancel(RunningJob(msg.job_id, msg.attempt))
        elif isinstance(msg, Drain):
            if self.draining:
                # asked again (a second Ctrl-C): stop what runs now rather than at the grace
                self._hurry.set()
                return None
            self.draining = True
            while self.queued:
                self._give_back(self.queued.popleft())
            self._beat_now.set()  # tell the leader to stop assigning
            self.ctx.nursery.start_soon(self._drain)
        return None

    def _give_back(self, job: _Job) -> None:
        """Hand an unstarted job back to the leader, which requeues it at no cost."""
        if self.jobs.get(job.key) is job:
            job.returned = True
            self._wake.set()

    def _cancel(self, key: RunningJob) -> None:
        job = self.jobs.get(key)
        if job is not None and job.outcome is None:
            job.scope.cancel()
            self._forget(key)
            log.info(
                "job cancelled",
                extra={
                    "job": key.job_id,
                    "attempt": key.attempt,
                    "trace_id": trace_id_of(job.assignment.traceparent),
                },
            )

    def _forget(self, key: RunningJob) -> None:
        """``key`` is done here (reported, cancelled or stopped); if it started, it is
        remembered for two leases, so an assignment of it that arrives again is not
        run again."""
        job = self.jobs.pop(key, None)
        if job is not None and job.started:
            self.fence.finished(key, trio.current_time(), 2 * self.lease_s)
        if job is not None and job.trace is not None:
            job.trace.close()

    async def _slot(self, job: _Job | None) -> None:
        """One slot: run ``job``, then whatever waits in the queue, until it is empty.
        The next job starts in the same task the moment the previous one is gone."""
        while job is not None:
            waited = self.slots.job_started(trio.current_time())
            if waited is not None and self.metrics is not None:
                self.metrics.slot_turnaround.observe(waited)
            await self._run(job)
            job = self._next_queued()
        self.busy -= 1

    def _next_queued(self) -> _Job | None:
        """The oldest queued job still ours (a cancel or a lost lease drops jobs)."""
        queued = self.queued
        while queued:
            job = queued.popleft()
            if self.jobs.get(job.key) is job:
                return job
        return None

    async def _run(self, job: _Job) -> None:
        job.started = True
        traceparent = job.assignment.traceparent
        if traceparent and TRACING.on:
            job.trace = JobTrace(job.assignment, self.worker_id)
        parents = job.assignment.parents
        context = JobContext(
            job.key.job_id,
            job.key.attempt,
            msgpack.unpackb(parents, raw=False) if parents else {},
            job.progress.set,
            job.trace,
            traceparent,
        )
        job_type = job.assignment.type
        payload = msgpack.unpackb(job.assignment.payload, raw=False)
        timeout_s = job.assignment.timeout_s
        entry = self.registry.get(job_type)
        if self.pool is not None and entry is not None and not entry.is_async:
            # the first sync job starts the pool's lifetime; async-only workers never do
            self.pool.serve_in(self.ctx.nursery)
        output = self.outputs.start(job.key.job_id, job.key.attempt)
        try:
            with capturing(output), executing(job.trace):
                job.outcome = await run_job(
                    self.registry, job_type, payload, timeout_s, context, job.scope, self.pool
                )
        finally:
            # the slot is free once the job is gone (a stopped handler's child included)
            self.slots.job_finished(trio.current_time())
            self.outputs.finish(job.key.job_id, job.key.attempt)
            ship_output(self.ctx, self.masters, job.key, output)
        if job.trace is not None:
            job.trace.executed(job.outcome)
        # a cancelled job is no longer ours: nothing to report
        if self.jobs.get(job.key) is job:
            if not job.outcome.ok:
                log.warning(
                    "job failed",
                    extra={
                        "job": job.key.job_id,
                        "attempt": job.key.attempt,
                        "error": job.outcome.error,
                        "trace_id": context.trace_id,
                    },
                )
            self._wake.set()

    # -- talking to the leader ----------------------------------------------------------

    async def _control_loop(self) -> None:
        """Register, then heartbeat every ``heartbeat_s``; register again at once when a
        request finds the leader gone."""
        next_beat = trio.current_time()
        while True:
            with trio.move_on_at(next_beat):
                await self._beat_now.wait()
            self._beat_now = trio.Event()
            next_beat = trio.current_time() + self.heartbeat_s
            if not self.registered:
                await self._register()
                if self.registered:
                    self._wake.set()  # reports held while unregistered
            else:
                await self._heartbeat()

    async def _reporter(self) -> None:
        """Report finished jobs as they finish, without waiting for the previous report's
        answer: a report is acknowledged once committed, and a slot waiting for that
        would idle for a whole log write."""
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            if self.registered:
                self._report_finished()

    async def _lease_watch(self) -> None:
        """Stop unfinished jobs before the lease runs out (apart from the control loop,
        which may be waiting on an unreachable master just then), early enough that a
        handler given its grace to stop is gone when the lease ends."""
        sync = any(not h.is_async for h in map(self.registry.get, self.types) if h is not None)
        grace = self.pool.kill_grace_s if self.pool is not None and sync else 0.0
        while True:
            moved = self._lease_moved
            # at most half a lease early, however long the pool's grace
            with trio.move_on_at(self.lease_deadline - min(grace, self.lease_s / 2)) as timer:
                await moved.wait()
            if timer.cancelled_caught:
                self._lease_lost()
                # nothing more to stop until a master renews the lease
                await moved.wait()
            self._lease_moved = trio.Event()

    def _lease_lost(self) -> None:
        """No renewal for a whole lease: the leader is giving these jobs to others."""
        unfinished = [key for key, job in self.jobs.items() if job.outcome is None]
        if unfinished:
            log.warning(
                "lease lost, stopping jobs",
                extra={"worker": self.worker_id, "jobs": len(unfinished)},
            )
        for key in unfinished:
            self._cancel(key)

    def _renewed(self, sent_at: float) -> None:
        # one control loop sends one request at a time, so sent_at only grows
        self.lease_deadline = sent_at + self.lease_s
        self._lease_moved.set()

    def _running(self) -> tuple[RunningJob, ...]:
        return tuple(self.jobs)

    def _progress(self) -> tuple[JobProgress, ...]:
        """The latest progress of each job still running that reported some."""
        return tuple(
            JobProgress(key.job_id, key.attempt, *job.progress.value)
            for key, job in self.jobs.items()
            if job.progress.value is not None and job.outcome is None
        )

    def _candidate(self) -> str:
        if self.leader is not None:
            return self.leader
        master = self.masters[self._next_master % len(self.masters)]
        self._next_master += 1
        return master

    async def _ask_leader(self, msg: Message) -> Message | None:
        """Ask the current leader candidate; None (and forget the leader) when it fails."""
        target = self._candidate()
        try:
            answer = await self.ctx.ref(target, "master").ask(msg, self.ask_timeout_s)
        except (AskTimeout, AskError) as exc:
            log.debug("master unreachable", extra={"master": target, "error": str(exc)})
            self._lost_leader(target, None)
            return None
        if isinstance(answer, NotLeader):
            self._lost_leader(target, answer.leader)
            return None
        return answer

    def _lost_leader(self, asked: str, hint: str | None) -> None:
        """``asked`` failed; forget the leader unless another request (reports run beside
        the control loop) already found a different one meanwhile."""
        if self.leader not in (asked, None):
            return
        if self.registered:
            log.info("leader lost", extra={"leader": self.leader, "hint": hint})
            self._beat_now.set()
        self.registered = False
        self.leader = hint

    async def _register(self) -> None:
        hello = WorkerHello(
            self.worker_id,
            self.capacity,
            self.types,
            self._running(),
            self.prefetch,
            self.draining,
        )
        sent_at = trio.current_time()
        answer = await self._ask_leader(hello)
        if isinstance(answer, Welcome):
            self.fence.saw_term(answer.term)
            self.fence.saw_registration(answer.registered)
            self.leader = answer.leader
            self.registered = True
            self.lease_s = answer.lease_s
            self._renewed(sent_at)
            log.info(
                "registered",
                extra={
                    "worker": self.worker_id,
                    "leader": answer.leader,
                    "running": len(self.jobs),
                },
            )

    async def _heartbeat(self) -> None:
        beat = WorkerHeartbeat(self.worker_id, self._running(), self.draining, self._progress())
        sent_at = trio.current_time()
        answer = await self._ask_leader(beat)
        if isinstance(answer, HeartbeatAck):
            self.fence.saw_term(answer.term)
            if answer.known:
                self._renewed(sent_at)
            else:
                self.registered = False
                self._beat_now.set()  # the leader does not know this worker: say hello now
            for key in answer.cancel:
                self._cancel(key)

    def _report_finished(self) -> None:
        """Report every finished job not already on its way; keep them until the report
        is acknowledged. Reports are cut so that their results fit a frame together
        (each result alone is capped by :data:`MAX_RESULT_BYTES`)."""
        batch: list[tuple[RunningJob, JobReport]] = []
        size = 0
        for key, job in self.jobs.items():
            outcome = job.outcome
            if key in self.reporting:
                continue
            if job.returned:
                report = JobReport(key.job_id, key.attempt, False, b"", "", False, started=False)
            elif outcome is None:
                continue
            else:
                if job.trace is not None:
                    job.trace.reporting()
                report = JobReport(
                    job_id=key.job_id,
                    attempt=key.attempt,
                    ok=outcome.ok,
                    result=msgpack.packb(outcome.result, use_bin_type=True),
                    error=outcome.error,
                    timed_out=outcome.timed_out,
                    permanent=outcome.permanent,
                )
            weight = len(report.result) + len(report.error.encode()) + REPORT_OVERHEAD
            if batch and size + weight > MAX_RESULT_BYTES:
                self._start_report(batch)
                batch, size = [], 0
            batch.append((key, report))
            size += weight
        if batch:
            self._start_report(batch)

    def _start_report(self, batch: list[tuple[RunningJob, JobReport]]) -> None:
        keys = [key for key, _ in batch]
        self.reporting.update(keys)
        report = ReportJobs(self.worker_id, tuple(r for _, r in batch))
        self.ctx.nursery.start_soon(self._send_report, keys, report)

    async def _send_report(self, keys: list[RunningJob], report: ReportJobs) -> None:
        acked = False
        try:
            acked = isinstance(await self._ask_leader(report), Ack)
            if acked:
                for key in keys:
                    self._forget(key)
        finally:
            self.reporting.difference_update(keys)
            if not acked:
                # report again (to the leader now known, or after registering anew)
                self._wake.set()

    async def _drain(self) -> None:
        """Finish what runs within the grace period (queued jobs went back unstarted),
        stop the rest, report everything, then leave once no handler is alive."""
        log.info(
            "draining: waiting up to %.0f s for %d running job(s) to finish, then stopping "
            "and handing back any still running",
            self.drain_grace_s,
            self.busy,
            extra={"worker": self.worker_id, "running": self.busy},
        )
        with trio.move_on_after(self.drain_grace_s):
            while self.busy and not self._hurry.is_set():
                await trio.sleep(0.05)
        running = [k for k, job in self.jobs.items() if job.outcome is None and not job.returned]
        if running:
            log.warning("drain: stopping and handing back %d running job(s)", len(running),
                        extra={"worker": self.worker_id, "jobs": len(running)})  # fmt: skip
        for key in running:
            self._cancel(key)
        with trio.move_on_after(self.ask_timeout_s * 3):
            # a stopped handler's child may take its kill grace to be gone
            while self.jobs or self.busy:
                self._wake.set()
                await trio.sleep(0.05)
        # a hand-back whose report went unacknowledged is named again: see WorkerBye
        unstarted = tuple(key for key, job in self.jobs.items() if job.returned)
        await self._ask_leader(WorkerBye(self.worker_id, unstarted))
        log.info("drained", extra={"worker": self.worker_id})
        self.ctx.stop()
