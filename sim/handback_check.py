"""The simulator's check of a draining worker's hand-back: it costs the job nothing.

A worker told to drain gives back the jobs it had queued and not started
(reported with ``started=False``, and named again in its goodbye while that
report is unacknowledged). The table must requeue such a job as if
the attempt had never been made: its number is given again (the worker that
held it never ran it and has dropped it, so a number still starts at most
once), and no retry is spent. So :class:`HandBackCheck` requires that a job
handed back

- next moves to running with the attempt number it was handed back with (a
  table that counted the hand-back would assign the next number);
- does not end dead or failed before it runs again (a table that took the
  hand-back for a failure kills a ``max_retries=0`` job that never ran).

Every master applies the same log, so each entry is looked at once, on the
first master to apply it (always in log order: a master applies an entry only
after the ones before it, or installs a snapshot of a master that did). The
state it applies to is the one every master reaches at that index, whatever
each master's incarnations did.
"""

from __future__ import annotations

from actors.scheduler.lifecycle import JobStatus
from actors.scheduler.state import JobStateMachine
from sim.table_check import TableCheck
from transport.codec import Message
from transport.commands import AssignCmd, DeregisterWorkerCmd, ReportCmd

__all__ = ["HandBackCheck"]


class HandBackCheck(TableCheck):
    def __init__(self) -> None:
        # job id -> the attempt it was handed back with, until it runs again
        self.handed_back: dict[str, int] = {}
        # hand-backs that ran again (the check is not vacuous)
        self.rerun = 0
        self.problems: list[str] = []

    def applying(
        self, node: str, table: JobStateMachine, index: int, cmd: Message, first: bool
    ) -> None:
        if not first:
            return
        if isinstance(cmd, ReportCmd):
            handed = [(i.job_id, i.attempt) for i in cmd.reports if not i.started]
        elif isinstance(cmd, DeregisterWorkerCmd):
            handed = [(i.job_id, i.attempt) for i in cmd.unstarted]
        else:
            return
        self.handed_back.update(
            (job_id, attempt)
            for job_id, attempt in handed
            if table.is_current(job_id, attempt, cmd.worker)
        )

    def applied(
        self, node: str, table: JobStateMachine, index: int, cmd: Message, first: bool
    ) -> None:
        if not first or not self.handed_back:
            return
        if isinstance(cmd, AssignCmd):
            self._assigned(node, table, index, cmd)
        for at, job in table.finished:
            given = self.handed_back.pop(job.id, None) if at == index else None
            if given is not None and job.status in (JobStatus.DEAD, JobStatus.FAILED):
                self.problems.append(
                    f"{job.id} was handed back unstarted (attempt {given}) and ended "
                    f"{job.status.value} at index {index} on {node} without running again"
                )

    def _assigned(self, node: str, table: JobStateMachine, index: int, cmd: AssignCmd) -> None:
        for a in cmd.assignments:
            job = table.jobs.get(a.job_id)
            if job is None or job.status is not JobStatus.RUNNING or job.attempts != a.attempt:
                continue
            given = self.handed_back.pop(a.job_id, None)
            if given is None:
                continue
            self.rerun += 1
            if a.attempt != given:
                self.problems.append(
                    f"{a.job_id} was handed back unstarted as attempt {given} and ran next as "
                    f"attempt {a.attempt} (index {index} on {node})"
                )

    def check(self) -> str | None:
        return self.problems[0] if self.problems else None
