"""Messages between gateways, masters and workers (the job protocol, not Raft's).

Payloads and results are JSON-like values carried as msgpack bytes, so the
codec stays strictly typed while users put anything JSON can hold in a job.
Job views travel as JSON bytes: the master renders them once and the gateway
returns them as they are.
"""

from __future__ import annotations

from attrs import frozen

from transport.codec import Message, message
from transport.job_options import JobOptions
from transport.progress import JobProgress
from transport.queue_control import GetLimits

# -- client requests (gateway -> master; a follower forwards writes to the leader) --


@message("c.jobspec")
@frozen
class JobSpec(Message):
    type: str
    payload: bytes
    priority: int
    max_retries: int
    timeout_s: float | None
    run_at: float | None
    idempotency_key: str | None
    # dependencies, uniqueness, retry policy (appended with a default: older frames read)
    options: JobOptions | None = None
    # the job's name in its batch: siblings' depends_on say "ref:<name>" for its id
    ref: str | None = None


@message("c.submit")
@frozen
class SubmitJobs(Message):
    jobs: tuple[JobSpec, ...]
    # every key here was made by its client for this call and is sent for the first
    # time, so no job can hold it yet and the leader skips its history lookup (the
    # state machine still answers a key twice in the log with its first job); a
    # gateway sending the message again clears it (appended with a default)
    fresh: bool = False


@message("c.jobstatus")
@frozen
class JobStatus(Message):
    """A submitted job's id and status. ``duplicate`` is ``""`` for a job made now;
    ``same`` when its idempotency key already named this job (the same body),
    ``conflict`` when the key names a job with another body, and ``unique`` when a live
    job already held its unique_key (this is that job; none was made)."""

    id: str
    status: str
    duplicate: str = ""


@message("c.submitted")
@frozen
class Submitted(Message):
    jobs: tuple[JobStatus, ...]


@message("c.cancel")
@frozen
class CancelJob(Message):
    id: str


@message("c.retry")
@frozen
class RetryJob(Message):
    id: str


@message("c.changed")
@frozen
class JobChanged(Message):
    """Outcome of cancel or retry: ``error`` is empty on success."""

    id: str
    status: str
    error: str
    not_found: bool


@message("c.get")
@frozen
class GetJob(Message):
    id: str


@message("c.get-many")
@frozen
class GetJobs(Message):
    """Many jobs in one read (live or finished), for a client waiting on a batch; with
    ``owner``, another owner's jobs are answered missing, as if they did not exist."""

    ids: tuple[str, ...]
    owner: str | None = None


@message("c.list")
@frozen
class ListJobs(Message):
    """A page of jobs, live and finished alike, newest first unless ``ascending``;
    ``after_seq`` is where the previous page ended (decoded from its cursor)."""

    status: str | None
    type: str | None
    limit: int
    after_seq: int | None
    ascending: bool
    since: float | None
    until: float | None
    # only jobs this user submitted (appended with a default: older frames read)
    owner: str | None = None


@message("c.delete")
@frozen
class DeleteJob(Message):
    id: str


@message("c.purge")
@frozen
class PurgeJobs(Message):
    """Remove the records of final jobs in ``statuses`` (of ``type``, finished before
    ``before``, when given)."""

    statuses: tuple[str, ...]
    type: str | None
    before: float | None


@message("c.removed")
@frozen
class Removed(Message):
    """Outcome of delete or purge: ``error`` is empty on success."""

    deleted: int
    error: str
    not_found: bool


@message("c.view")
@frozen
class JsonView(Message):
    """A rendered answer (job, page, stats, cluster) as JSON bytes; empty when not found."""

    json: bytes


@message("c.cluster")
@frozen
class GetCluster(Message):
    pass


@message("c.stats")
@frozen
class GetStats(Message):
    pass


@message("c.workers")
@frozen
class GetWorkers(Message):
    pass


# what a master answers from its own state, changing nothing: a gateway may ask again
READS = (GetJob, GetJobs, ListJobs, GetStats, GetWorkers, GetLimits)


@message("c.linearizable")
@frozen
class Linearizable(Message):
    """Serve ``read`` on the leader after a ReadIndex round: it sees every write
    acknowledged before it was sent (a plain read may be served stale by any master)."""

    read: Message


@message("c.not-leader")
@frozen
class NotLeader(Message):
    """This master cannot serve the request; ``leader`` is whom to ask, if known."""

    leader: str | None


@message("c.unavailable")
@frozen
class Unavailable(Message):
    """The request could not be committed in time (no quorum, leader change)."""

    reason: str


@message("c.rejected")
@frozen
class Rejected(Message):
    """The request is invalid in a way only the leader can tell (it names a job that
    does not exist): nothing was done, and the gateway answers 400 with ``reason``."""

    reason: str


@message("c.in-doubt")
@frozen
class InDoubt(Message):
    """The leader took the write but lost its leadership (or its disk) before it committed:
    it may still apply, through a later leader. Only a write that is safe to send again
    (an idempotency key on every job) may be retried as if nothing happened."""

    reason: str


@message("c.disk-full")
@frozen
class DiskFull(Message):
    """This master cannot write to its disk now, so it took nothing of the request."""

    reason: str


# -- workers <-> leader ---------------------------------------------------------------


@message("w.running")
@frozen
class RunningJob(Message):
    job_id: str
    attempt: int


@message("w.hello")
@frozen
class WorkerHello(Message):
    """Register (or re-register after a failover), re-attaching what the worker runs."""

    worker: str
    capacity: int
    types: tuple[str, ...]
    running: tuple[RunningJob, ...]
    # jobs it takes beyond capacity and queues, so a freed slot starts the next at once
    prefetch: int = 0
    # stopping: it takes no new work (a new leader must not assign any)
    draining: bool = False


@message("w.welcome")
@frozen
class Welcome(Message):
    """``term`` is the answering leader's: a worker refuses assignments from older ones.
    ``registered`` is the log index of the entry that registered the worker anew (0:
    the hello wrote nothing, the registration it had stands): an assignment committed
    before it was made for the worker's previous life, which a lost lease ended."""

    leader: str
    lease_s: float
    heartbeat_s: float
    term: int = 0
    registered: int = 0


@message("w.heartbeat")
@frozen
class WorkerHeartbeat(Message):
    worker: str
    running: tuple[RunningJob, ...]
    draining: bool
    # the latest progress of running jobs whose handlers reported some
    progress: tuple[JobProgress, ...] = ()


@message("w.heartbeat-ack")
@frozen
class HeartbeatAck(Message):
    """``known`` is False when the leader has no record of the worker: register again.
    ``term`` is the answering leader's."""

    known: bool
    cancel: tuple[RunningJob, ...]
    term: int = 0


@message("w.assignment")
@frozen
class Assignment(Message):
    job_id: str
    attempt: int
    type: str
    payload: bytes
    timeout_s: float | None
    # the results of the job's final parents, a packed msgpack map (its ``ctx.parents``)
    parents: bytes = b""
    # the W3C traceparent the worker parents its spans on ("": the job is not traced);
    # the job's own, or the leader's assign span when the leader traces too
    traceparent: str = ""


@message("w.assign")
@frozen
class AssignJobs(Message):
    """``term`` is the term of the leader that proposed the assignments; a worker that
    has heard from a newer leader refuses them (0, from no leader, is refused once a
    worker has heard from any)."""

    assignments: tuple[Assignment, ...]
    term: int = 0
    # the log index of the entry that made them (0: unknown, as from an older leader)
    index: int = 0


@message("w.cancel")
@frozen
class CancelRunning(Message):
    job_id: str
    attempt: int


@message("w.report")
@frozen
class JobReport(Message):
    job_id: str
    attempt: int
    ok: bool
    result: bytes
    error: str
    timed_out: bool
    # False: handed back unstarted (by a draining worker), so the attempt does not count
    started: bool = True
    # the handler raised podium.Permanent: the job fails at once, without further attempts
    permanent: bool = False


@message("w.reports")
@frozen
class ReportJobs(Message):
    """Finished jobs, batched; the leader acks once every outcome is committed."""

    worker: str
    reports: tuple[JobReport, ...]


@message("w.bye")
@frozen
class WorkerBye(Message):
    """A draining worker leaves: its remaining jobs go back to the queue at once.

    ``unstarted`` names the jobs it handed back without running them whose report
    the leader has not acknowledged: had that report been lost, the bye alone would
    count their attempts, and a job with no retries left would end dead never having
    run."""

    worker: str
    unstarted: tuple[RunningJob, ...] = ()
