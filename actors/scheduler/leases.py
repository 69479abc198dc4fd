"""The leader's soft state: until when it trusts each worker and each running attempt.

Leases are not in the replicated log. A heartbeat renews them in the
leader's memory; the log sees only what changes the replicated state (a
worker registering, a worker declared lost, jobs sent back). So an idle
cluster writes nothing, and a heartbeat costs no fsync anywhere.

What keeps this safe across a change of leader:

- A worker fences itself: it stops its jobs at "send time of its last
  acknowledged heartbeat + lease", and a leader renews a lease at the time
  it *received* that heartbeat, which is later. So a worker's own deadline
  never outlasts the leader's view of it.
- A leader acknowledges a heartbeat only after confirming it still leads
  (a ReadIndex round), so a deposed leader cannot extend a lease past the
  moment its successor took over.
- A new leader knows nothing of when workers last beat, so it gives every
  known worker, and every running attempt, a full lease from when it took
  over (:meth:`Leases.take_over`) before it declares any lost: whatever a
  worker was granted before, it expired by then. It assigns work only to a
  worker it has heard from itself (:meth:`Leases.usable`).
- Once a leader decides a worker is lost, nothing from that worker renews
  anything until the loss is in the log and the worker has registered again
  (:meth:`Leases.expire_worker`): a lease granted in between would let the
  worker run on the jobs the loss is about to hand to others. Nor does the
  leader send a worker an assignment once it no longer trusts it
  (:meth:`Leases.trusts`).

Times come in as arguments; this class reads no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from transport.cluster import RunningJob

__all__ = ["Leases"]


class Leases:
    def __init__(self, lease_s: float) -> None:
        self.lease_s = lease_s
        # the lease of anything this leader has no news of (known at take-over, or
        # committed by the previous leader and applied after it): a full one from then
        self.grace_until = float("-inf")
        # worker -> when the leader stops trusting it
        self.workers: dict[str, float] = {}
        # workers heard from (heartbeat or hello) since this leader took over
        self.heard: dict[str, float] = {}
        # of those, the ones that said they are stopping: they get no new work
        self.draining: set[str] = set()
        # workers this leader declared lost, until they register again
        self.expiring: set[str] = set()
        # worker -> the log index of its latest registration applied in this term: a
        # hello that writes nothing is answered with it, so a worker whose first answer
        # was lost still learns it (an older term's assignments the term fence refuses)
        self.registrations: dict[str, int] = {}
        # job id -> (attempt, deadline) for running attempts
        self.jobs: dict[str, tuple[int, float]] = {}
        # workers first heard from in this term, that began or stopped draining, or were
        # forgotten, since the dispatcher last took them (a renewed lease only moves a
        # deadline later, which cannot make a usable worker unusable)
        self.changed: set[str] = set()

    def take_over(self, now: float) -> None:
        """A new term: every worker and running attempt gets a full lease from ``now``."""
        self.grace_until = now + self.lease_s
        self.workers = {}
        self.heard = {}
        self.draining = set()
        self.expiring = set()
        self.registrations = {}
        self.jobs = {}
        self.changed = set()

    def heard_from(self, worker: str, now: float, *, draining: bool = False) -> None:
        """A heartbeat or hello received at ``now``: the worker's lease runs from here.
        Every message says whether it drains, so a new leader knows before assigning."""
        self.workers[worker] = now + self.lease_s
        if worker not in self.heard or (worker in self.draining) is not draining:
            self.changed.add(worker)
        self.heard[worker] = now
        if draining:
            self.draining.add(worker)
        else:
            self.draining.discard(worker)

    def renew_jobs(self, jobs: Iterable[RunningJob], now: float) -> None:
        until = now + self.lease_s
        table = self.jobs
        for job in jobs:
            table[job.job_id] = (job.attempt, until)

    def assigned(self, job_id: str, attempt: int, until: float) -> None:
        self.jobs[job_id] = (attempt, until)

    def forget_worker(self, worker: str) -> None:
        self.changed.add(worker)
        self.workers.pop(worker, None)
        self.heard.pop(worker, None)
        self.draining.discard(worker)
        self.registrations.pop(worker, None)

    def expire_worker(self, worker: str) -> None:
        """This leader declares ``worker`` lost: until a registration proposed after
        that is applied (:meth:`registration_applied`), it is not trusted, whatever it
        sends."""
        self.forget_worker(worker)
        self.expiring.add(worker)

    def is_expiring(self, worker: str) -> bool:
        return worker in self.expiring

    def hello(self, worker: str, now: float, jobs: Iterable[RunningJob], *, draining: bool) -> bool:
        """A hello received at ``now``, re-attaching ``jobs``: renewed at once (True),
        unless this leader is declaring the worker lost (False: its lease waits for the
        registration the hello proposes, which the log applies after the loss)."""
        if worker in self.expiring:
            return False
        self.heard_from(worker, now, draining=draining)
        self.renew_jobs(jobs, now)
        return True

    def registration_applied(
        self,
        worker: str,
        index: int,
        at: float,
        jobs: Iterable[RunningJob],
        *,
        draining: bool,
        waited: bool,
    ) -> None:
        """The registration a hello proposed was applied at log ``index`` (time ``at``);
        one that ``waited`` (see :meth:`hello`) ends the worker's loss here, and its
        lease runs from now. (One proposed before a loss ends nothing: the loss comes
        after it in the log.)"""
        self.registrations[worker] = max(index, self.registration(worker))
        if waited and worker in self.expiring:
            self.expiring.discard(worker)
            self.heard_from(worker, at, draining=draining)
            self.renew_jobs(jobs, at)

    def registration(self, worker: str) -> int:
        """The log index of ``worker``'s latest registration applied in this term (0:
        none)."""
        return self.registrations.get(worker, 0)

    def trusts(self, worker: str, now: float) -> bool:
        """Whether ``worker`` holds a lease by this leader's view: not declared lost, and
        not run out. An assignment to a worker it does not trust is not sent (the job
        comes back when the loss, or the job's own lease, is applied)."""
        return worker not in self.expiring and self.workers.get(worker, self.grace_until) >= now

    def distrusted(self, workers: Iterable[str], now: float) -> list[str]:
        """Of ``workers``, those it does not :meth:`trust <trusts>`: the same test, asked
        once for a whole batch of assignments (it runs for every assignment made)."""
        expiring, deadlines, grace = self.expiring, self.workers, self.grace_until
        return [w for w in workers if w in expiring or deadlines.get(w, grace) < now]

    def usable(self, worker: str, now: float) -> bool:
        """Whether jobs may go to ``worker``: heard from in this term, not draining, lease
        not run out, not declared lost."""
        return worker in self.heard and worker not in self.draining and self.trusts(worker, now)

    def is_draining(self, worker: str) -> bool:
        return worker in self.draining

    def last_heard(self, worker: str) -> float | None:
        return self.heard.get(worker)

    def deadline(self, worker: str) -> float:
        return self.workers.get(worker, self.grace_until)

    def expired_workers(self, now: float, live: Iterable[str]) -> list[str]:
        """Of the workers the table counts as live, those past their lease."""
        return [w for w in live if self.deadline(w) < now]

    def expired_jobs(
        self, now: float, running: Iterable[tuple[str, int]], live: Callable[[str], bool]
    ) -> list[RunningJob]:
        """Of the running attempts (job id, attempt), those past their lease. Forgets the
        leases of jobs no longer live (an assignment proposed but not yet applied keeps
        its lease: the job is live, pending)."""
        table = self.jobs
        for job_id in [j for j in table if not live(j)]:
            del table[job_id]
        expired: list[RunningJob] = []
        for job_id, attempt in running:
            lease = table.get(job_id)
            until = lease[1] if lease is not None and lease[0] == attempt else self.grace_until
            if until < now:
                expired.append(RunningJob(job_id, attempt))
        return expired
