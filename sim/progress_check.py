"""The simulator's check of job progress: a master keeps it only for attempts that run.

What a handler says with ``ctx.progress`` reaches the leader with the
worker's heartbeats and the other masters by relay; each master keeps the
latest value per job in its event feed (:mod:`actors.master.progress`). That
is soft state that must follow running work: once an attempt is over (done,
failed, retried, lost, cancelled) nothing of it may stay, or memory grows with
every job that ever reported progress and a job's view shows a value of a run
long gone. So after every step, :class:`ProgressCheck` requires each master's
progress to name only attempts its own table has running, and at convergence,
when nothing runs, none at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from actors.master.actor import MasterActor

__all__ = ["ProgressCheck"]


class ProgressCheck:
    def __init__(self, masters: Callable[[], Mapping[str, MasterActor | None]]) -> None:
        """``masters`` gives each master's current incarnation (None while it is down)."""
        self.masters = masters
        # (job id, attempt) whose progress some master kept (the check is not vacuous)
        self.seen: set[tuple[str, int]] = set()

    def check(self) -> str | None:
        """After every step: each kept value belongs to an attempt the table runs."""
        for name, actor in self.masters().items():
            if actor is None:
                continue
            for job_id, (attempt, _, _) in actor.feed.progress.latest.items():
                self.seen.add((job_id, attempt))
                if not actor.jobs.is_current(job_id, attempt, None):
                    job = actor.jobs.job(job_id)
                    now = f"is {job.status.value}, attempt {job.attempts}" if job else "has left"
                    return (
                        f"{name} keeps the progress of {job_id} attempt {attempt}, which its "
                        f"table does not run (the job {now})"
                    )
        return None

    def drained(self) -> str | None:
        """At convergence: nothing runs, so no master keeps any progress."""
        for name, actor in self.masters().items():
            kept = sorted(actor.feed.progress.latest) if actor is not None else []
            if kept:
                return f"{name} still keeps the progress of {len(kept)} job(s): {kept[:3]}"
        return None
