"""The simulator's check of a type limit: an independent token bucket fed by what each master
applied.

Every master's table reports each job it moves to ``running`` (with the log
index and the log's time) and the end of each entry it applies. Per master,
:class:`LimitCheck` runs its own bucket of the limit the scenario set, armed
at the index where the ``SetLimitCmd`` applied: each entry's starts of the
limited type take tokens, refilled at the rate up to the burst, and a bucket
below zero means that master admitted more than ``rate * window + burst``
starts in some window of log time (the token bucket's arrival curve, which
the limit promises). After every entry it also checks that the type's
running jobs stay within ``max_running``.

Entries a master applies again after a restart (from its own snapshot) were
counted the first time and are skipped; entries a master never applies (it
installed a leader's snapshot past them) are simply not counted there, which
can hide a violation on that master but never invent one.
"""

from __future__ import annotations

import attrs

from actors.scheduler.records import Job
from actors.scheduler.state import JobStateMachine
from sim.table_check import TableCheck
from transport.codec import Message
from transport.limit_commands import ClearLimitCmd, SetLimitCmd

__all__ = ["LimitCheck"]


@attrs.define
class _Bucket:
    """One master's view: the last entry counted, and the bucket since the limit was set."""

    done: int = 0
    armed: bool = False
    tokens: float = 0.0
    at: float = 0.0
    starts: int = 0


class LimitCheck(TableCheck):
    def __init__(self, job_type: str, rate_per_s: float, burst: float, max_running: int) -> None:
        self.job_type = job_type
        self.rate = rate_per_s
        self.burst = burst
        self.max_running = max_running
        self.masters: dict[str, _Bucket] = {}
        self.problems: list[str] = []
        # starts of the limited type counted on the first master to apply each entry
        self.counted = 0

    def started(self, node: str, table: JobStateMachine, job: Job) -> None:
        """``table`` (master ``node``) moved ``job`` to running in the entry it applies."""
        if job.type != self.job_type:
            return
        seen = self.masters.setdefault(node, _Bucket())
        if table.applied_index > seen.done:
            seen.starts += 1

    def applied(
        self, node: str, table: JobStateMachine, index: int, cmd: Message, first: bool
    ) -> None:
        """``table`` finished applying entry ``index`` (``cmd``)."""
        seen = self.masters.setdefault(node, _Bucket())
        if index <= seen.done:
            return
        now = table.now
        if isinstance(cmd, SetLimitCmd) and cmd.type == self.job_type:
            seen.armed, seen.tokens, seen.at = True, self.burst, now
        elif isinstance(cmd, ClearLimitCmd) and cmd.type == self.job_type:
            seen.armed = False
        if seen.starts and seen.armed:
            if now > seen.at:
                seen.tokens = min(self.burst, seen.tokens + self.rate * (now - seen.at))
                seen.at = now
            seen.tokens -= seen.starts
            if first:
                self.counted += seen.starts
            if seen.tokens < -1e-9:
                self.problems.append(
                    f"{node} started {seen.starts} {self.job_type!r} job(s) at index {index} "
                    f"(t={now:.3f}): over its limit of {self.rate:g}/s with a burst of "
                    f"{self.burst:g} by {-seen.tokens:.2f}"
                )
        running = table.running_of(self.job_type)
        if seen.armed and running > self.max_running:
            self.problems.append(
                f"{node} runs {running} {self.job_type!r} jobs at index {index}, over its "
                f"max_running of {self.max_running}"
            )
        seen.starts = 0
        seen.done = index

    def check(self) -> str | None:
        return self.problems[0] if self.problems else None
