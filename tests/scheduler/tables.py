"""Driving a live job table by hand, as the scheduler and event tests do: a job assigned to
worker ``w1``, its report, and the status it holds. Only what these tests write the same
way lives here; each module keeps its own ``new`` and ``machine``, whose defaults (retries,
capacity, backoff) are part of what its tests mean."""

from __future__ import annotations

import msgpack

from actors.scheduler.state import JobStateMachine
from transport.commands import AssignCmd, AssignmentCmd, ReportCmd, ReportItem


def assign(job_id: str, attempt: int, now: float, worker: str = "w1") -> AssignCmd:
    """``job_id``'s ``attempt`` leased to ``worker`` at ``now`` for ten seconds."""
    return AssignCmd(now, (AssignmentCmd(job_id, worker, attempt, now + 10),))


def run(sm: JobStateMachine, job_id: str, attempt: int = 1, now: float = 1.0) -> None:
    """Apply :func:`assign`: the job runs on ``w1``."""
    sm.apply_command(assign(job_id, attempt, now))


def report(
    sm: JobStateMachine,
    job_id: str,
    attempt: int,
    ok: bool,
    now: float = 2.0,
    *,
    result: object = "r",
    permanent: bool = False,
) -> None:
    """``w1`` reports the attempt: ``result`` packed, error "boom" when it failed, and
    ``permanent`` as a handler raising ``podium.Permanent`` sets it."""
    item = ReportItem(
        job_id,
        attempt,
        ok,
        msgpack.packb(result),
        "" if ok else "boom",
        False,
        0.0,
        True,
        permanent,
    )
    sm.apply_command(ReportCmd(now, "w1", (item,)))


def status(sm: JobStateMachine, job_id: str) -> str:
    """The job's status: live, or final and not yet taken from the table (``finished``)."""
    job = sm.job(job_id)
    if job is not None:
        return job.status.value
    left = {job.id: job for _, job in sm.finished}
    return left[job_id].status.value
