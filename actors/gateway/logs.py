"""``GET /api/v1/jobs/{id}/logs``: an attempt's captured output, whole or followed live.

The gateway asks its own master's ``output`` actor (see
:mod:`actors.master.output_actor`), which knows where the output is: the
worker running the attempt, this master's store, or a peer's. The answer is
``text/plain``, the attempt's output as written (when it ran past the
worker's ``log_max_bytes``, its head, a line saying how much was cut, and its
tail); the attempt read is in the ``Podium-Attempt`` header.

``?follow=true`` streams: what is there now, then what comes, polled every
:data:`FOLLOW_POLL_S`, until the attempt ends. Following a job that has not
started yet waits for its first attempt (``attempt`` left out) or for the one named.
With auth on, a ``user`` reads only the output of their own jobs (another's is
a 404, as ``GET /api/v1/jobs/{id}`` answers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

import trio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from actors.gateway.auth import Principal
from actors.gateway.http_common import ApiError, Endpoint, no_query
from actors.gateway.validation import BadRequest
from runtime.errors import AskError, AskTimeout
from transport.output_messages import OUTPUT_ACTOR, OutputChunk, ReadOutput

if TYPE_CHECKING:  # the app imports this module
    from actors.gateway.app import Gateway, Service

__all__ = ["FOLLOW_POLL_S", "logs_endpoint", "parse_logs_query"]

FOLLOW_POLL_S = 0.25
# the most one read carries; the whole capture is read in pieces this size
CHUNK_BYTES = 256 * 1024
_TEXT = "text/plain; charset=utf-8"


def parse_logs_query(query: Mapping[str, str]) -> tuple[int, bool]:
    """``attempt`` (0: the latest) and ``follow``, or a 400 naming the field."""
    attempt = 0
    if "attempt" in query:
        text = query["attempt"]
        if not text.isdigit() or int(text) < 1:
            raise BadRequest(f"attempt must be a whole number of at least 1, not {text!r}")
        attempt = int(text)
    follow = query.get("follow", "false").lower()
    if follow not in ("true", "false", "1", "0"):
        raise BadRequest(f"follow must be true or false, not {query['follow']!r}")
    return attempt, follow in ("true", "1")


async def _read(gateway: Gateway, job_id: str, attempt: int, offset: int) -> OutputChunk:
    ask = ReadOutput(job_id, attempt, offset, CHUNK_BYTES)
    try:
        answer = await gateway.system.ref(gateway.home, OUTPUT_ACTOR).ask(ask, gateway.timeout_s)
    except (AskError, AskTimeout):
        answer = None
    if not isinstance(answer, OutputChunk):
        raise ApiError(503, "this master cannot read job output right now; retry shortly")
    if answer.error:
        raise ApiError(answer.status, answer.error)
    return answer


async def _whole(gateway: Gateway, first: OutputChunk, job_id: str) -> bytes:
    """The capture from ``first`` on, read piece by piece to its end (as it is now)."""
    parts, chunk = [first.data], first
    while chunk.data:
        chunk = await _read(gateway, job_id, first.attempt, chunk.next_offset)
        parts.append(chunk.data)
    return b"".join(parts)


async def _follow(gateway: Gateway, job_id: str, first: OutputChunk) -> AsyncIterator[bytes]:
    chunk, attempt = first, first.attempt
    while True:
        if chunk.data:
            yield chunk.data
        elif not chunk.running:
            return
        else:
            await trio.sleep(FOLLOW_POLL_S)
        offset = chunk.next_offset
        chunk = await _read(gateway, job_id, attempt, offset)
        # the job's first attempt began (read from offset 0 so far): follow it to its end
        attempt = attempt or chunk.attempt


def logs_endpoint(api: Service) -> Endpoint:
    gateway = api.gateway

    async def logs(request: Request, who: Principal) -> Response:
        no_query(request, frozenset({"attempt", "follow"}))
        attempt, follow = parse_logs_query(request.query_params)
        job_id = request.path_params["job_id"]
        if api.owners.scope(who) is not None:
            # a user reads only their own jobs' output: another's is a 404, as GET job is
            await api.get_job(who, job_id, stale=True)
        first = await _read(gateway, job_id, attempt, 0)
        headers = {"Podium-Attempt": str(first.attempt)}
        if follow:
            return StreamingResponse(
                _follow(gateway, job_id, first), media_type=_TEXT, headers=headers
            )
        return Response(await _whole(gateway, first, job_id), media_type=_TEXT, headers=headers)

    return logs
