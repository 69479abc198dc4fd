"""What every HTTP endpoint module shares: refusals, answers, and the checks of a request's
query, kept apart from :mod:`actors.gateway.app` so the modules of each part of the API
(schedules, events, job output) and the app import them without importing each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from attrs import frozen
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from actors.gateway.auth import Principal
from actors.gateway.validation import BadRequest
from actors.scheduler.lifecycle import JobStatus
from transport.cluster import JsonView
from transport.codec import Message

__all__ = [
    "MASTER",
    "RETRY_AFTER_S",
    "STATUSES",
    "Answer",
    "ApiError",
    "Endpoint",
    "is_stale",
    "no_query",
    "respond",
    "view",
]

MASTER = "master"
# what a 503 tells a client to wait before trying again (seconds, the Retry-After header)
RETRY_AFTER_S = 1
STATUSES = tuple(status.value for status in JobStatus)


class ApiError(Exception):
    """A refusal with its HTTP status; a 503 carries ``Retry-After`` (the condition is
    passing: an election, a leader change)."""

    def __init__(self, status: int, message: str, details: Mapping[str, Any] | None = None) -> None:
        """``details`` go into the JSON error beside ``error`` (e.g. the ``id`` of the
        job a conflicting idempotency key names)."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = dict(details or {})

    @property
    def retry_after(self) -> int | None:
        return RETRY_AFTER_S if self.status == 503 else None


@frozen
class Answer:
    """An operation's outcome, whichever protocol carried the request: a value to send
    as JSON (or msgpack), or a view the master already rendered as JSON bytes."""

    status: int = 200
    value: Any = None
    json: bytes | None = None


def view(answer: Message, what: str) -> Answer:
    if not isinstance(answer, JsonView):
        raise ApiError(500, f"unexpected answer {type(answer).__name__}")
    if not answer.json:
        raise ApiError(404, f"{what} not found")
    return Answer(json=answer.json)


def respond(answer: Answer) -> Response:
    if answer.json is not None:
        return Response(answer.json, status_code=answer.status, media_type="application/json")
    return JSONResponse(answer.value, status_code=answer.status)


def is_stale(request: Request) -> bool:
    text = request.query_params.get("stale", "false").lower()
    if text not in ("true", "false", "1", "0"):
        raise BadRequest(f"stale must be true or false, got {text!r}")
    return text in ("true", "1")


def no_query(request: Request, allowed: frozenset[str] = frozenset({"stale"})) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise BadRequest(f"unknown query parameter(s): {', '.join(unknown)}")


Endpoint = Callable[[Request, Principal], Awaitable[Response]]
