"""Job and worker lifecycles as transition tables: an illegal move is a bug, so it raises."""

from __future__ import annotations

import enum
from typing import TypeVar

__all__ = ["TERMINAL", "IllegalTransition", "JobStatus", "WorkerState", "transition"]


class JobStatus(enum.Enum):
    PENDING = "pending"
    SCHEDULED = "scheduled"
    # waiting for the jobs it depends on to be final
    BLOCKED = "blocked"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"


class WorkerState(enum.Enum):
    AVAILABLE = "available"
    BUSY = "busy"
    LOST = "lost"


class IllegalTransition(Exception):
    pass


S = TypeVar("S", JobStatus, WorkerState)

_J = JobStatus
_W = WorkerState
TRANSITIONS: dict[enum.Enum, frozenset[enum.Enum]] = {
    _J.PENDING: frozenset({_J.RUNNING, _J.CANCELLED}),
    _J.SCHEDULED: frozenset({_J.PENDING, _J.CANCELLED}),
    # parents final: due now, due later, skipped, or failed with a parent
    _J.BLOCKED: frozenset({_J.PENDING, _J.SCHEDULED, _J.CANCELLED, _J.FAILED, _J.DEAD}),
    # a failed run goes back to pending or scheduled (backoff), or ends dead or failed
    _J.RUNNING: frozenset(
        {_J.SUCCEEDED, _J.PENDING, _J.SCHEDULED, _J.FAILED, _J.DEAD, _J.CANCELLED}
    ),
    _J.SUCCEEDED: frozenset(),
    _J.FAILED: frozenset({_J.PENDING}),
    _J.DEAD: frozenset({_J.PENDING}),
    _J.CANCELLED: frozenset(),
    _W.AVAILABLE: frozenset({_W.BUSY, _W.LOST}),
    _W.BUSY: frozenset({_W.AVAILABLE, _W.LOST}),
    _W.LOST: frozenset({_W.AVAILABLE, _W.BUSY}),
}
TERMINAL = frozenset({_J.SUCCEEDED, _J.FAILED, _J.DEAD, _J.CANCELLED})


def transition(current: S, new: S) -> S:
    if current is not new and new not in TRANSITIONS[current]:
        raise IllegalTransition(
            f"{type(current).__name__} cannot go {current.value} -> {new.value}"
        )
    return new
