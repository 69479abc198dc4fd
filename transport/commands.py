"""The job commands in the Raft log: what the job state machine applies, in order, on every master.

Anything that depends on time or chance is decided by the leader when it
proposes a command and written into it (``now``, lease deadlines, the
backoff jitter, job ids), so applying the same log gives the same table on
every master, in any process, at any later time.
"""

from __future__ import annotations

from attrs import frozen

from transport.cluster import RunningJob
from transport.codec import Message, message


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


@message("j.submit")
@frozen
class SubmitCmd(Message):
    now: float
    jobs: tuple[NewJob, ...]


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


@message("j.renew")
@frozen
class RenewCmd(Message):
    """A worker's heartbeat: it is alive and runs these attempts until ``lease_until``."""

    now: float
    worker: str
    jobs: tuple[RunningJob, ...]
    lease_until: float


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
    now: float
    job_id: str


@message("j.register")
@frozen
class RegisterWorkerCmd(Message):
    now: float
    worker: str
    capacity: int
    types: tuple[str, ...]
    lease_until: float


@message("j.deregister")
@frozen
class DeregisterWorkerCmd(Message):
    now: float
    worker: str


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
