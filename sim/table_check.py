"""The one way a simulator check watches what every master's job table applies.

:class:`~sim.job_cluster.ObservedJobs` (the real table, wrapped) calls each
registered check (``JobObserver.table_checks``) at these moments, with the
master's name and its table. A check overrides the hooks it needs; the rest
do nothing. Every master calls them, in every incarnation, and again for
entries it applies a second time after a restart; ``first`` says whether this
is the first time any master applies the entry, so a check that must look at
each entry once does so there. (Every master applies the same log in order,
or installs a snapshot of one that applied it, so the first application of an
entry meets the state every master reaches at that index.)
"""

from __future__ import annotations

from actors.scheduler.records import Job
from actors.scheduler.state import JobStateMachine
from transport.codec import Message

__all__ = ["TableCheck"]


class TableCheck:
    def added(self, node: str, table: JobStateMachine, job: Job) -> None:
        """``job`` entered ``table``: submitted, made by a schedule, retried from the
        history, or restored from a snapshot."""

    def started(self, node: str, table: JobStateMachine, job: Job) -> None:
        """``table`` moved ``job`` to running in the entry it applies (``job.attempts`` is
        still the count before this attempt)."""

    def ended(self, node: str, table: JobStateMachine, job: Job) -> None:
        """``job`` reached a final status in ``table``."""

    def applying(
        self, node: str, table: JobStateMachine, index: int, cmd: Message, first: bool
    ) -> None:
        """``table`` is about to apply entry ``index`` (``cmd``): what it holds is the state
        the entry applies to."""

    def applied(
        self, node: str, table: JobStateMachine, index: int, cmd: Message, first: bool
    ) -> None:
        """``table`` finished applying entry ``index`` (``cmd``)."""
