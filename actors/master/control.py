"""The leader's side of type limits, pauses and bulk cancels: requests in, log commands out.

:func:`control_command` turns a gateway's request into the command to
propose, stamped with the leader's clock; :func:`control_answer` turns what
applying it returned into the gateway's answer and the running jobs whose
workers must be told to stop (a bulk cancel's, as a single cancel does).
"""

from __future__ import annotations

import json

from actors.scheduler.control_views import type_view
from actors.scheduler.state import JobStateMachine
from transport.cluster import CancelRunning, JsonView
from transport.codec import Message
from transport.limit_commands import (
    CancelledMany,
    CancelManyCmd,
    ClearLimitCmd,
    LimitCleared,
    PauseTypeCmd,
    SetLimitCmd,
)
from transport.queue_control import (
    CancelJobs,
    CancelledJobs,
    ClearTypeLimit,
    PauseType,
    SetTypeLimit,
)

__all__ = ["ControlRequest", "control_answer", "control_command"]

ControlRequest = SetTypeLimit | ClearTypeLimit | PauseType | CancelJobs


def control_command(msg: ControlRequest, now: float) -> Message:
    if isinstance(msg, SetTypeLimit):
        return SetLimitCmd(now, msg.type, msg.rate_per_s, msg.burst, msg.max_running)
    if isinstance(msg, ClearTypeLimit):
        return ClearLimitCmd(now, msg.type)
    if isinstance(msg, PauseType):
        return PauseTypeCmd(now, msg.type, msg.paused)
    return CancelManyCmd(now, msg.ids, msg.type, msg.statuses, msg.schedule, msg.owner)


def control_answer(
    msg: ControlRequest, result: Message | None, jobs: JobStateMachine, now: float
) -> tuple[Message, list[tuple[str, CancelRunning]]]:
    """The answer to ``msg`` once its command applied with ``result``, and (worker, stop)
    for each running job it cancelled. A cleared limit that was not there is an empty
    view (the gateway's 404); a limit or a pause is answered with the type's view."""
    if isinstance(msg, CancelJobs):
        assert isinstance(result, CancelledMany), result
        stops = [(r.worker, CancelRunning(r.job_id, r.attempt)) for r in result.running]
        return CancelledJobs(result.count), stops
    if isinstance(msg, ClearTypeLimit):
        assert isinstance(result, LimitCleared), result
        if not result.found:
            return JsonView(b""), []
    return JsonView(json.dumps(type_view(jobs, msg.type, now)).encode()), []
