"""GET /api/v1/events on the in-process node, served by hypercorn on a real socket (an
ASGI transport in memory would buffer a stream that never ends)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import trio

from tests.gateway.api import running_api
from tests.gateway.test_http_hygiene import served


async def read_events(
    response: httpx.Response, until: str, limit_s: float = 10.0
) -> AsyncIterator[dict[str, Any]]:
    """The parsed events of a stream, up to and including the first of type ``until``."""
    fields: dict[str, str] = {}
    with trio.fail_after(limit_s):
        async for line in response.aiter_lines():
            if line:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
                continue
            if "data" in fields:
                event = json.loads(fields["data"])
                assert event.get("id", fields.get("id")) == fields.get("id", event.get("id"))
                yield event
                if event["type"] == until:
                    return
            fields = {}


async def test_a_job_is_submitted_started_and_finished_on_the_stream() -> None:
    async with running_api() as api, served(api) as (host, port):
        base = f"http://{host}:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            async with http.stream("GET", "/api/v1/events", params={"type": "job"}) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                job = (await http.post("/api/v1/jobs", json={"type": "noop"})).json()["id"]
                seen = [e async for e in read_events(stream, "job.finished")]
    mine = [e for e in seen if e.get("job") == job]
    assert [e["type"] for e in mine] == ["job.submitted", "job.started", "job.finished"]
    assert mine[-1]["status"] == "succeeded"
    assert mine[1]["worker"] == "m1" and mine[1]["attempt"] == 1
