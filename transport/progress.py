"""How far a running job says it is, as the worker's heartbeat carries it to the leader.

Progress is soft state, like a lease: only the latest value of each running
attempt matters, so it rides on the heartbeat (never a log write per call),
and a value lost with a heartbeat is sent again with the next.
"""

from __future__ import annotations

from attrs import frozen

from transport.codec import Message, message

__all__ = ["JobProgress", "SoftEvents"]


@message("w.progress")
@frozen
class JobProgress(Message):
    job_id: str
    attempt: int
    # 0.0 .. 1.0
    fraction: float
    message: str


@message("m.soft-events")
@frozen
class SoftEvents(Message):
    """From the leader to the other masters: progress and draining it heard from workers
    (soft state, in no log), so that every master's event stream and job reads show them."""

    now: float
    progress: tuple[JobProgress, ...]
    draining: tuple[str, ...] = ()
