"""The whole scheduler on the simulator: masters, workers, a client, and the checks.

Masters are the real :class:`~actors.master.actor.MasterActor` on
:class:`~runtime.storage.MemoryStorage`; workers are the real
:class:`~actors.worker.agent.WorkerActor` running a ``work`` handler that
sleeps for the job's ``seconds`` (mock time), now and then reports progress
halfway, and fails by a seeded chance; a
client node submits jobs through the real gateway forwarding logic and now
and then cancels one. Only the job table's class is wrapped, to report what
it applies.

:class:`JobObserver` checks, after every step:

- no job succeeds twice in any master's table;
- every (job, attempt) starts executing at most once across all workers;
- no two running executions of one job both hold a live lease (a worker's
  own lease deadline, which it enforces on itself, is what "live" means);
- no worker runs a job past its lease deadline;
- a cancelled job is not running once its cancel has been committed for
  longer than a lease plus a heartbeat (the time a worker may need to hear);
- priority order: when an assignment commits, no better job (priority, due
  time, sequence) of the same type that was pending when the leader chose,
  and that it was not already assigning, is left waiting;
- with dependent jobs in the load, a child never starts (nor is skipped or
  failed for its parents) before every parent is final
  (:mod:`sim.dependent_load`);
- every master derives the same events from each log index its event ring
  holds whole (:mod:`sim.event_check`);
- a job a draining worker handed back unstarted runs next with the same
  attempt number, and does not end dead or failed before it runs again
  (:mod:`sim.handback_check`);
- each master keeps job progress only for attempts its table has running
  (:mod:`sim.progress_check`);

and, after the final heal, convergence: one leader, every master applied the
same log to the same table and the same history (records and parent links),
every acknowledged job is final, every acknowledged cancel left its job
cancelled, no execution is left running, and no master keeps any progress.

Checks of what every master's table applies register as
:class:`~sim.table_check.TableCheck` in ``JobObserver.table_checks``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
import msgpack
import trio

from actors.gateway.app import Gateway
from actors.gateway.http_common import ApiError
from actors.master.actor import MasterActor, MasterSettings
from actors.master.event_ring import EventRing
from actors.raft.core import RaftConfig, RaftCore
from actors.scheduler import snapshot_codec
from actors.scheduler.backoff import Backoff
from actors.scheduler.lifecycle import TERMINAL, JobStatus
from actors.scheduler.policies import POLICIES
from actors.scheduler.records import Job
from actors.scheduler.state import JobStateMachine
from actors.worker.agent import Drain, WorkerActor
from actors.worker.errors import JobFailed
from actors.worker.handlers import HandlerRegistry, JobContext
from runtime.actor import Actor, ActorRef
from runtime.clock import sim_wall_clock
from runtime.storage import MemoryDisk
from runtime.storage.history import History
from runtime.storage.history_memory import HistoryDisk, MemoryHistory
from runtime.supervisor import ChildSpec, Supervisor
from runtime.system import ActorSystem
from sim.dependent_load import DependentLoad, ParentWatch
from sim.event_check import EventAgreement
from sim.faults import DiskLatency, SlowStorage
from sim.handback_check import HandBackCheck
from sim.harness import Simulation, wait_until
from sim.progress_check import ProgressCheck
from sim.table_check import TableCheck
from transport.cluster import CancelJob, JobChanged, JobSpec, SubmitJobs, Submitted
from transport.codec import Message, encode
from transport.commands import AssignCmd
from transport.records import JobRecord

__all__ = ["Decision", "JobCluster", "JobObserver"]

TICK_S = 0.01
FSYNC_S = 0.002
LEASE_S = 1.0
HEARTBEAT_S = 0.2
# a queue beyond the slots, as workers have by default, so queued jobs meet every
# fault that running ones do
PREFETCH = 2
ASK_TIMEOUT_S = 0.5
SUBMIT_EVERY_S = 0.05
# how long a worker may legitimately go on running a job after its cancel commits
CANCEL_GRACE_S = LEASE_S + HEARTBEAT_S + ASK_TIMEOUT_S + 0.05
# each master's event ring: a few seconds of the load's events
EVENTS_RETAINED = 300
# how long the client's gateway waits for a control request's answer
CONTROL_TIMEOUT_S = 2.0
# a draining worker's grace for what it runs: shorter than the longest jobs, so a drain
# both lets jobs finish and stops some (production waits 30 s)
DRAIN_GRACE_S = 1.0
# how long a drain may take before the worker is killed anyway: the grace, a stopped
# job's report and the goodbye, with room for a pause or a cut on the way
DRAIN_WITHIN_S = 5.0
# the share of runs whose handler reports progress halfway through
PROGRESS_SHARE = 0.5


@attrs.define
class Execution:
    worker: str
    job_id: str
    attempt: int
    started: float
    ended: float | None = None


@attrs.frozen
class Decision:
    """What the leader knew when it chose a batch: its applied index and what it skipped."""

    seen: int
    skipped: frozenset[str]


class JobObserver:
    def __init__(self, handler_rng: random.Random, now: Callable[[], float]) -> None:
        self.handler_rng = handler_rng
        self.problems: list[str] = []
        self.acked: dict[str, float] = {}
        self.cancel_acked: set[str] = set()
        self.cancel_committed: dict[str, float] = {}
        self.executions: list[Execution] = []
        # (job, attempt) -> its first execution: an attempt runs at most once
        self.first_runs: dict[tuple[str, int], Execution] = {}
        self.running: dict[tuple[str, str, int], Execution] = {}
        self.workers: dict[str, WorkerActor] = {}
        self.decisions: dict[bytes, Decision] = {}
        # the highest log index any master has applied (see sim.table_check)
        self.applied_upto = 0
        self.assign_proposed = trio.Event()
        # snapshots each master installed from a leader (streamed, history and all)
        self.installs: dict[str, int] = {}
        # idempotency key -> the job it made: a key sent again (by a gateway after a
        # failover, or a copy the network delivered late) must never make a second job
        self.keys: dict[str, str] = {}
        self.submitting = True
        self.now = now
        # checks of what every master's table applies (parents, a scenario's type limit)
        self.table_checks: list[TableCheck] = []
        # with dependent jobs in the load: that children wait for their parents
        self.parents: ParentWatch | None = None

    # -- hooks ----------------------------------------------------------------------

    def started(self, worker: str, context: JobContext) -> Execution:
        run = Execution(worker, context.job_id, context.attempt, self.now())
        first = self.first_runs.setdefault((run.job_id, run.attempt), run)
        if first is not run:
            self.problems.append(
                f"{run.job_id} attempt {run.attempt} started twice: on {first.worker} at "
                f"{first.started:.3f} and on {worker} at {run.started:.3f}"
            )
        self.executions.append(run)
        self.running[worker, context.job_id, context.attempt] = run
        if self.parents is not None:
            self.parents.executing(context.job_id, run.started)
        return run

    def ended(self, run: Execution) -> None:
        run.ended = self.now()
        self.running.pop((run.worker, run.job_id, run.attempt), None)

    def cancelled(self, job_id: str) -> None:
        self.cancel_committed.setdefault(job_id, self.now())

    def decision(self, cmd: AssignCmd) -> Decision | None:
        """What the leader knew when it chose ``cmd`` (None: no master watched here
        proposed it)."""
        return self.decisions.get(encode(cmd))

    # -- checks after every step --------------------------------------------------------

    def check(self) -> str | None:
        if self.problems:
            return self.problems[0]
        now = self.now()
        live: dict[str, Execution] = {}
        for run in self.running.values():
            worker = self.workers.get(run.worker)
            deadline = worker.lease_deadline if worker is not None else float("-inf")
            if deadline < now:
                return (
                    f"{run.worker} runs {run.job_id} attempt {run.attempt} past its lease "
                    f"deadline {deadline:.3f}"
                )
            other = live.setdefault(run.job_id, run)
            if other is not run:
                return (
                    f"two live leases on {run.job_id}: attempt {other.attempt} on "
                    f"{other.worker} and attempt {run.attempt} on {run.worker}"
                )
            cancelled_at = self.cancel_committed.get(run.job_id)
            if cancelled_at is not None and now > cancelled_at + CANCEL_GRACE_S:
                return (
                    f"{run.job_id} still runs on {run.worker} {now - cancelled_at:.3f}s "
                    f"after its cancel was committed"
                )
        return None


class ObservedJobs(JobStateMachine):
    """The real job table, reporting to the observer what it applies."""

    def __init__(self, node: str, observer: JobObserver, backoff: Backoff) -> None:
        self.node = node
        self.observer = observer
        super().__init__(backoff, dead_letter=True)

    def _reset(self) -> None:
        super()._reset()
        self.succeeded: set[str] = set()
        # job id -> the log index at which it last became pending
        self.pending_since: dict[str, int] = {}

    def apply_decoded(self, index: int, cmd: Message) -> Message | None:
        observer = self.observer
        checks = observer.table_checks
        first = index > observer.applied_upto
        for check in checks:
            check.applying(self.node, self, index, cmd, first)
        result = super().apply_decoded(index, cmd)
        if first and isinstance(cmd, AssignCmd):
            self._check_priority(cmd)
        for check in checks:
            check.applied(self.node, self, index, cmd, first)
        if first:
            observer.applied_upto = index
        return result

    def _add(self, job: Job) -> None:
        super()._add(job)
        for check in self.observer.table_checks:
            check.added(self.node, self, job)
        # a restored snapshot does not say when a job became pending: no later than its index
        if job.status is JobStatus.PENDING:
            self.pending_since[job.id] = self.applied_index

    def _set_status(self, job: Job, status: JobStatus, now: float) -> None:
        super()._set_status(job, status, now)
        self._saw(job)

    def _count_new(self, job: Job) -> None:
        super()._count_new(job)
        key = job.idempotency_key
        if key is not None:
            first = self.observer.keys.setdefault(key, job.id)
            if first != job.id:
                self.observer.problems.append(
                    f"idempotency key {key!r} made two jobs: {first} and {job.id} (on {self.node})"
                )
        self._saw(job)

    def _saw(self, job: Job) -> None:
        if job.status is JobStatus.PENDING:
            self.pending_since[job.id] = self.applied_index
        elif job.status is JobStatus.RUNNING:
            for check in self.observer.table_checks:
                check.started(self.node, self, job)
        elif job.status is JobStatus.SUCCEEDED:
            if job.id in self.succeeded:
                self.observer.problems.append(f"{job.id} succeeded twice on {self.node}")
            self.succeeded.add(job.id)
        elif job.status is JobStatus.CANCELLED:
            self.observer.cancelled(job.id)
        if job.status in TERMINAL:
            for check in self.observer.table_checks:
                check.ended(self.node, self, job)

    def _check_priority(self, cmd: AssignCmd) -> None:
        decision = self.observer.decision(cmd)
        if decision is None:
            return
        chosen = {a.job_id for a in cmd.assignments}
        for a in cmd.assignments:
            job = self.jobs.get(a.job_id)
            if job is None or job.status is not JobStatus.RUNNING or job.attempts != a.attempt:
                continue
            key = (-job.priority, job.due, job.seq)
            skip = decision.skipped | chosen
            for other_id in self.queue.peek_due({job.type}, 64, skip):
                other = self.jobs[other_id]
                if self.pending_since.get(other_id, 0) > decision.seen:
                    continue
                if (-other.priority, other.due, other.seq) < key:
                    self.observer.problems.append(
                        f"priority order: {job.id} (priority {job.priority}) was assigned while "
                        f"{other_id} (priority {other.priority}, due {other.due:.3f}) waited"
                    )
                break


class ObservedMaster(MasterActor):
    """The real master; it only tells the observer what it knew when it chose a batch."""

    observer: JobObserver

    def _propose_cmd(self, cmd: Message, done: Callable[[Message], None]) -> int:
        if isinstance(cmd, AssignCmd):
            batch = {a.job_id for a in cmd.assignments}
            skipped = frozenset(self.dispatch.assigning - batch)
            self.observer.decisions[encode(cmd)] = Decision(self.raft.applied, skipped)
            self.observer.assign_proposed.set()
        return super()._propose_cmd(cmd, done)


class ObservedHistory(MemoryHistory):
    """A master's history that tells the observer when a leader's snapshot replaced it."""

    def __init__(self, disk: HistoryDisk, node: str, observer: JobObserver) -> None:
        super().__init__(disk)
        self.node = node
        self.observer = observer

    def finish_install(self, index: int) -> None:
        super().finish_install(index)
        installs = self.observer.installs
        installs[self.node] = installs.get(self.node, 0) + 1


@attrs.define
class Master:
    """One master machine: its disks outlive the node's incarnations."""

    name: str
    # how long its fsyncs take (slow spells are a fault)
    latency: DiskLatency
    disk: MemoryDisk = attrs.Factory(MemoryDisk)
    history: HistoryDisk = attrs.Factory(HistoryDisk)
    actor: ObservedMaster | None = None

    def wipe(self) -> None:
        """The data directory is gone (the node must be down)."""
        self.disk = MemoryDisk()
        self.history = HistoryDisk()


@attrs.frozen
class SubmitTick(Message):
    """Local only: time for the client to submit (and maybe cancel)."""


class LoadClient(Actor):
    """Submits a small batch every period through the gateway's forwarding, to a random
    master; sometimes cancels a job it was acknowledged."""

    def __init__(
        self,
        masters: Sequence[str],
        observer: JobObserver,
        rng: random.Random,
        deps: DependentLoad | None = None,
        every_s: float = SUBMIT_EVERY_S,
    ) -> None:
        """``deps`` makes some of the jobs depend on others; a batch goes every ``every_s``."""
        self.masters = list(masters)
        self.observer = observer
        self.rng = rng
        self.deps = deps
        self.every_s = every_s
        self.sent = 0
        self.batches = 0

    async def on_start(self) -> None:
        self.ctx.every(self.every_s, SubmitTick())

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        if not self.observer.submitting:
            return None
        rng = self.rng
        now = self.ctx.wall_time()
        specs = []
        for _ in range(rng.randint(1, 4)):
            self.sent += 1
            payload = {"seconds": rng.choice((0.0, 0.01, 0.05, 0.2, 0.6, 1.5)), "fail": 0.15}
            run_at = now + rng.uniform(0.05, 0.5) if rng.random() < 0.1 else None
            specs.append(
                JobSpec(
                    type=rng.choice(("work", "work", "other")),
                    payload=msgpack.packb(payload),
                    priority=rng.randint(0, 9),
                    max_retries=rng.randint(0, 3),
                    timeout_s=3.0,
                    run_at=run_at,
                    idempotency_key=f"k{self.sent}" if rng.random() < 0.2 else None,
                )
            )
        home = rng.choice(self.masters)
        batch = tuple(specs) if self.deps is None else self.deps.shape(specs)
        # every other batch sends its keys as fresh (as the Python client does with keys it
        # made): no lookup, so a copy the network delivers late, or a gateway's resend,
        # must still make no second job (the observer's key check)
        self.batches += 1
        fresh = self.batches % 2 == 0
        self.ctx.nursery.start_soon(self._submit, home, SubmitJobs(batch, fresh))
        if self.observer.acked and rng.random() < 0.15:
            victim = rng.choice(sorted(self.observer.acked))
            self.ctx.nursery.start_soon(self._cancel, home, victim)
        return None

    def _gateway(self, home: str) -> Gateway:
        system = self.ctx.system
        return Gateway(system, timeout_s=1.0, home=home)

    async def _submit(self, home: str, msg: SubmitJobs) -> None:
        try:
            answer = await self._gateway(home).call(msg)
        except ApiError:
            return
        if isinstance(answer, Submitted):
            for status in answer.jobs:
                self.observer.acked.setdefault(status.id, self.ctx.wall_time())
                if self.deps is not None:
                    self.deps.acknowledged(status.id)

    async def _cancel(self, home: str, job_id: str) -> None:
        try:
            answer = await self._gateway(home).call(CancelJob(job_id))
        except ApiError:
            return
        if isinstance(answer, JobChanged) and not answer.error and not answer.not_found:
            self.observer.cancel_acked.add(job_id)


def work_registry(worker: str, observer: JobObserver) -> HandlerRegistry:
    registry = HandlerRegistry()

    async def work(payload: Any, context: JobContext) -> dict[str, object]:
        run = observer.started(worker, context)
        try:
            seconds = float(payload["seconds"])
            if observer.handler_rng.random() < PROGRESS_SHARE:
                # sent with the next heartbeat; what the masters keep of it must go
                # with the attempt (see sim.progress_check)
                await trio.sleep(seconds / 2)
                context.progress(0.5, "halfway")
                seconds /= 2
            await trio.sleep(seconds)
            if observer.handler_rng.random() < float(payload["fail"]):
                raise JobFailed("the simulated job failed")
            return {"on": worker}
        finally:
            observer.ended(run)

    registry.register("work", work)
    registry.register("other", work)
    return registry


class JobCluster:
    def __init__(
        self,
        sim: Simulation,
        masters: Sequence[str],
        workers: Sequence[str],
        *,
        capacity: int = 3,
        snapshot_every: int = 400,
        keep_finished_s: float | None = None,
        dependencies: bool = False,
        tick_s: float = TICK_S,
        raft_config: RaftConfig | None = None,
        submit_every_s: float = SUBMIT_EVERY_S,
    ) -> None:
        """``keep_finished_s`` turns retention on (by default nothing is old enough to go);
        ``dependencies`` makes some of the load's jobs depend on others. ``tick_s`` and
        ``raft_config`` are the masters' Raft timing (the simulator's fast one by default;
        a scenario whose fault depends on how Raft's timeouts compare with the masters'
        other periods runs production's); ``submit_every_s`` is the load's period."""
        self.sim = sim
        self.master_names = tuple(masters)
        self.worker_names = tuple(workers)
        self.observer = JobObserver(sim.rng("handlers"), sim.now)
        self.masters = {
            name: Master(name, DiskLatency(sim.rng(f"fsync/{name}"), FSYNC_S)) for name in masters
        }
        self.crash_rng = sim.rng("disk-crash")
        policy_rng = sim.rng("policy")
        self.policy = policy_rng.choice(sorted(POLICIES))
        self.settings = MasterSettings(
            policy=self.policy,
            lease_s=LEASE_S,
            heartbeat_s=HEARTBEAT_S,
            max_assign_batch=16,
            backoff=Backoff(base_s=0.05, multiplier=2.0, cap_s=0.4, jitter=0.5),
            # small event rings, so that the events check meets full ones
            events_retained=EVENTS_RETAINED,
        )
        if keep_finished_s is not None:
            self.settings = attrs.evolve(self.settings, keep_finished_s=keep_finished_s)
        self.retention_on = keep_finished_s is not None
        self.tick_s = tick_s
        self.raft_config = raft_config or RaftConfig()
        self.submit_every_s = submit_every_s
        self.capacity = capacity
        self.snapshot_every = snapshot_every
        self.deps = DependentLoad(sim.rng("deps")) if dependencies else None
        if dependencies:
            self.observer.parents = ParentWatch(self.observer.problems, sim.now)
            self.observer.table_checks.append(self.observer.parents)
        for name in masters:
            sim.add_node(name, self._master_root, self.masters[name])
        for name in workers:
            sim.add_node(name, self._worker_root, name)
        sim.add_node("client", self._client_root, None)
        sim.invariant("jobs-safety", self.observer.check)
        self.events = EventAgreement(self._event_rings)
        sim.invariant("events-agree", self.events.check)
        self.handbacks = HandBackCheck()
        self.observer.table_checks.append(self.handbacks)
        sim.invariant("hand-back-costs-nothing", self.handbacks.check)
        self.progress = ProgressCheck(self._actors)
        sim.invariant("progress-of-running-only", self.progress.check)
        sim.converges("jobs-converged", self.converged)
        sim.converges("progress-dropped", self.progress.drained)

    # -- node factories ------------------------------------------------------------------

    def _master_root(self, system: ActorSystem, member: Master) -> Supervisor:
        def master() -> ObservedMaster:
            actor = ObservedMaster(
                member.name,
                self.master_names,
                SlowStorage(member.disk, member.latency),
                History(ObservedHistory(member.history, member.name, self.observer)),
                self.raft_config,
                self.settings,
                tick_s=self.tick_s,
                snapshot_every=self.snapshot_every,
                jobs=ObservedJobs(member.name, self.observer, self.settings.backoff),
            )
            actor.observer = self.observer
            member.actor = actor
            return actor

        return Supervisor("root", [ChildSpec("master", master)])

    def _actors(self) -> dict[str, ObservedMaster | None]:
        """Each master's current incarnation (None while it is down)."""
        return {name: member.actor for name, member in self.masters.items()}

    def _event_rings(self) -> dict[str, EventRing | None]:
        """Each master's event ring (None while it is down)."""
        return {
            name: member.actor.feed.ring if member.actor is not None else None
            for name, member in self.masters.items()
        }

    def _worker_root(self, system: ActorSystem, name: str) -> Supervisor:
        def worker() -> WorkerActor:
            actor = WorkerActor(
                name,
                self.master_names,
                work_registry(name, self.observer),
                capacity=self.capacity,
                prefetch=PREFETCH,
                heartbeat_s=HEARTBEAT_S,
                ask_timeout_s=ASK_TIMEOUT_S,
                drain_grace_s=DRAIN_GRACE_S,
            )
            self.observer.workers[name] = actor
            return actor

        return Supervisor("root", [ChildSpec("worker", worker)])

    def _client_root(self, system: ActorSystem, _: None) -> Supervisor:
        rng = self.sim.rng("load")
        return Supervisor(
            "root",
            [
                ChildSpec(
                    "client",
                    lambda: LoadClient(
                        self.master_names, self.observer, rng, self.deps, self.submit_every_s
                    ),
                )
            ],
        )

    # -- driving it ----------------------------------------------------------------------

    async def start(self) -> None:
        await self.sim.start_all()

    async def wipe(self, name: str) -> None:
        """``name`` (a master) loses its machine: crashed, its data directory gone."""
        await self.crash(name)
        self.masters[name].wipe()

    async def crash(self, name: str) -> None:
        await self.sim.crash(name)
        if name in self.masters:
            self.masters[name].actor = None
            self.masters[name].disk.crash(self.crash_rng)
            self.masters[name].history.crash(self.crash_rng)
        else:
            self.observer.workers.pop(name, None)

    async def restart(self, name: str) -> None:
        await self.sim.start(name)

    async def drain(self, name: str) -> bool:
        """Stop worker ``name`` as SIGTERM does (it finishes or stops what runs, hands back
        what it had queued, says goodbye and leaves), then start it again. One that has not
        left within :data:`DRAIN_WITHIN_S` is killed. Whether it left by itself."""
        system = self.sim.node(name).system
        assert system is not None
        self.sim.note(f"fault drain {name}")
        await system.ref(name, "worker").send(Drain())
        gone = await wait_until(
            lambda: True if not system.has_actor("worker") else None, DRAIN_WITHIN_S, TICK_S
        )
        if self.sim.node(name).system is system:
            await self.crash(name)  # the process exits
        await self.restart(name)
        return gone is not None

    async def power_out(self, dark_s: float) -> None:
        """Every master loses power at once (each loses what it had not synced), and all
        start again ``dark_s`` later."""
        self.sim.note("fault power out")
        for name in self.up(self.master_names):
            await self.crash(name)
        await trio.sleep(dark_s)
        for name in self.master_names:
            await self.restart(name)

    def up(self, names: Sequence[str]) -> list[str]:
        return [n for n in names if self.sim.node(n).up]

    def leader(self) -> str | None:
        best: tuple[int, str] | None = None
        for member in self.masters.values():
            actor = member.actor
            leads = actor is not None and actor.raft.is_leader
            if leads and actor is not None and (best is None or actor.raft.term > best[0]):
                best = (actor.raft.term, member.name)
        return best[1] if best else None

    async def wait_for_leader(self, within: float = 5.0) -> str | None:
        return await wait_until(self.leader, within, self.tick_s)

    async def send_until_accepted(
        self, request: Message, accepted: Callable[[Message], bool] = lambda answer: True
    ) -> Message:
        """Send ``request`` (a limit, a pause, a schedule) through the client's gateway to
        the leader, again until an answer is ``accepted``: only for requests that may
        safely apply twice. The answer."""
        system = self.sim.node("client").system
        assert system is not None
        while True:
            home = await self.wait_for_leader() or self.master_names[0]
            try:
                answer = await Gateway(system, timeout_s=CONTROL_TIMEOUT_S, home=home).call(request)
            except ApiError:
                answer = None
            if answer is not None and accepted(answer):
                return answer
            await trio.sleep(0.1)

    def raft_cores(self) -> dict[str, RaftCore | None]:
        """Each master's Raft core, None while it is down (or not started yet)."""
        cores: dict[str, RaftCore | None] = {}
        for name, member in self.masters.items():
            actor = member.actor
            up = actor is not None and self.sim.node(name).up and hasattr(actor.raft, "core")
            cores[name] = actor.raft.core if up and actor is not None else None
        return cores

    def busiest_worker(self) -> str | None:
        counts: dict[str, int] = {}
        for worker, _, _ in self.observer.running:
            counts[worker] = counts.get(worker, 0) + 1
        return max(sorted(counts), key=lambda w: counts[w]) if counts else None

    def heartbeats(self) -> int:
        """Heartbeats the masters answered so far (leader-confirmed, not logged)."""
        return sum(
            m.actor.heartbeats_answered for m in self.masters.values() if m.actor is not None
        )

    def stop_load(self) -> None:
        self.observer.submitting = False

    # -- convergence ---------------------------------------------------------------------

    def converged(self) -> str | None:
        observer = self.observer
        if observer.problems:
            return observer.problems[0]
        actors = [m.actor for m in self.masters.values()]
        if any(a is None for a in actors):
            return "not every master is up"
        live = [a for a in actors if a is not None]
        leaders = [a.node_id for a in live if a.raft.is_leader]
        if len(leaders) != 1:
            return f"leaders: {leaders}"
        leader = next(a for a in live if a.node_id == leaders[0])
        table = leader.jobs
        finished = self.masters[leader.node_id].history.visible.rows
        for job_id in sorted(observer.acked):
            if table.job(job_id) is not None:
                return f"acknowledged job {job_id} is {table.jobs[job_id].status.value}"
            if job_id not in finished and not self.retention_on:
                return f"acknowledged job {job_id} is missing on the leader"
        for job_id in sorted(observer.cancel_acked):
            record = finished.get(job_id)
            if record is None and not self.retention_on:
                return f"cancel of {job_id} was acknowledged but its job is gone"
            if table.job(job_id) is not None or (record and record.status != "cancelled"):
                return f"cancel of {job_id} was acknowledged but it is not cancelled"
        if observer.running:
            return f"{len(observer.running)} executions still running"
        for a in live:
            if a.history.written != a.raft.applied:
                return f"{a.node_id}'s history holds up to {a.history.written} of {a.raft.applied}"
        states = {
            a.node_id: (
                a.raft.applied,
                b"".join(snapshot_codec.encode_pieces(a.jobs)),
                self._history_of(a.node_id),
            )
            for a in live
        }
        applied = {state[0] for state in states.values()}
        if len(applied) != 1:
            return f"masters applied different indexes: {sorted(applied)}"
        if len({state[1] for state in states.values()}) != 1:
            return "masters applied the same log but their live job tables differ"
        first = next(iter(states.values()))[2]
        if any(state[2] != first for state in states.values()):
            return "masters applied the same log but their histories differ"
        if self.retention_on:
            return self._retained(finished.values())
        return None

    def _history_of(self, name: str) -> tuple[list[tuple[object, ...]], list[tuple[str, int, str]]]:
        """What master ``name``'s history holds: its records and its links."""
        image = self.masters[name].history.visible
        return image.dump(), image.linked()

    def _retained(self, records: Iterable[JobRecord]) -> str | None:
        """Nothing kept much past its time: retention is checked every
        ``retention_check_s`` and takes a commit to apply."""
        settings = self.settings
        oldest_allowed = (
            sim_wall_clock() - settings.keep_finished_s - 2 * settings.retention_check_s - 0.5
        )
        for record in records:
            if record.finished_at is not None and record.finished_at < oldest_allowed:
                return f"{record.id} finished at {record.finished_at:.3f} and is still kept"
        return None

    def summary(self) -> dict[str, object]:
        """Figures at the end of the load (the final phase then drains the rest)."""
        observer = self.observer
        return {
            "policy": self.policy,
            "acked": len(observer.acked),
            "runs": len(observer.executions),
            "cancels": len(observer.cancel_acked),
            "installs": sum(observer.installs.values()),
            "children": len(observer.parents.parents_of) if observer.parents is not None else 0,
            "handed_back_rerun": self.handbacks.rerun,
            "progress_kept": len(self.progress.seen),
            "events_agreed": self.events.agreed,
        }
