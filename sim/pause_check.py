"""The simulator's check of a paused job type: nothing of it is assigned while it is paused.

``POST /api/v1/types/{type}/pause`` commits a ``PauseTypeCmd``; from then until
the resume commits, no job of the type may start. Two things keep that
promise, and :class:`PauseCheck` watches both through what every master's
table applies:

- **the leader plans none**: an assignment naming a job of a paused type
  must not commit after the pause and before the resume, unless the leader
  chose it before it had applied the pause (the one race a correct leader
  cannot avoid: it proposed the batch while the pause was still on its way,
  and the table refuses it). The leader's applied index when it chose comes
  from the observer (``chosen_at``);
- **the table starts none**: no master moves a job of a type its table has
  paused to running, whatever was proposed.
"""

from __future__ import annotations

from collections.abc import Callable

from actors.scheduler.records import Job
from actors.scheduler.state import JobStateMachine
from sim.table_check import TableCheck
from transport.codec import Message
from transport.commands import AssignCmd
from transport.limit_commands import PauseTypeCmd

__all__ = ["PauseCheck"]


class PauseCheck(TableCheck):
    def __init__(self, chosen_at: Callable[[AssignCmd], int | None]) -> None:
        """``chosen_at`` gives the index the leader that proposed an assignment had
        applied when it chose it (None: not proposed by a master the observer watches)."""
        self.chosen_at = chosen_at
        # log index -> (type, paused) of each pause or resume committed
        self.pauses: dict[int, tuple[str, bool]] = {}
        # assignments that committed while some type was paused (the check is not vacuous)
        self.while_paused = 0
        self.problems: list[str] = []

    def started(self, node: str, table: JobStateMachine, job: Job) -> None:
        """``table`` (master ``node``) moved ``job`` to running in the entry it applies."""
        if job.type in table.control.paused:
            self.problems.append(
                f"{node} started {job.id} ({job.type!r}) at index {table.applied_index} while "
                f"its table has the type paused"
            )

    def applied(
        self, node: str, table: JobStateMachine, index: int, cmd: Message, first: bool
    ) -> None:
        """``table`` finished applying entry ``index`` (``cmd``)."""
        if isinstance(cmd, PauseTypeCmd):
            self.pauses.setdefault(index, (cmd.type, cmd.paused))
        elif isinstance(cmd, AssignCmd) and first:
            self._assigned(table, index, cmd)

    def _assigned(self, table: JobStateMachine, index: int, cmd: AssignCmd) -> None:
        if table.control.paused:
            self.while_paused += 1
        seen = self.chosen_at(cmd)
        if seen is None:
            return
        for a in cmd.assignments:
            job = table.jobs.get(a.job_id)
            if job is None:
                continue
            since = self.paused_since(job.type, index)
            if since is not None and since <= seen:
                self.problems.append(
                    f"an assignment of {a.job_id} ({job.type!r}) committed at index {index} "
                    f"while the type was paused (since index {since}): the leader chose it "
                    f"at index {seen}, after the pause had applied"
                )
                return

    def paused_since(self, job_type: str, index: int) -> int | None:
        """The index of the pause that has ``job_type`` paused just before ``index`` (None:
        not paused then). Pauses are a few commands a run: a scan is cheap."""
        since: int | None = None
        for at in sorted(self.pauses):
            if at >= index:
                break
            paused_type, paused = self.pauses[at]
            if paused_type == job_type:
                since = (at if since is None else since) if paused else None
        return since

    def check(self) -> str | None:
        return self.problems[0] if self.problems else None
