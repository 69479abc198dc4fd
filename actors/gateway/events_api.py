"""``GET /api/v1/events``: the master's events as server-sent events (sse-starlette).

Any master serves the stream from its own ring (:mod:`actors.master.event_ring`):
the events derived from the log are the same, with the same ids, on every
master, so a client that reconnects anywhere with ``Last-Event-ID`` (the
header browsers' ``EventSource`` sends, or the ``last_event_id`` query
parameter) resumes without a gap or a repeat, as long as the events it
missed are still retained. When they may not be, the stream starts with a
``stream.gap`` event. Without either, the stream starts with what happens
next.

Filters: ``type`` (comma-separated event types, or a family: ``job``,
``worker``, ``leader``), ``job`` (an id) and ``status`` (a job status).

sse-starlette runs under hypercorn's trio worker: its only asyncio part (a
watcher for uvicorn's shutdown) is skipped when no asyncio loop runs, and
the stream ends when the client goes away or the node stops.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import TYPE_CHECKING

import trio
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from actors.gateway.auth import Principal
from actors.gateway.http_common import MASTER, STATUSES, ApiError, Endpoint
from actors.gateway.validation import BadRequest
from actors.master.event_feed import EventFeed, EventsOf, OpenEvents
from actors.master.event_ring import EventRing, matching
from actors.master.events import (
    CATEGORIES,
    EVENT_TYPES,
    EventKey,
    event_key,
    key_id,
    parse_event_id,
)
from runtime.errors import AskError, AskTimeout

if TYPE_CHECKING:  # the app imports this module
    from actors.gateway.app import Gateway, Service

__all__ = ["EventFilters", "event_routes", "parse_filters"]

QUERY = frozenset({"type", "job", "status", "last_event_id"})
# a comment line this often keeps proxies and idle timeouts from closing the stream
PING_S = 15.0
# how long to wait before asking again for a master that is restarting
REOPEN_S = 0.2
GAP = "stream.gap"


class EventFilters:
    """What a listener asked for; ``None`` admits everything. ``owner``: the only owner
    whose jobs' events the listener may see (a ``user`` with auth on)."""

    def __init__(
        self,
        types: frozenset[str] | None,
        job: str | None,
        status: str | None,
        owner: str | None = None,
    ) -> None:
        self.types = types
        self.job = job
        self.status = status
        self.owner = owner


def parse_filters(query: Mapping[str, str]) -> EventFilters:
    """The filters of a query string; a bad one is a 400 naming it."""
    unknown = sorted(set(query) - QUERY)
    if unknown:
        raise BadRequest(f"unknown query parameter(s): {', '.join(unknown)}")
    types: frozenset[str] | None = None
    if "type" in query:
        asked = [t.strip() for t in query["type"].split(",") if t.strip()]
        wrong = [t for t in asked if t not in EVENT_TYPES and t not in CATEGORIES]
        if not asked or wrong:
            raise BadRequest(
                f"type must be event types or families, comma-separated: one of "
                f"{', '.join((*CATEGORIES, *EVENT_TYPES))}"
            )
        types = frozenset(asked)
    job = query.get("job")
    if job is not None and not job:
        raise BadRequest("job must be a job id")
    status = query.get("status")
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
    return EventFilters(types, job, status)


def resume_key(request: Request) -> EventKey | None:
    """Where the client left off: ``Last-Event-ID``, or ``?last_event_id=``."""
    text = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if not text:
        return None
    key = parse_event_id(text)
    if key is None:
        raise BadRequest('Last-Event-ID must be the id of an event this API sent ("12-0")')
    return key


async def open_feed(gateway: Gateway) -> EventFeed:
    system = gateway.system
    try:
        answer = await system.ask(system.ref(system.node, MASTER), OpenEvents(), gateway.timeout_s)
    except (AskError, AskTimeout) as exc:
        raise ApiError(503, f"no master serves events on this node: {exc}") from None
    assert isinstance(answer, EventsOf)
    return answer.feed


async def _wait(feed: EventFeed) -> None:
    arrived = trio.Event()
    feed.ring.waiters.append(arrived.set)
    await arrived.wait()


def _gap(ring: EventRing, key: EventKey) -> ServerSentEvent:
    """Events after ``key`` may be gone from ``ring``: say so, and from where it holds."""
    oldest = ring.events[0].id if ring.events else None
    body = {"type": GAP, "after": key_id(key), "oldest": oldest}
    return ServerSentEvent(data=json.dumps(body), event=GAP)


async def stream(
    gateway: Gateway, feed: EventFeed, filters: EventFilters, key: EventKey
) -> AsyncGenerator[ServerSentEvent, None]:
    """Events after ``key``, until cancelled; first a ``stream.gap`` whenever some may be
    gone (a listener slower than the ring, or a ring that started again), and a master
    that restarts is asked again for its new ring."""
    while True:
        ring = feed.ring
        if ring.closed:
            await trio.sleep(REOPEN_S)
            with contextlib.suppress(ApiError):
                feed = await open_feed(gateway)
            continue
        whole = ring.whole_after(key)
        if whole != key:
            yield _gap(ring, key)
            key = whole
        events = ring.after(key)
        if not events:
            await _wait(feed)
            continue
        key = event_key(events[-1])
        admitted = matching(events, filters.types, filters.job, filters.status, filters.owner)
        for event in admitted:
            yield ServerSentEvent(data=json.dumps(event.body()), event=event.type, id=event.id)


def event_routes(route: Callable[[str, str, Endpoint], Route], api: Service) -> list[Route]:
    """The route; a ``user`` (auth on) gets only their own jobs' events, as they see only
    their own jobs (:mod:`actors.gateway.ownership`)."""
    gateway = api.gateway

    async def events(request: Request, who: Principal) -> Response:
        filters = parse_filters(request.query_params)
        filters.owner = api.owners.scope(who)
        key = resume_key(request)
        feed = await open_feed(gateway)
        # taken before the answer starts: a client that sees the headers misses nothing
        start = key if key is not None else feed.ring.newest()
        body = stream(gateway, feed, filters, start)
        return EventSourceResponse(body, ping=int(PING_S))

    return [route("/api/v1/events", "GET", events)]
