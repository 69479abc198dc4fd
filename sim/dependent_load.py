"""Jobs that depend on others, in the simulated load, and the check that they wait.

:class:`DependentLoad` turns some jobs of the client's batches into children:
of a sibling in the same batch (by ref), of a job acknowledged a moment ago
(often still live, sometimes final already), or of both, with a random
``on_parent_failure``. Its draws come from their own stream, so a scenario
without dependencies loads exactly as before.

:class:`ParentWatch` is the invariant: a job never starts executing, and is
never skipped or failed for its parents, before every one of its parents is
final in some master's table. A table that releases a child early breaks it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import attrs

from actors.scheduler.dependencies import PARENT_FAILED
from actors.scheduler.records import Job
from actors.scheduler.state import JobStateMachine
from sim.table_check import TableCheck
from transport.cluster import JobSpec
from transport.job_options import PARENT_FAILURE_RULES, REF_PREFIX, JobOptions

__all__ = ["DependentLoad", "ParentWatch"]

# the share of submitted jobs made children, and how many recent acknowledgements
# parents are drawn from
CHILD_SHARE = 0.3
RECENT = 12


class DependentLoad:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.recent: list[str] = []
        self.batches = 0

    def acknowledged(self, job_id: str) -> None:
        self.recent.append(job_id)
        del self.recent[:-RECENT]

    def shape(self, specs: Sequence[JobSpec]) -> tuple[JobSpec, ...]:
        """``specs`` with some made children of an earlier sibling and/or a recent job."""
        rng = self.rng
        self.batches += 1
        out: list[JobSpec] = []
        for n, spec in enumerate(specs):
            ref = f"b{self.batches}.{n}"
            parents: list[str] = []
            if rng.random() < CHILD_SHARE:
                if n and rng.random() < 0.6:
                    parents.append(f"{REF_PREFIX}b{self.batches}.{rng.randrange(n)}")
                if self.recent and (not parents or rng.random() < 0.4):
                    parents.append(rng.choice(self.recent))
            options = None
            if parents:
                rule = rng.choice(PARENT_FAILURE_RULES)
                options = JobOptions(depends_on=tuple(parents), on_parent_failure=rule)
            out.append(attrs.evolve(spec, options=options, ref=ref))
        return tuple(out)


class ParentWatch(TableCheck):
    """Fed by every master's table (parents, final statuses) and by the workers (starts)."""

    def __init__(self, problems: list[str], now: Callable[[], float]) -> None:
        """``problems``: the observer's list, where a violation is reported."""
        self.problems = problems
        self.now = now
        # child id -> its parents, as the first table to hold it saw them
        self.parents_of: dict[str, tuple[str, ...]] = {}
        # job id -> when a table first applied its final status
        self.final_at: dict[str, float] = {}

    def added(self, node: str, table: JobStateMachine, job: Job) -> None:
        if job.options is not None and job.options.depends_on:
            self.parents_of.setdefault(job.id, job.options.depends_on)

    def ended(self, node: str, table: JobStateMachine, job: Job) -> None:
        now = self.now()
        self.final_at.setdefault(job.id, now)
        if job.last_reason == PARENT_FAILED:
            self._waited(job.id, f"ended {job.status.value} for its parents", now)

    def executing(self, job_id: str, now: float) -> None:
        """A worker started running ``job_id``."""
        self._waited(job_id, "started", now)

    def _waited(self, job_id: str, what: str, now: float) -> None:
        for parent in self.parents_of.get(job_id, ()):
            if parent not in self.final_at:
                self.problems.append(
                    f"{job_id} {what} at {now:.3f} before its parent {parent} was final"
                )
