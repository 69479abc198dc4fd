"""The schedule operations of the API, whatever carried the request, and their HTTP routes.

``POST /api/v1/schedules`` answers 201 with the schedule, 200 when a
schedule of that name and definition already exists (so sending the same
definition again, after a lost answer, is safe), and 409 when the name holds
another definition: a schedule is changed by deleting it and defining it
again, which starts its ticks afresh. The writes go to the leader like a
submit; the reads are linearizable unless ``?stale=true``. With auth on, a
``user`` sees and changes only the schedules they defined (the jobs' rule, see
:mod:`actors.gateway.ownership`), and every write leaves a ``podium.audit`` line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors.gateway.auth import Principal
from actors.gateway.http_common import (
    Answer,
    ApiError,
    Endpoint,
    is_stale,
    no_query,
    respond,
    view,
)
from actors.gateway.schedule_validation import parse_schedule
from actors.gateway.validation import to_spec
from transport.codec import Message
from transport.schedule_commands import ScheduleSpec
from transport.schedule_requests import (
    DeleteSchedule,
    GetSchedule,
    ListSchedules,
    PauseSchedule,
    PutSchedule,
    ScheduleChanged,
)

if TYPE_CHECKING:  # the app imports this module
    from actors.gateway.app import Service

__all__ = ["ScheduleService", "schedule_routes"]

_CREATED = "POST /api/v1/schedules"


class ScheduleService:
    """The schedule half of :class:`~actors.gateway.app.Service` (``service.schedules``)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.gateway = service.gateway

    async def add(self, who: Principal, body: Any) -> Answer:
        request = parse_schedule(body, self.gateway.system.wall_clock())
        # a schedule of shell jobs runs commands as surely as submitting them does
        self.service._shell_check(who, [request.job], _CREATED)
        spec = ScheduleSpec(
            request.name,
            request.cron,
            request.every_s,
            request.timezone,
            request.catch_up,
            self.service.owners.stamp(to_spec(request.job), who),
        )
        change = self._change(who, PutSchedule(spec, request.paused))
        return await self.service._audited(who, "schedule_add", {"schedule": spec.name}, change)

    async def list(self, who: Principal, stale: bool) -> Answer:
        """Every schedule ``who`` may see, by name."""
        answer = view(await self.gateway.read(ListSchedules(), stale), "schedules")
        assert answer.json is not None
        return Answer(json=self.service.owners.visible_schedules(who, answer.json))

    async def get(self, who: Principal, name: str, stale: bool) -> Answer:
        """One schedule; another user's is not found, as one that does not exist."""
        answer = view(await self.gateway.read(GetSchedule(name), stale), f"schedule {name!r}")
        if answer.json is not None and not self.service.owners.sees(who, answer.json):
            raise ApiError(404, f"schedule {name!r} not found")
        return answer

    async def delete(self, who: Principal, name: str) -> Answer:
        return await self.service._audited(
            who, "schedule_delete", {"schedule": name}, self._deleted(who, name)
        )

    async def pause(self, who: Principal, name: str) -> Answer:
        change = self._owned_change(who, PauseSchedule(name, True))
        return await self.service._audited(who, "schedule_pause", {"schedule": name}, change)

    async def resume(self, who: Principal, name: str) -> Answer:
        change = self._owned_change(who, PauseSchedule(name, False))
        return await self.service._audited(who, "schedule_resume", {"schedule": name}, change)

    async def _deleted(self, who: Principal, name: str) -> Answer:
        await self._owned_change(who, DeleteSchedule(name))
        return Answer(value={"deleted": 1})

    async def _owned_change(self, who: Principal, msg: DeleteSchedule | PauseSchedule) -> Answer:
        """404 unless ``who`` may touch the schedule (read first only for a ``user``)."""
        if self.service.owners.scope(who) is not None:
            await self.get(who, msg.name, False)
        return await self._change(who, msg)

    async def _change(self, who: Principal, msg: Message) -> Answer:
        answer = await self.gateway.call(msg)
        if not isinstance(answer, ScheduleChanged):
            raise ApiError(500, f"unexpected answer {type(answer).__name__}")
        if answer.outcome == "not_found":
            raise ApiError(404, f"schedule {answer.name!r} not found")
        if answer.outcome == "conflict":
            if not self.service.owners.sees(who, answer.view):
                # names are the cluster's, but what another user defined stays theirs
                raise ApiError(409, f"the schedule name {answer.name!r} is taken: pick another")
            raise ApiError(
                409,
                f"a schedule named {answer.name!r} exists with another definition; delete it "
                "first to define it again (its ticks then start afresh), or pick another name",
                {"schedule": json.loads(answer.view)},
            )
        return Answer(201 if answer.outcome == "created" else 200, json=answer.view)


Route_ = Callable[[str, str, Endpoint], Route]


def schedule_routes(route: Route_, api: Service) -> list[Route]:
    """The schedule routes, made by the app's ``route`` (which checks permissions)."""
    schedules = api.schedules
    body = api.gateway.body
    plain: frozenset[str] = frozenset()

    async def add(request: Request, who: Principal) -> Response:
        no_query(request, plain)
        return respond(await schedules.add(who, await body(request)))

    async def listing(request: Request, who: Principal) -> Response:
        no_query(request)
        return respond(await schedules.list(who, is_stale(request)))

    async def get(request: Request, who: Principal) -> Response:
        no_query(request)
        return respond(await schedules.get(who, request.path_params["name"], is_stale(request)))

    async def delete(request: Request, who: Principal) -> Response:
        no_query(request, plain)
        return respond(await schedules.delete(who, request.path_params["name"]))

    async def pause(request: Request, who: Principal) -> Response:
        no_query(request, plain)
        return respond(await schedules.pause(who, request.path_params["name"]))

    async def resume(request: Request, who: Principal) -> Response:
        no_query(request, plain)
        return respond(await schedules.resume(who, request.path_params["name"]))

    return [
        route("/api/v1/schedules", "POST", add),
        route("/api/v1/schedules", "GET", listing),
        route("/api/v1/schedules/{name}", "GET", get),
        route("/api/v1/schedules/{name}", "DELETE", delete),
        route("/api/v1/schedules/{name}/pause", "POST", pause),
        route("/api/v1/schedules/{name}/resume", "POST", resume),
    ]
