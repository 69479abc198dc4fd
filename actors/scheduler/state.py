"""The replicated live job table: ``apply(command)``, the same result on every master.

It holds live work only: pending, scheduled and running jobs, the workers,
the ready order and the counters. A job that reaches a final status leaves
memory at the index that finished it; the master's shell takes it from
:meth:`JobStateMachine.take_finished` and writes it to the history store,
which every master fills from the same log in the same order. So memory,
snapshots and per-job cost follow live work, never the number of jobs ever
run.

Every command carries the leader's ``now`` and any random draw it needs, so
this class never reads a clock or draws a number. Time in the log never goes
back: a command's effective time is the latest ``now`` seen so far (a new
leader whose clock is behind its predecessor's keeps the old time until its
own catches up), so a job is never finished before it was created, and
creation times follow submission order, which makes a time range a range of
``seq``. Each command first moves
delayed jobs whose time has come into the ready order, so when a job becomes
due is itself a function of the log.

Execution is at-least-once, completion exactly-once: an assignment bumps the
job's ``attempts``, which is the fencing token of that run; a report or expiry
naming another attempt (or another worker) is stale and ignored, and counted.
Leases are not here: they are the leader's soft state
(:mod:`actors.scheduler.leases`).

Jobs that depend on others wait ``blocked``; who waits on whom, and the release
of waiting jobs in bounded steps, is :mod:`actors.scheduler.dependencies`. A
submit naming a parent that is neither live nor known final makes nothing and
answers :class:`~transport.parents.ParentsMissing` (the leader looks again).

Idempotency keys of live jobs are in ``by_key``; a key whose job finished
stays here for :data:`KEY_WINDOW` more log entries, which covers the gap
between the leader looking the key up in its history and its submit being
applied (the leader re-checks when that gap would be wider). Unique keys are
in ``by_unique`` while their job is live, and only then.

Limits and pauses of job types (:mod:`actors.scheduler.type_control`) are
enforced here, as assignments apply: an assignment over its type's limit,
or of a paused type, is refused on every master alike, whoever proposed it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Collection, Container, Iterator, Mapping, Sequence

import attrs

from actors.scheduler.attempt_log import appended
from actors.scheduler.backoff import Backoff
from actors.scheduler.bulk_cancel import matching
from actors.scheduler.dependencies import PARENT_FAILED, Dependencies, Verdict
from actors.scheduler.lifecycle import TERMINAL, JobStatus, WorkerState, transition
from actors.scheduler.ready_queue import ReadyQueue
from actors.scheduler.records import Job, Worker, same_body
from actors.scheduler.retry_policy import backoff_for, exit_code_is_final
from actors.scheduler.schedules import SCHEDULE_CHANGES, ScheduleTable
from actors.scheduler.submit_plan import Fate, SubmitPlan, plan
from actors.scheduler.type_control import Limit, TypeControl
from transport.cluster import JobChanged, Submitted
from transport.cluster import JobStatus as StatusOf
from transport.codec import Message, decode
from transport.commands import (
    AssignCmd,
    CancelCmd,
    DeleteCmd,
    DeregisterWorkerCmd,
    ExpireLeasesCmd,
    ExpireWorkerCmd,
    NewJob,
    PurgeCmd,
    RegisterWorkerCmd,
    ReportCmd,
    RetainCmd,
    RetryCmd,
    SetRetentionCmd,
    SubmitCmd,
    TickCmd,
    removes,
)
from transport.job_options import JobOptions
from transport.limit_commands import (
    CancelledMany,
    CancelledRun,
    CancelManyCmd,
    ClearLimitCmd,
    LimitCleared,
    PauseTypeCmd,
    SetLimitCmd,
)
from transport.parents import FinalParent, ParentsMissing
from transport.records import JobQuery
from transport.schedule_commands import FireScheduleCmd

__all__ = ["DEDUPLICATED", "KEY_WINDOW", "JobStateMachine", "Retention"]

# log entries for which a finished job's idempotency key is still remembered here: the
# leader proposes a keyed submit within half of it of its history lookup (a few
# entries, normally), and a busy log finishes hundreds of jobs per entry
KEY_WINDOW = 256
# (index it finished at, job id, final status, type, finished_at, seq)
RecentKey = tuple[int, str, str, str, float | None, int]
_FINAL_NAMES = frozenset(status.value for status in TERMINAL)
# failure reasons that come with the worker's own error for the attempt
_REPORTED = frozenset({"error", "timeout", "permanent"})
_RUNNING = JobStatus.RUNNING.value
# what a submit answers when a live job already holds the new job's unique_key
DEDUPLICATED = "unique"


@attrs.frozen
class Retention:
    """How long finished jobs stay in the history (replicated, so every master agrees)."""

    keep_finished_s: float = 86_400.0
    max_finished: int = 10_000_000


class JobStateMachine:
    def __init__(self, backoff: Backoff | None = None, *, dead_letter: bool = True) -> None:
        self.backoff = backoff or Backoff()
        self.dead_letter = dead_letter
        self._reset()

    def _reset(self) -> None:
        """An empty table (restoring a snapshot starts from here)."""
        self.jobs: dict[str, Job] = {}
        # live jobs by seq (submission order; a retried job keeps its seq)
        self.by_seq: dict[int, Job] = {}
        # the seqs of live jobs, ascending, for bisecting a page's start; seqs of jobs
        # that left stay until the list is rebuilt
        self.seq_index: list[int] = []
        self.next_seq = 1
        # the log's own clock: the latest ``now`` of any command applied
        self.now = 0.0
        self.by_key: dict[str, str] = {}
        # unique_key -> the live job holding it (at most one live job per key)
        self.by_unique: dict[str, str] = {}
        # limits and pauses of job types
        self.control = TypeControl()
        # key -> what is left of its finished job (:data:`RecentKey`); and the keys in
        # finishing order
        self.recent_keys: dict[str, RecentKey] = {}
        self.recent_order: deque[tuple[int, str]] = deque()
        self.queue = ReadyQueue()
        self.scheduled: set[str] = set()
        self.deps = Dependencies()
        self.workers_by_id: dict[str, Worker] = {}
        # ids of workers whose slots, state or registration changed (or that left) since
        # the leader's dispatcher last took them: it keeps its pool in step from these
        # alone rather than walking every worker on every plan. None while no dispatcher
        # leads here (a follower), so nothing gathers that nobody takes
        self.changed_workers: set[str] | None = None
        self.applied_index = 0
        self.stale_reports = 0
        self.lease_timeouts = 0
        self.retries_by_reason: dict[str, int] = {}
        # (type, status name) -> jobs in that status, live or in the history (removing a
        # record does not lower it); statuses are read as ``_value_``, because on the hot
        # path both ``Enum.value`` (a descriptor) and hashing a member are slow
        self.counts_by_type_status: dict[tuple[str, str], int] = {}
        # (type, status) -> how many times a job entered that status ("submitted" too):
        # monotonic, for the podium_jobs_total counter
        self.entered: dict[tuple[str, str], int] = {}
        self.retention = Retention()
        # for the shell: (index, job) that left memory, and ids revived from the history
        self.finished: list[tuple[int, Job]] = []
        self.revived: list[str] = []
        # the schedules (:mod:`actors.scheduler.schedules`): a fire makes its jobs here
        self.schedules = ScheduleTable()

    # -- applying the log ------------------------------------------------------------

    def apply(self, index: int, data: bytes) -> Message | None:
        return self.apply_decoded(index, decode(data))

    def apply_decoded(self, index: int, cmd: Message) -> Message | None:
        """Apply entry ``index`` already decoded (the leader's own proposals are)."""
        self.applied_index = index
        recent = self.recent_order
        while recent and recent[0][0] <= index - KEY_WINDOW:
            _, key = recent.popleft()
            seen = self.recent_keys.get(key)
            if seen is not None and seen[0] <= index - KEY_WINDOW:
                del self.recent_keys[key]
        return self.apply_command(cmd)

    def apply_command(self, cmd: Message) -> Message | None:
        result = self._apply_one(cmd)
        if self.deps.candidates:
            self._release_blocked()
        return result

    def _apply_one(self, cmd: Message) -> Message | None:
        now = self.now = max(getattr(cmd, "now", 0.0), self.now)
        self._promote(now)
        if isinstance(cmd, SubmitCmd):
            return self._submit(cmd)
        if isinstance(cmd, AssignCmd):
            self._assign(cmd)
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
        elif isinstance(cmd, DeleteCmd):
            return self._delete(cmd)
        elif isinstance(cmd, PurgeCmd | RetainCmd):
            # the shell removes the records; a removed job's key is free from now on
            self._forget_keys(lambda k: removes(cmd, k[5], k[2], k[3], k[4]))
        elif isinstance(cmd, SetRetentionCmd):
            self.retention = Retention(cmd.keep_finished_s, cmd.max_finished)
        elif isinstance(cmd, SetLimitCmd | ClearLimitCmd | PauseTypeCmd):
            return self._control(cmd)
        elif isinstance(cmd, CancelManyCmd):
            return self._cancel_many(cmd)
        elif isinstance(cmd, FireScheduleCmd):
            fired = self.schedules.fire(cmd, now)
            if fired:
                # a job with a unique key still held finds that job instead of making one
                # (a schedule's job has no parents, so nothing can be missing)
                made = self._submit(SubmitCmd(now, fired))
                if isinstance(made, Submitted):
                    self.schedules.found(cmd.name, made.jobs[-1].id)
        elif isinstance(cmd, SCHEDULE_CHANGES):
            return self.schedules.change(cmd, now)
        elif not isinstance(cmd, TickCmd):
            raise TypeError(f"not a job command: {type(cmd).__name__}")
        return None

    def take_finished(self) -> list[tuple[int, Job]]:
        """Jobs that left memory since the last call, with the index that finished each."""
        out, self.finished = self.finished, []
        return out

    def take_revived(self) -> list[str]:
        """Ids brought back from the history (retried) since the last call."""
        out, self.revived = self.revived, []
        return out

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

    def _add(self, job: Job) -> None:
        self.jobs[job.id] = job
        self.by_seq[job.seq] = job
        seqs = self.seq_index
        if not seqs or job.seq > seqs[-1]:
            seqs.append(job.seq)
        else:  # a retried job comes back under its old seq, which may still be listed
            pos = bisect_left(seqs, job.seq)
            if pos == len(seqs) or seqs[pos] != job.seq:
                seqs.insert(pos, job.seq)
        if job.idempotency_key is not None:
            self.by_key.setdefault(job.idempotency_key, job.id)
        options = job.options
        if options is not None:
            if options.unique_key is not None:
                self.by_unique.setdefault(options.unique_key, job.id)
            if options.depends_on:
                self.deps.link(job.id, job.seq, options.depends_on)

    def _leave(self, job: Job) -> None:
        """A final job leaves memory, for the history (unless the policy keeps none)."""
        del self.jobs[job.id]
        del self.by_seq[job.seq]
        if len(self.seq_index) > 2 * len(self.by_seq) + 1024:
            self.seq_index = sorted(self.by_seq)
        options = job.options
        if options is not None:
            if options.unique_key is not None and self.by_unique.get(options.unique_key) == job.id:
                del self.by_unique[options.unique_key]
            if options.depends_on:
                self.deps.unlink(job.seq, options.depends_on)
        key = job.idempotency_key
        if key is not None:
            if self.by_key.get(key) == job.id:
                del self.by_key[key]
            self.recent_keys[key] = (
                self.applied_index,
                job.id,
                job.status._value_,
                job.type,
                job.finished_at,
                job.seq,
            )
            self.recent_order.append((self.applied_index, key))
        if self.deps.children:
            self.deps.parent_left(job.id, job.status._value_, job.result)
        # every job that leaves is taken by the shell, for its final event, even when the
        # policy keeps no history (the shell then writes no record of it)
        self.finished.append((self.applied_index, job))

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

    def _known_key(self, key: str) -> StatusOf | None:
        live = self.by_key.get(key)
        if live is not None:
            return StatusOf(live, self.jobs[live].status._value_)
        seen = self.recent_keys.get(key)
        return StatusOf(seen[1], seen[2]) if seen is not None else None

    def _submit(self, cmd: SubmitCmd) -> Submitted | ParentsMissing:
        planned = plan(cmd.jobs, lambda key: self._known_key(key) is not None, self.by_unique.get)
        missing = self._missing_parents(cmd, planned)
        if missing:
            return ParentsMissing(missing)
        out = []
        made = Fate.MADE
        for spec, fate in zip(cmd.jobs, planned.fates, strict=True):
            if fate is not made:
                out.append(self._not_made(spec, fate, planned))
                continue
            depends_on = planned.depends_on.get(spec.id) if planned.depends_on else None
            if depends_on is not None:
                assert spec.options is not None
                spec = attrs.evolve(spec, options=attrs.evolve(spec.options, depends_on=depends_on))
            job = Job(spec, self.next_seq, self.now)
            self.next_seq += 1
            if job.options is not None and job.options.depends_on:
                job.status = JobStatus.BLOCKED  # born waiting for its parents
            elif job.run_at is not None and job.run_at > self.now:
                job.status = JobStatus.SCHEDULED  # born delayed
            self._add(job)
            self._count_new(job)
            self._entered_new(job)
            if job.status is JobStatus.BLOCKED:
                self._block(job)
            else:
                self._enqueue(job, self.now)
            out.append(StatusOf(job.id, job.status._value_))
        self._remember(cmd.parents)
        return Submitted(tuple(out))

    def _not_made(self, spec: NewJob, fate: Fate, planned: SubmitPlan) -> StatusOf:
        """The answer for a job the submit does not make: the job its idempotency key
        names (``conflict`` when that live job has another body), or the live job holding
        its unique key."""
        if fate is Fate.ANSWERED:
            assert spec.idempotency_key is not None
            first = self._known_key(spec.idempotency_key)
            assert first is not None
            live = self.jobs.get(first.id)
            # a key whose job finished here is only remembered, not its body
            same = live is None or same_body(live, spec)
            return StatusOf(first.id, first.status, "same" if same else "conflict")
        holder = self.jobs[planned.stand_ins[spec.id]]
        return StatusOf(holder.id, holder.status._value_, DEDUPLICATED)

    def _remember(self, parents: Sequence[FinalParent]) -> None:
        """What the leader's history said of final parents of jobs now live (a parent
        live here after all wins: it was retried meanwhile)."""
        for parent in parents:
            if parent.id not in self.jobs:
                self.deps.remember(parent.id, parent.status, parent.result)

    def _unique_holder(self, options: JobOptions | None) -> Job | None:
        """The live job holding the unique key ``options`` asks for, if any."""
        unique = options.unique_key if options is not None else None
        holder = self.by_unique.get(unique) if unique is not None else None
        return self.jobs[holder] if holder is not None else None

    def _missing_parents(self, cmd: SubmitCmd, planned: SubmitPlan) -> tuple[str, ...]:
        """Parents named by jobs this submit makes (stand-ins resolved) that are neither
        live, accounted for by it, nor known final (here or in the command): then it must
        make nothing. A job stood in for is accounted for even where a child still names
        it (a cycle through its holder): that child is decided as for an unknown parent."""
        fates = planned.fates
        if not any(s.options is not None and s.options.depends_on for s in cmd.jobs):
            return ()
        accounted = {
            spec.id for spec, fate in zip(cmd.jobs, fates, strict=True) if fate is not Fate.ANSWERED
        }
        known = {parent.id for parent in cmd.parents}
        jobs, deps = self.jobs, self.deps
        missing = {
            parent
            for spec, fate in zip(cmd.jobs, fates, strict=True)
            if fate is Fate.MADE and spec.options is not None
            for parent in planned.depends_on.get(spec.id, spec.options.depends_on)
            if parent not in accounted
            and parent not in jobs
            and parent not in known
            and not deps.known_final(parent)
        }
        return tuple(sorted(missing))

    def _block(self, job: Job) -> None:
        """A job born blocked is looked at at the end of this very command if none of its
        parents is live (a sibling made later in the command counts as live then)."""
        assert job.options is not None
        if not any(parent in self.jobs for parent in job.options.depends_on):
            self.deps.candidates.append(job.id)

    def _release_blocked(self) -> None:
        """Look at the next :data:`~actors.scheduler.dependencies.RELEASE_STEP` candidates:
        each still blocked with no live parent runs, is skipped or fails."""
        deps, jobs, now = self.deps, self.jobs, self.now
        blocked = JobStatus.BLOCKED
        for job_id in deps.take():
            job = jobs.get(job_id)
            if job is None or job.status is not blocked or job.options is None:
                continue
            options = job.options
            verdict, parent, status = deps.verdict(
                options.depends_on, options.on_parent_failure, jobs
            )
            if verdict is Verdict.WAIT:
                continue
            if verdict is Verdict.RUN:
                self._enqueue(job, now)
                continue
            job.last_reason = PARENT_FAILED
            job.error = f"parent {parent} ended {status}"
            job.finished_at = now
            if verdict is Verdict.SKIP:
                final = JobStatus.CANCELLED
            else:
                final = JobStatus.DEAD if self.dead_letter else JobStatus.FAILED
            self._set_status(job, final, now)
            self._leave(job)

    def _assign(self, cmd: AssignCmd) -> None:
        # limits and pauses are enforced here, on every master alike, whatever was proposed
        control = self.control if self.control.active else None
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
            if control is not None and not control.admit(
                job.type, self.now, self.running_of(job.type)
            ):
                continue
            self.queue.remove(job.id)
            self._set_status(job, JobStatus.RUNNING, self.now)
            job.attempts = a.attempt
            job.worker = worker.id
            job.started_at = self.now
            worker.running.add(job.id)
            self._refresh(worker)

    def is_current(self, job_id: str, attempt: int, worker: str | None) -> bool:
        """Whether ``attempt`` is the job's live run (on ``worker``, when given)."""
        return self._current(job_id, attempt, worker) is not None

    def _current(self, job_id: str, attempt: int, worker: str | None) -> Job | None:
        job = self.jobs.get(job_id)
        if job is None or job.status is not JobStatus.RUNNING or job.attempts != attempt:
            return None
        if worker is not None and job.worker != worker:
            return None
        return job

    def _report(self, cmd: ReportCmd) -> None:
        for item in cmd.reports:
            job = self._current(item.job_id, item.attempt, cmd.worker)
            if job is None:
                self.stale_reports += 1
                continue
            if not item.started:
                self._hand_back(job)
                continue
            job.error = item.error
            job.result = item.result
            if item.ok:
                self._release(job)
                job.finished_at = self.now
                self._set_status(job, JobStatus.SUCCEEDED, self.now)
                self._leave(job)
            else:
                reason = "timeout" if item.timed_out else "error"
                final = item.permanent or exit_code_is_final(job.options, item.result)
                self._fail(job, reason, item.jitter, self.now, permanent=final)

    def _hand_back(self, job: Job) -> None:
        """A worker gave the job back without running it (it is stopping): the job is
        due again at once, and the attempt it never started is not counted, so no retry
        is spent. The attempt's number is given again; its first holder never ran it
        and has dropped it, so a number still starts at most once."""
        self._release(job)
        job.attempts -= 1
        job.run_at = None
        self._enqueue(job, self.now)

    def _release(self, job: Job) -> None:
        worker = self.workers_by_id.get(job.worker or "")
        if worker is not None:
            worker.running.discard(job.id)
            self._refresh(worker)

    def _fail(
        self, job: Job, reason: str, jitter: float, now: float, *, permanent: bool = False
    ) -> None:
        """A run ended without success: retry after a backoff (the job's own, if it has
        one), or dead-letter the job; a ``permanent`` failure is never retried."""
        self._release(job)
        if permanent:
            reason = "permanent"
        job.last_reason = reason
        # the worker's error belongs to this attempt only when the worker reported it
        error = job.error if reason in _REPORTED else ""
        job.attempts_log = appended(job.attempts_log, job.attempts, job.worker, reason, error, now)
        if job.attempts <= job.max_retries and not permanent:
            self.retries_by_reason[reason] = self.retries_by_reason.get(reason, 0) + 1
            job.run_at = now + backoff_for(self.backoff, job.options).delay(job.attempts, jitter)
            self._enqueue(job, now)
        else:
            job.finished_at = now
            final = JobStatus.DEAD if self.dead_letter else JobStatus.FAILED
            self._set_status(job, final, now)
            self._leave(job)

    def _cancel(self, cmd: CancelCmd) -> JobChanged:
        """Cancel a live job; a job not in memory is reported not found (the shell tells
        a finished one, which the history holds, from an unknown one)."""
        job = self.jobs.get(cmd.job_id)
        if job is None:
            return JobChanged(cmd.job_id, "", "", True)
        if job.status is JobStatus.RUNNING:
            self._release(job)
        else:
            self.queue.remove(job.id)
            self.scheduled.discard(job.id)
        job.finished_at = self.now
        self._set_status(job, JobStatus.CANCELLED, self.now)
        self._leave(job)
        return JobChanged(job.id, job.status.value, "", False)

    def _retry(self, cmd: RetryCmd) -> JobChanged:
        job = self.jobs.get(cmd.job_id)
        if job is not None:
            return JobChanged(
                job.id,
                job.status.value,
                f"only dead or failed jobs can be retried; this one is {job.status.value}",
                False,
            )
        record = cmd.record
        if record is None or record.id != cmd.job_id:
            return JobChanged(cmd.job_id, "", "", True)
        if record.status not in (JobStatus.DEAD.value, JobStatus.FAILED.value):
            return JobChanged(
                record.id,
                record.status,
                f"only dead or failed jobs can be retried; this one is {record.status}",
                False,
            )
        holder = self._unique_holder(record.options)
        if holder is not None:
            return JobChanged(
                record.id,
                record.status,
                f"its unique_key is held by live job {holder.id}; cancel that one first",
                False,
            )
        job = Job.revive(record)
        self._add(job)
        # its parents' outcomes were forgotten when it left (unless another child kept them)
        self._remember(cmd.parents)
        job.max_retries += job.attempts
        job.run_at = None
        job.error = ""
        job.finished_at = None
        self._enqueue(job, self.now)
        self.revived.append(job.id)
        return JobChanged(job.id, job.status.value, "", False)

    def _control(self, cmd: SetLimitCmd | ClearLimitCmd | PauseTypeCmd) -> LimitCleared | None:
        if isinstance(cmd, SetLimitCmd):
            limit = Limit(cmd.rate_per_s, cmd.burst, cmd.max_running)
            self.control.set(cmd.type, limit, self.now)
        elif isinstance(cmd, ClearLimitCmd):
            return LimitCleared(self.control.clear(cmd.type))
        else:
            self.control.pause(cmd.type, cmd.paused)
        return None

    def _cancel_many(self, cmd: CancelManyCmd) -> CancelledMany:
        """Cancel what ``cmd`` names, in submission order, each as a single cancel would;
        the runs cancelled are returned so the leader tells their workers."""
        running: list[CancelledRun] = []
        found = matching(self.jobs, cmd)
        for job in found:
            if job.status is JobStatus.RUNNING and job.worker is not None:
                running.append(CancelledRun(job.worker, job.id, job.attempts))
            self._cancel(CancelCmd(cmd.now, job.id))
        return CancelledMany(len(found), tuple(running))

    def _forget_keys(self, removed: Callable[[RecentKey], bool]) -> None:
        for key in [k for k, seen in self.recent_keys.items() if removed(seen)]:
            del self.recent_keys[key]

    def _delete(self, cmd: DeleteCmd) -> JobChanged | None:
        """Only a final job's record may be deleted; None lets the shell remove it."""
        job = self.jobs.get(cmd.job_id)
        if job is None:
            self._forget_keys(lambda seen: seen[1] == cmd.job_id)
            return None
        return JobChanged(
            job.id,
            job.status.value,
            f"only final jobs can be deleted; this one is {job.status.value} (cancel it first)",
            False,
        )

    def _register(self, cmd: RegisterWorkerCmd) -> None:
        worker = self.workers_by_id.get(cmd.worker)
        if worker is None:
            worker = self.workers_by_id[cmd.worker] = Worker(cmd.worker, cmd.capacity, cmd.types)
        worker.capacity = cmd.capacity
        worker.prefetch = cmd.prefetch
        worker.types = cmd.types
        worker.registered_at = self.now
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
            for item in cmd.unstarted:
                job = self._current(item.job_id, item.attempt, cmd.worker)
                if job is not None:
                    self._hand_back(job)
            self._give_back(worker, "worker_left", (), self.now)
            del self.workers_by_id[cmd.worker]
            self._worker_changed(cmd.worker)

    def _expire_worker(self, cmd: ExpireWorkerCmd) -> None:
        """The leader saw the worker's lease run out (its soft state decides, not this)."""
        worker = self.workers_by_id.get(cmd.worker)
        if worker is None or worker.state is WorkerState.LOST:
            return
        self.lease_timeouts += len(worker.running)
        self._give_back(worker, "lease_expired", cmd.jitters, self.now)
        worker.state = transition(worker.state, WorkerState.LOST)
        self._worker_changed(worker.id)

    def _expire_leases(self, cmd: ExpireLeasesCmd) -> None:
        for pos, running in enumerate(cmd.jobs):
            job = self._current(running.job_id, running.attempt, None)
            if job is None:
                continue
            self.lease_timeouts += 1
            jitter = cmd.jitters[pos] if pos < len(cmd.jitters) else 0.0
            self._fail(job, "lease_expired", jitter, self.now)

    def _worker_changed(self, worker_id: str) -> None:
        changed = self.changed_workers
        if changed is not None:
            changed.add(worker_id)

    def _refresh(self, worker: Worker) -> None:
        self._worker_changed(worker.id)
        if worker.state is WorkerState.LOST:
            return
        state = (
            WorkerState.BUSY if len(worker.running) >= worker.capacity else WorkerState.AVAILABLE
        )
        if state is not worker.state:
            worker.state = transition(worker.state, state)

    # -- reading (pure; the leader's scheduler and the API) -------------------------------

    def job(self, job_id: str) -> Job | None:
        """A live job (a final one is in the history, not here)."""
        return self.jobs.get(job_id)

    def worker(self, worker_id: str) -> Worker | None:
        return self.workers_by_id.get(worker_id)

    def workers(self) -> list[Worker]:
        return [self.workers_by_id[w] for w in sorted(self.workers_by_id)]

    def running_jobs(self) -> Iterator[tuple[str, str, int]]:
        """(worker, job id, attempt) of every running job."""
        for worker in self.workers():
            for job_id in sorted(worker.running):
                yield worker.id, job_id, self.jobs[job_id].attempts

    def due_jobs(
        self,
        types: Collection[str],
        limit: int,
        skip: Container[str] = (),
        caps: Mapping[str, int] | None = None,
    ) -> list[Job]:
        """The next ``limit`` pending jobs of ``types``, in exact scheduling order, at most
        ``caps[type]`` of a type that has a cap."""
        return [self.jobs[i] for i in self.queue.peek_due(types, limit, skip, caps)]

    def running_of(self, job_type: str) -> int:
        """Running jobs of ``job_type`` (kept counted, never scanned)."""
        return self.counts_by_type_status.get((job_type, _RUNNING), 0)

    def next_run_at(self) -> float | None:
        """When the earliest delayed job becomes due (the leader proposes a TickCmd then);
        0.0 while blocked jobs wait to be looked at in the next step."""
        if self.deps.candidates:
            return 0.0
        return self.queue.next_run_at()

    def parent_results(self, job: Job) -> bytes:
        """The results of ``job``'s final parents, for its assignment (``ctx.parents``)."""
        options = job.options
        if options is None or not options.depends_on:
            return b""
        return self.deps.results(options.depends_on)

    def known_key(self, key: str) -> tuple[str, str] | None:
        """(id, status) of the job holding idempotency ``key``, if this table knows it."""
        found = self._known_key(key)
        return (found.id, found.status) if found is not None else None

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

    def serves(self, job_type: str) -> bool:
        """Whether a worker not lost takes ``job_type`` (a few workers, not every job)."""
        lost = WorkerState.LOST
        return any(job_type in w.types for w in self.workers_by_id.values() if w.state is not lost)

    def unserved_types(self) -> list[str]:
        """Types with pending jobs that no worker takes: they wait for one to connect."""
        pending = JobStatus.PENDING.value
        return sorted(
            job_type
            for (job_type, status), n in self.counts_by_type_status.items()
            if status == pending and n > 0 and not self.serves(job_type)
        )

    def live_page(self, q: JobQuery) -> list[Job]:
        """Up to ``q.limit`` live jobs that ``q`` admits, in seq order from ``q.after_seq``."""
        if q.status in _FINAL_NAMES:
            return []
        seqs, by_seq, after = self.seq_index, self.by_seq, q.after_seq
        if q.ascending:
            start = bisect_right(seqs, after) if after is not None else 0
            positions: range = range(start, len(seqs))
        else:
            end = bisect_left(seqs, after) if after is not None else len(seqs)
            positions = range(end - 1, -1, -1)
        page: list[Job] = []
        for pos in positions:
            job = by_seq.get(seqs[pos])
            if job is None or not q.admits(job.status._value_, job.type, job.created_at, job.seq):
                continue
            if q.owner is not None and not q.owns(job.options):
                continue
            page.append(job)
            if len(page) >= q.limit:
                break
        return page
