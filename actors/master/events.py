"""Events derived from the applied log: what a command did to the job table, as records.

Every master applies the same commands in the same order to the same table,
so what is derived here from an applied command and the table around it is
the same on every master, and so is its id: ``"<log index>-<n>"``, the n-th
event of entry ``index``. A client that reconnects to another master with
the last id it saw (``Last-Event-ID``) resumes exactly where it was.

Derivation is in two halves around the apply, :func:`capture` (the little
the table's *before* is needed for: which assignments find their job
pending, how many failures each reported job had) and :func:`derive` (the
events, from the command, its result and the table's *after*). Both are
pure: no clock (times are the log's own ``now``), no I/O, and their cost is
a few dictionary lookups per job the command names.

Events that are not in the log (progress, a worker draining, a leader
change) are "soft": a master makes them from its own view, see
:mod:`actors.master.event_ring` for their ids.

Final events (``job.finished``, ``job.dead``) come from the jobs leaving
memory in the entry that finished them, whether or not the retention policy
keeps their records (``retention.keep_finished_s = 0`` keeps none, and the
events are made all the same). A limit, written down: a job handed back
unstarted by a draining worker makes no event (it is simply pending again).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from actors.scheduler.lifecycle import JobStatus, WorkerState
from actors.scheduler.records import Job
from actors.scheduler.state import JobStateMachine
from transport.cluster import JobChanged
from transport.codec import Message
from transport.commands import (
    AssignCmd,
    DeregisterWorkerCmd,
    ExpireLeasesCmd,
    ExpireWorkerCmd,
    RegisterWorkerCmd,
    ReportCmd,
    RetryCmd,
    SubmitCmd,
)
from transport.schedule_commands import FireScheduleCmd

__all__ = [
    "CATEGORIES",
    "EVENT_TYPES",
    "Before",
    "Event",
    "capture",
    "derive",
    "event_key",
    "key_id",
    "parse_event_id",
]

SUBMITTED = "job.submitted"
STARTED = "job.started"
PROGRESS = "job.progress"
FINISHED = "job.finished"
RETRIED = "job.retried"
DEAD = "job.dead"
WORKER_JOINED = "worker.joined"
WORKER_LOST = "worker.lost"
WORKER_LEFT = "worker.left"
WORKER_DRAINING = "worker.draining"
LEADER_CHANGED = "leader.changed"
EVENT_TYPES = (
    SUBMITTED,
    STARTED,
    PROGRESS,
    FINISHED,
    RETRIED,
    DEAD,
    WORKER_JOINED,
    WORKER_LOST,
    WORKER_LEFT,
    WORKER_DRAINING,
    LEADER_CHANGED,
)
# a ``type`` filter may name a whole family: "job", "worker", "leader"
CATEGORIES = ("job", "worker", "leader")

_PENDING = JobStatus.PENDING
_SCHEDULED = JobStatus.SCHEDULED
_RUNNING = JobStatus.RUNNING
_DEAD = JobStatus.DEAD
_LOST = WorkerState.LOST

# ordering key of an event id: (log index, 0 for log events / 1 for soft ones, n)
EventKey = tuple[int, int, int]


class Event(NamedTuple):
    """One event. ``soft`` ones come from one master's own view, not the log."""

    at: int  # the log index (of the entry, or applied before a soft event)
    n: int
    soft: bool
    type: str
    time: float
    job: str | None = None
    status: str | None = None
    worker: str | None = None
    attempt: int | None = None
    job_type: str | None = None
    # the rarer fields (a worker's capacity, a retry's reason, an error's first line)
    detail: Mapping[str, object] | None = None
    # who submitted the job (with auth on): a ``user`` sees only their own jobs' events
    owner: str | None = None

    @property
    def id(self) -> str:
        return key_id(event_key(self))

    def body(self) -> dict[str, object]:
        """The event as JSON-ready data (the SSE ``data`` line)."""
        out: dict[str, object] = {"id": self.id, "type": self.type, "time": self.time}
        if self.job is not None:
            out["job"] = self.job
        if self.status is not None:
            out["status"] = self.status
        if self.worker is not None:
            out["worker"] = self.worker
        if self.attempt is not None:
            out["attempt"] = self.attempt
        if self.job_type is not None:
            out["job_type"] = self.job_type
        if self.owner is not None:
            out["owner"] = self.owner
        if self.detail:
            out.update(self.detail)
        return out


def event_key(event: Event) -> EventKey:
    return (event.at, 1 if event.soft else 0, event.n)


def key_id(key: EventKey) -> str:
    """The id of the event with ordering key ``key``: "12-3" (log), "12-s0" (soft)."""
    index, soft, n = key
    return f"{index}-s{n}" if soft else f"{index}-{n}"


def parse_event_id(text: str) -> EventKey | None:
    """The ordering key of an id this module made ("12-3", "12-s0"); None if malformed."""
    index, sep, rest = text.strip().partition("-")
    soft = rest.startswith("s")
    n = rest[1:] if soft else rest
    if not sep or not index.isdigit() or not n.isdigit():
        return None
    return (int(index), 1 if soft else 0, int(n))


class Before(NamedTuple):
    """What :func:`capture` keeps of the table before a command: the next seq (a
    submit's jobs come after it), the assigned jobs found pending, each running job a
    report or expiry names with its attempt log (a failure writes a new one), and whether an
    expiring worker was already lost."""

    next_seq: int = 0
    pending: tuple[str, ...] = ()
    touched: tuple[tuple[Job, bytes], ...] = ()
    was_lost: bool = False


_NOTHING = Before()


def capture(table: JobStateMachine, cmd: Message) -> Before:
    """What :func:`derive` needs of the table as it was before ``cmd`` applies."""
    if isinstance(cmd, SubmitCmd | FireScheduleCmd):
        return Before(next_seq=table.next_seq)
    jobs = table.jobs
    if isinstance(cmd, AssignCmd):
        return Before(
            pending=tuple(
                a.job_id
                for a in cmd.assignments
                if (job := jobs.get(a.job_id)) is not None and job.status is _PENDING
            )
        )
    if isinstance(cmd, ReportCmd):
        return Before(touched=_touched([jobs.get(item.job_id) for item in cmd.reports]))
    if isinstance(cmd, ExpireLeasesCmd):
        return Before(touched=_touched([jobs.get(r.job_id) for r in cmd.jobs]))
    if isinstance(cmd, ExpireWorkerCmd | DeregisterWorkerCmd):
        worker = table.workers_by_id.get(cmd.worker)
        if worker is None:
            return Before(was_lost=True)
        running = [jobs.get(job_id) for job_id in sorted(worker.running)]
        return Before(touched=_touched(running), was_lost=worker.state is _LOST)
    return _NOTHING


def _touched(found: list[Job | None]) -> tuple[tuple[Job, bytes], ...]:
    """Each running job with its attempt log as it is: a failure replaces the log with a
    new one (which keeps the last attempts only, so its length may not grow)."""
    return tuple(
        (job, job.attempts_log) for job in found if job is not None and job.status is _RUNNING
    )


def derive(
    index: int,
    cmd: Message,
    result: Message | None,
    table: JobStateMachine,
    before: Before,
    finished: list[tuple[int, Job]],
) -> list[Event]:
    """The events of entry ``index``: ``cmd`` applied with ``result``; ``finished`` are
    the jobs that left memory while it applied (the tail of ``table.finished``)."""
    now = table.now
    out: list[Event] = []
    if isinstance(cmd, SubmitCmd | FireScheduleCmd):
        _submitted(out, index, now, table, before.next_seq, finished)
    elif isinstance(cmd, AssignCmd):
        jobs = table.jobs
        for job_id in before.pending:
            job = jobs.get(job_id)
            if job is not None and job.status is _RUNNING:
                out.append(
                    Event(index, len(out), False, STARTED, now, job.id, _RUNNING._value_,
                          job.worker, job.attempts, job.type, owner=owner_of(job))
                )  # fmt: skip
    elif isinstance(cmd, RegisterWorkerCmd):
        detail = {"capacity": cmd.capacity, "types": list(cmd.types)}
        out.append(Event(index, 0, False, WORKER_JOINED, now, worker=cmd.worker, detail=detail))
    elif isinstance(cmd, RetryCmd) and isinstance(result, JobChanged):
        job = table.jobs.get(cmd.job_id)
        if job is not None and not result.error and not result.not_found:
            out.append(_retried(index, 0, now, job, "manual"))
    if before.touched:
        _retries(out, index, now, before.touched)
    if isinstance(cmd, DeregisterWorkerCmd):
        out.append(Event(index, len(out), False, WORKER_LEFT, now, worker=cmd.worker))
    elif isinstance(cmd, ExpireWorkerCmd) and not before.was_lost:
        out.append(Event(index, len(out), False, WORKER_LOST, now, worker=cmd.worker))
    for _, job in finished:
        out.append(_final(index, len(out), now, job))
    return out


def _submitted(
    out: list[Event],
    index: int,
    now: float,
    table: JobStateMachine,
    first_seq: int,
    finished: list[tuple[int, Job]],
) -> None:
    """A ``job.submitted`` for every job the command made (seqs are handed out in order;
    one may already have left, failed by a parent that ended badly)."""
    by_seq = table.by_seq
    gone = {job.seq: job for _, job in finished} if finished else {}
    for seq in range(first_seq, table.next_seq):
        job = by_seq.get(seq) or gone.get(seq)
        if job is None:
            continue
        out.append(
            Event(
                index,
                len(out),
                False,
                SUBMITTED,
                now,
                job.id,
                None,
                None,
                None,
                job.type,
                owner=owner_of(job),
            )
        )


def _retries(
    out: list[Event], index: int, now: float, touched: tuple[tuple[Job, bytes], ...]
) -> None:
    for job, log_before in touched:
        if job.status in (_PENDING, _SCHEDULED) and job.attempts_log != log_before:
            out.append(_retried(index, len(out), now, job, job.last_reason))


def _retried(index: int, n: int, now: float, job: Job, reason: str) -> Event:
    detail = {"reason": reason, "run_at": job.run_at}
    return Event(index, n, False, RETRIED, now, job.id, job.status._value_, job.worker,
                 job.attempts, job.type, detail, owner_of(job))  # fmt: skip


def _final(index: int, n: int, now: float, job: Job) -> Event:
    kind = DEAD if job.status is _DEAD else FINISHED
    detail = {"error": job.error.partition("\n")[0][:200]} if job.error else None
    return Event(index, n, False, kind, now, job.id, job.status._value_, job.worker,
                 job.attempts, job.type, detail, owner_of(job))  # fmt: skip


def owner_of(job: Job) -> str | None:
    """Who submitted ``job`` (None with auth off)."""
    options = job.options
    return options.owner if options is not None else None
