"""The leader's dispatch bookkeeping: what to assign, to whom, and what is on its way.

The replicated table (:class:`~actors.scheduler.state.JobStateMachine`) says
what is true once committed; between proposing an assignment and applying it
the leader must remember what it already promised, or it would hand the same
job out twice or offer a worker more jobs than it has slots. That memory is
this class: the worker pool with its credits (one per free slot), the jobs
being assigned, the slots they reserve, whether a tick for delayed jobs is on
its way, and the term it was built in. It holds no clock, no randomness of
its own and no I/O: the master calls it with the time and an rng, proposes
the commands it returns and sends the assignments it returns once committed.

The master calls :meth:`Dispatcher.plan` after every burst of applied
entries, so a slot freed by an applied report is refilled in the same turn
of the event loop, not at the next timer. Credits are taken when a job is
chosen and given back when its assignment is applied (or fails), at which
point the table's own running list accounts for the slot.
"""

from __future__ import annotations

from collections.abc import Iterable
from random import Random

import attrs

from actors.scheduler.leases import Leases
from actors.scheduler.lifecycle import WorkerState
from actors.scheduler.policies import WorkerPool, make_pool
from actors.scheduler.records import Job
from actors.scheduler.state import JobStateMachine
from transport.cluster import Assignment
from transport.commands import (
    AssignCmd,
    AssignmentCmd,
    ExpireLeasesCmd,
    ExpireWorkerCmd,
    TickCmd,
)

__all__ = ["Dispatcher", "Plan"]


@attrs.frozen
class Plan:
    """What the leader should propose now: a tick for due delayed jobs, an assignment."""

    tick: TickCmd | None = None
    assign: AssignCmd | None = None


_NOTHING = Plan()


class Dispatcher:
    """The leader's view of free slots and assignments in flight, for one term."""

    def __init__(
        self,
        jobs: JobStateMachine,
        leases: Leases,
        *,
        policy: str,
        lease_s: float,
        max_batch: int,
    ) -> None:
        self.jobs = jobs
        self.leases = leases
        self.policy = policy
        self.lease_s = lease_s
        self.max_batch = max_batch
        self.pool: WorkerPool | None = None
        # the term this dispatcher leads in; 0 while it does not
        self.term = 0
        # job ids proposed for assignment and not yet applied, and the credits they hold
        self.assigning: set[str] = set()
        self.reserved: dict[str, int] = {}
        # worker -> jobs it reported finished, in reports proposed and not yet applied:
        # their slots are free on the worker already, so they are offered again at once
        # and the next assignment rides the same log write as the report
        self.freeing: dict[str, set[str]] = {}
        self.ticking = False
        # job id -> type, for jobs of limited or paused types being assigned: the tokens
        # and running slots they will take once applied
        self.controlled: dict[str, str] = {}
        self.controlled_by_type: dict[str, int] = {}
        # the pool is kept in step with the table incrementally: workers whose slots
        # this class reserved or freed since the last plan; a full pass once per term
        # and whenever the earliest lease in the pool may have run out
        self.touched: set[str] = set()
        self.whole_pass = True
        self.next_whole_pass = float("inf")

    @property
    def leading(self) -> bool:
        return self.pool is not None

    def take_over(self, term: int, now: float, rng: Random) -> None:
        """A new term of leadership: a fresh pool, and a full lease for every worker."""
        self.term = term
        self.pool = make_pool(self.policy, rng)
        self._forget_in_flight()
        self.leases.take_over(now)

    def step_down(self) -> None:
        """Leadership is gone: nothing in flight will be answered by this master."""
        self.term = 0
        self.pool = None
        self._forget_in_flight()
        self.jobs.changed_workers = None  # nobody takes the table's news now

    def _forget_in_flight(self) -> None:
        self.whole_pass = True
        self.touched.clear()
        self.assigning.clear()
        self.reserved.clear()
        self.freeing.clear()
        self.ticking = False
        self.controlled.clear()
        self.controlled_by_type.clear()

    # -- planning ----------------------------------------------------------------------

    def plan(self, now: float) -> Plan:
        """The commands to propose now, given the table as applied so far."""
        pool = self.pool
        if pool is None:
            return _NOTHING
        self._sync_pool(pool, now)
        tick = self._tick(now)
        assign = self._assign(pool, now)
        if tick is None and assign is None:
            return _NOTHING
        return Plan(tick, assign)

    def _sync_pool(self, pool: WorkerPool, now: float) -> None:
        """Bring the pool in step with the table, the leases and this class's credits.

        Only workers something happened to are looked at (the table's
        ``changed_workers``, the leases' ``changed``, this class's ``touched``), so a
        plan costs what changed, not the number of workers. A lease running out
        changes nothing anywhere, so every worker is looked at again once the earliest
        deadline in the pool has passed (renewals only move deadlines later, so that
        moment is never late), and at the first plan of a term."""
        jobs = self.jobs
        leases = self.leases
        changed = jobs.changed_workers
        if changed is None:  # a term's first plan, or a table rebuilt from a snapshot
            changed = jobs.changed_workers = set()
            self.whole_pass = True
        names = changed | leases.changed | self.touched
        changed.clear()
        leases.changed.clear()
        self.touched.clear()
        if self.whole_pass or now > self.next_whole_pass:
            self.whole_pass = False
            names.update(jobs.workers_by_id)
            names.update(pool.capacity)
            self.next_whole_pass = float("inf")
        for worker_id in sorted(names):
            self._sync_worker(pool, worker_id, now)

    def _sync_worker(self, pool: WorkerPool, worker_id: str, now: float) -> None:
        leases = self.leases
        worker = self.jobs.workers_by_id.get(worker_id)
        # a worker past its lease has stopped its jobs and refuses new ones, lost or not
        # yet; one this leader has not heard from may be gone with the old leader
        if worker is None or worker.state is WorkerState.LOST or not leases.usable(worker_id, now):
            if worker_id in pool:
                pool.remove(worker_id)
            return
        self.next_whole_pass = min(self.next_whole_pass, leases.deadline(worker_id))
        busy = len(worker.running) + self.reserved.get(worker_id, 0)
        done = self.freeing.get(worker_id)
        if done:
            busy -= len(done & worker.running)
        # a worker takes its queue's worth beyond its slots, so that a freed slot
        # starts the next job without waiting for the leader
        accepts = worker.capacity + worker.prefetch
        free = max(accepts - busy, 0)
        if worker_id in pool and pool.capacity[worker_id] == accepts:
            if pool.free[worker_id] != free:
                pool.set_free(worker_id, free)
        else:  # new, or registered again with other slots
            pool.add(worker_id, accepts, worker.types, free)

    def _tick(self, now: float) -> TickCmd | None:
        """Delayed jobs become due through the log: a tick once one's time has come."""
        run_at = self.jobs.next_run_at()
        if run_at is None or run_at > now or self.ticking:
            return None
        self.ticking = True
        return TickCmd(now)

    def _assign(self, pool: WorkerPool, now: float) -> AssignCmd | None:
        free = pool.free_slots()
        if not free:
            return None
        limit = min(free, self.max_batch)
        types: frozenset[str] = pool.handled_types()
        caps: dict[str, int] | None = None
        if self.jobs.control.active:
            types, caps = self._within_limits(types, now)
        due = self.jobs.due_jobs(types, limit, self.assigning, caps)
        if not due:
            return None
        lease = now + self.lease_s
        batch: list[AssignmentCmd] = []
        reserved = self.reserved
        for job in due:
            worker = pool.choose(job.type)
            if worker is None:
                continue
            batch.append(AssignmentCmd(job.id, worker, job.attempts + 1, lease))
            reserved[worker] = reserved.get(worker, 0) + 1
            self.touched.add(worker)
        if not batch:
            return None
        for a in batch:
            self.assigning.add(a.job_id)
            self.leases.assigned(a.job_id, a.attempt, lease)
        if caps is not None:
            self._count_controlled(due, {a.job_id for a in batch})
        return AssignCmd(now, tuple(batch))

    def _within_limits(
        self, types: frozenset[str], now: float
    ) -> tuple[frozenset[str], dict[str, int]]:
        """The types to plan for and how many jobs each limited one may have now: a paused
        or throttled type is left out whole (its queue is not even looked at), and the
        tokens and running slots of assignments in flight are counted as taken."""
        control = self.jobs.control
        in_flight = self.controlled_by_type
        caps: dict[str, int] = {}
        closed: set[str] = set()
        for job_type in control.types():
            if job_type not in types:
                continue
            room = control.room(
                job_type, now, self.jobs.running_of(job_type), in_flight.get(job_type, 0)
            )
            if room is None:
                continue
            if room <= 0:
                closed.add(job_type)
            else:
                caps[job_type] = room
        return (types - closed if closed else types), caps

    def _count_controlled(self, due: list[Job], chosen: set[str]) -> None:
        control = self.jobs.control
        for job in due:
            if job.id in chosen and control.governs(job.type):
                self.controlled[job.id] = job.type
                self.controlled_by_type[job.type] = self.controlled_by_type.get(job.type, 0) + 1

    def _settled_controlled(self, job_id: str) -> None:
        job_type = self.controlled.pop(job_id, None)
        if job_type is not None:
            left = self.controlled_by_type[job_type] - 1
            if left:
                self.controlled_by_type[job_type] = left
            else:
                del self.controlled_by_type[job_type]

    # -- outcomes ----------------------------------------------------------------------

    def reported(self, worker: str, job_ids: Iterable[str]) -> list[str]:
        """A report from ``worker`` for ``job_ids`` (its current attempts) is proposed:
        their slots may be filled before it is applied. Returns the ids newly counted,
        to pass to :meth:`report_applied` (a report sent twice counts once)."""
        if self.pool is None:
            return []
        done = self.freeing.setdefault(worker, set())
        new = [job_id for job_id in job_ids if job_id not in done]
        done.update(new)
        self.touched.add(worker)
        return new

    def report_applied(self, worker: str, job_ids: Iterable[str]) -> None:
        """The report counted by :meth:`reported` was applied or lost."""
        done = self.freeing.get(worker)
        if done is None:
            return
        self.touched.add(worker)
        done.difference_update(job_ids)
        if not done:
            del self.freeing[worker]

    def ticked(self) -> None:
        """The tick proposed by :meth:`plan` was applied or lost."""
        self.ticking = False

    def assigned(self, cmd: AssignCmd, committed: bool, now: float) -> dict[str, list[Assignment]]:
        """The assignment ``cmd`` was applied (``committed``) or lost: release its
        reservations, and return what to send to each worker, leaving out a worker this
        leader no longer trusts (it may have woken from a pause to find every lease run
        out: the worker has stopped, and the job comes back with the worker's loss)."""
        per_worker: dict[str, list[Assignment]] = {}
        reserved = self.reserved
        jobs = self.jobs
        touched = self.touched
        for a in cmd.assignments:
            self.assigning.discard(a.job_id)
            if self.controlled:
                self._settled_controlled(a.job_id)
            touched.add(a.worker)
            left = reserved.get(a.worker, 0) - 1
            if left > 0:
                reserved[a.worker] = left
            else:
                reserved.pop(a.worker, None)
            if not committed:
                continue
            job = jobs.job(a.job_id)
            if job is None or not jobs.is_current(a.job_id, a.attempt, a.worker):
                continue
            per_worker.setdefault(a.worker, []).append(
                Assignment(
                    job.id,
                    a.attempt,
                    job.type,
                    job.payload,
                    job.timeout_s,
                    jobs.parent_results(job),
                    # where the worker's spans hang ("" for an untraced job)
                    "" if job.options is None else job.options.traceparent or "",
                )
            )
        # asked once a batch, not once a job: this runs for every assignment made
        for worker in self.leases.distrusted(per_worker, now):
            del per_worker[worker]
        return per_worker

    # -- leases --------------------------------------------------------------------------

    def expirations(
        self, now: float, rng: Random
    ) -> tuple[list[ExpireWorkerCmd], ExpireLeasesCmd | None]:
        """Workers silent past their lease, and running attempts whose lease ran out
        (each with the jitter its retry backoff needs, drawn from ``rng``)."""
        jobs = self.jobs
        leases = self.leases
        # a worker already being declared lost is not declared lost again: the second
        # loss could land after its new registration and undo it
        live = (
            w.id
            for w in jobs.workers()
            if w.state is not WorkerState.LOST and not leases.is_expiring(w.id)
        )
        lost: list[ExpireWorkerCmd] = []
        for worker_id in leases.expired_workers(now, live):
            worker = jobs.worker(worker_id)
            assert worker is not None
            jitters = tuple(rng.random() for _ in worker.running)
            leases.expire_worker(worker_id)
            lost.append(ExpireWorkerCmd(now, worker_id, jitters))
        running = ((job_id, attempt) for _, job_id, attempt in jobs.running_jobs())
        expired = leases.expired_jobs(now, running, lambda job_id: job_id in jobs.jobs)
        if not expired:
            return lost, None
        jitters = tuple(rng.random() for _ in expired)
        return lost, ExpireLeasesCmd(now, tuple(expired), jitters)
