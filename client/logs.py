"""``GET /api/v1/jobs/{id}/logs`` for the clients: an attempt's output as text, or followed.

The endpoint answers ``text/plain`` rather than JSON, and ``follow`` streams,
so it has its own small request path beside :meth:`Client.call`: one HTTP
request to the address that answered last, no retries across masters (a
follow that breaks is simply started again). The native ``podium://``
protocol carries no output: it is for the hot path of submits and status.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from client.errors import PodiumError
from client.responses import error_of, stream_timeout

__all__ = ["astream_text", "logs_request", "read_text", "stream_text"]


def logs_request(
    urls: list[str], current: int, token: str | None, native: bool, job_id: str,
    attempt: int | None, follow: bool, timeout: float,
) -> dict[str, Any]:  # fmt: skip
    """The httpx ``request``/``stream`` arguments for a logs read; ``timeout``: the
    client's own (a read's whole timeout, a follow's to connect)."""
    if native:
        raise PodiumError(
            400,
            "job output is read over HTTP: use the master's HTTP address for logs "
            "(a token from POST /auth/login works on both)",
        )
    params: dict[str, str] = {"follow": "true"} if follow else {}
    if attempt is not None:
        params["attempt"] = str(attempt)
    return {
        "method": "GET",
        "url": f"{urls[current]}/api/v1/jobs/{job_id}/logs",
        "params": params,
        "headers": {"Authorization": f"Bearer {token}"} if token else {},
        # a follow lasts as long as the attempt runs
        "timeout": stream_timeout(timeout) if follow else timeout,
    }


def read_text(response: httpx.Response) -> str:
    if response.status_code >= 400:
        raise error_of(response)
    return response.text


def stream_text(http: httpx.Client, request: dict[str, Any]) -> Iterator[str]:
    with http.stream(**request) as response:
        if response.status_code >= 400:
            response.read()
            raise error_of(response)
        yield from response.iter_text()


async def astream_text(http: httpx.AsyncClient, request: dict[str, Any]) -> AsyncIterator[str]:
    async with http.stream(**request) as response:
        if response.status_code >= 400:
            await response.aread()
            raise error_of(response)
        async for text in response.aiter_text():
            yield text
