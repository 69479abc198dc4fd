"""Which live jobs a bulk cancel takes: the ids it names, or every live job its filters match.

Evaluated as the command applies, on every master alike, over live jobs only
(a final job is never in memory, so it is never matched). The jobs come in
submission order, so every master cancels them, and writes their records,
in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping

from actors.scheduler.records import Job
from transport.limit_commands import CancelManyCmd

__all__ = ["matching"]


def _seq(job: Job) -> int:
    return job.seq


def matching(jobs: Mapping[str, Job], cmd: CancelManyCmd) -> list[Job]:
    """The live jobs ``cmd`` cancels, in submission order."""
    if cmd.ids:
        found = [jobs[i] for i in dict.fromkeys(cmd.ids) if i in jobs]
    else:
        statuses = frozenset(cmd.statuses)
        job_type, schedule = cmd.type, cmd.schedule
        found = [
            job
            for job in jobs.values()
            if (job_type is None or job.type == job_type)
            and (not statuses or job.status._value_ in statuses)
            and (schedule is None or (job.options is not None and job.options.schedule == schedule))
        ]
    if cmd.owner is not None:
        found = [job for job in found if job.options is not None and job.options.owner == cmd.owner]
    found.sort(key=_seq)
    return found
