"""The job commands in the Raft log: what the job state machine applies, in order, on every master.

Anything that depends on time or chance is decided by the leader when it
proposes a command and written into it (``now``, lease deadlines, the
backoff jitter, job ids), so applying the same log gives the same table on
every master, in any process, at any later time.

Worker heartbeats are not here: leases are the leader's soft state. Only
what changes the replicated state is: a worker registering or declared lost,
jobs sent back. Removing finished jobs from the history (retention, delete,
purge) is a command too, written as a predicate over the records (never as
"the oldest N"), so it removes the same rows on every master whatever each
master's history held when it applied it.
"""

from __future__ import annotations

from attrs import frozen

from transport.cluster import RunningJob
from transport.codec import Message, message
from transport.job_options import JobOptions
from transport.parents import FinalParent
from transport.records import JobRecord


@message("j.new")
@frozen
class NewJob(Message):
    id: str
    type: str
    payload: bytes
    priority: int
    max_retries: int
    timeout_s: float | None
    run_at: float | None
    idempotency_key: str | None
    options: JobOptions | None = None


@message("j.submit")
@frozen
class SubmitCmd(Message):
    now: float
    jobs: tuple[NewJob, ...]
    # parents the jobs depend on that were final (in the leader's history) when proposed
    parents: tuple[FinalParent, ...] = ()


@message("j.assignment")
@frozen
class AssignmentCmd(Message):
    job_id: str
    worker: str
    # the job's next attempt number: the fencing token of this run
    attempt: int
    lease_until: float


@message("j.assign")
@frozen
class AssignCmd(Message):
    now: float
    assignments: tuple[AssignmentCmd, ...]


@message("j.item")
@frozen
class ReportItem(Message):
    job_id: str
    attempt: int
    ok: bool
    result: bytes
    error: str
    timed_out: bool
    # drawn by the leader in [0, 1): the backoff jitter if this failure is retried
    jitter: float
    # False: the worker handed the job back without starting it
    started: bool = True
    # the handler said the failure is final (podium.Permanent): no further attempts
    permanent: bool = False


@message("j.report")
@frozen
class ReportCmd(Message):
    now: float
    worker: str
    reports: tuple[ReportItem, ...]


@message("j.cancel")
@frozen
class CancelCmd(Message):
    now: float
    job_id: str


@message("j.retry")
@frozen
class RetryCmd(Message):
    """Requeue a dead or failed job. Its record comes from the leader's history (a
    final job is no longer in memory), so every master revives the same job."""

    now: float
    job_id: str
    record: JobRecord | None
    # the record's parents that were final (in the leader's history) when proposed: their
    # results are the revived job's ``ctx.parents`` again
    parents: tuple[FinalParent, ...] = ()


@message("j.register")
@frozen
class RegisterWorkerCmd(Message):
    now: float
    worker: str
    capacity: int
    types: tuple[str, ...]
    prefetch: int = 0


@message("j.deregister")
@frozen
class DeregisterWorkerCmd(Message):
    """A worker left: ``unstarted`` (of its jobs) are requeued as handed back, the rest
    as failed attempts."""

    now: float
    worker: str
    unstarted: tuple[RunningJob, ...] = ()


@message("j.expire-worker")
@frozen
class ExpireWorkerCmd(Message):
    """The worker missed its lease: it is lost, and its jobs go back to the queue."""

    now: float
    worker: str
    jitters: tuple[float, ...]


@message("j.expire-leases")
@frozen
class ExpireLeasesCmd(Message):
    now: float
    jobs: tuple[RunningJob, ...]
    jitters: tuple[float, ...]


@message("j.tick")
@frozen
class TickCmd(Message):
    """Time passed: delayed jobs due by ``now`` become pending (proposed when nothing else is)."""

    now: float


@message("j.delete")
@frozen
class DeleteCmd(Message):
    """Remove one final job's record from the history."""

    now: float
    job_id: str


@message("j.purge")
@frozen
class PurgeCmd(Message):
    """Remove the records of final jobs in ``statuses`` (of ``type``, finished before
    ``finished_before``, when given)."""

    now: float
    statuses: tuple[str, ...]
    type: str | None
    finished_before: float | None


@message("j.retain")
@frozen
class RetainCmd(Message):
    """Retention, decided by the leader's clock and history: remove every record that
    finished before ``finished_before``, and every record with a seq up to ``upto_seq``
    (the ``max_finished`` cap: the oldest jobs go first)."""

    now: float
    finished_before: float | None
    upto_seq: int


@message("j.retention")
@frozen
class SetRetentionCmd(Message):
    """The cluster's retention policy; with ``keep_finished_s == 0`` a final job is
    not written to the history at all."""

    now: float
    keep_finished_s: float
    max_finished: int


def removes(
    cmd: PurgeCmd | RetainCmd,
    seq: int,
    status: str,
    job_type: str,
    finished_at: float | None,
) -> bool:
    """Whether ``cmd`` removes the record of a final job with these fields (the history
    and the live table's memory of recent idempotency keys both ask)."""
    if finished_at is None:
        return False
    if isinstance(cmd, PurgeCmd):
        return (
            status in cmd.statuses
            and (cmd.type is None or job_type == cmd.type)
            and (cmd.finished_before is None or finished_at < cmd.finished_before)
        )
    if cmd.finished_before is not None and finished_at < cmd.finished_before:
        return True
    return seq <= cmd.upto_seq
