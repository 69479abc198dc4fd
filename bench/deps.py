"""The cost of jobs that wait for another: ten thousand children of one parent.

``deps.submit@10000`` applies one submit of a parent and its 10,000 children
(born ``blocked``), per child. ``deps.release@10000`` is what the parent's
success then costs, per child: the report that finishes it and the ticks the
leader proposes while children remain, each releasing at most
:data:`~actors.scheduler.dependencies.RELEASE_STEP` of them.
``deps.release_step@10000`` is the longest the event loop is held by one
command of that release: one full step, per step.
"""

from __future__ import annotations

from collections.abc import Callable

import msgpack

from actors.scheduler.state import JobStateMachine
from bench.harness import BenchCase
from transport.commands import (
    AssignCmd,
    AssignmentCmd,
    NewJob,
    RegisterWorkerCmd,
    ReportCmd,
    ReportItem,
    SubmitCmd,
    TickCmd,
)
from transport.job_options import JobOptions

CHILDREN = 10_000
_PAYLOAD = msgpack.packb({"n": 1})
_RESULT = msgpack.packb({"rows": 1234})


def blocked_children(parent: str, count: int) -> tuple[NewJob, ...]:
    """``parent`` (a no-op) and ``count`` children waiting for it."""
    options = JobOptions(depends_on=(parent,))
    children = (
        NewJob(f"{parent}-c{i}", "noop", _PAYLOAD, 5, 3, None, None, None, options)
        for i in range(count)
    )
    return (NewJob(parent, "noop", _PAYLOAD, 5, 3, None, None, None), *children)


def _table() -> JobStateMachine:
    sm = JobStateMachine()
    sm.apply_command(RegisterWorkerCmd(0.0, "w0", 1_000_000, ("noop",)))
    return sm


def _waiting() -> JobStateMachine:
    """A table whose parent ``p`` runs on ``w0`` while its children wait."""
    sm = _table()
    sm.apply_command(SubmitCmd(1.0, blocked_children("p", CHILDREN)))
    sm.apply_command(AssignCmd(2.0, (AssignmentCmd("p", "w0", 1, 1e12),)))
    return sm


def _done() -> ReportCmd:
    return ReportCmd(3.0, "w0", (ReportItem("p", 1, True, _RESULT, "", False, 0.0),))


def _fresh(
    name: str, table: Callable[[], JobStateMachine], work: Callable[[JobStateMachine], int]
) -> BenchCase:
    """A case timing ``work`` on a new ``table()`` each time (built off the clock)."""
    tables: list[JobStateMachine] = []

    def prepare() -> None:
        tables[:] = [table()]

    return BenchCase(name, lambda: work(tables[0]), prepare)


def _submit(sm: JobStateMachine) -> int:
    sm.apply_command(SubmitCmd(1.0, blocked_children("p", CHILDREN)))
    return CHILDREN


def _release(sm: JobStateMachine) -> int:
    sm.apply_command(_done())
    while sm.deps.candidates:
        sm.apply_command(TickCmd(4.0))
    return CHILDREN


def _release_step(sm: JobStateMachine) -> int:
    sm.apply_command(_done())
    return 1


def cases() -> list[BenchCase]:
    return [
        _fresh(f"deps.submit@{CHILDREN}", _table, _submit),
        _fresh(f"deps.release@{CHILDREN}", _waiting, _release),
        _fresh(f"deps.release_step@{CHILDREN}", _waiting, _release_step),
    ]
