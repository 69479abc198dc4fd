"""GET /api/v1/events on the in-process node, served by hypercorn on a real socket (an
ASGI transport in memory would buffer a stream that never ends)."""

from __future__ import annotations

import httpx

from tests.gateway.api import auth_config, running_api, served
from tests.waits import read_events


async def test_a_job_is_submitted_started_and_finished_on_the_stream() -> None:
    async with running_api() as api, served(api) as (host, port):
        base = f"http://{host}:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            async with http.stream("GET", "/api/v1/events", params={"type": "job"}) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                job = (await http.post("/api/v1/jobs", json={"type": "noop"})).json()["id"]
                seen = await read_events(stream, "job.finished")
    mine = [e for e in seen if e.get("job") == job]
    assert [e["type"] for e in mine] == ["job.submitted", "job.started", "job.finished"]
    assert mine[-1]["status"] == "succeeded"
    assert mine[1]["worker"] == "m1" and mine[1]["attempt"] == 1


async def test_resuming_with_last_event_id_gives_what_came_after_it() -> None:
    async with running_api() as api, served(api) as (host, port):
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=10) as http:
            async with http.stream("GET", "/api/v1/events", params={"type": "job"}) as stream:
                await http.post("/api/v1/jobs", json={"type": "noop"})
                first = await read_events(stream, "job.finished")
            started = next(e for e in first if e["type"] == "job.started")
            headers = {"Last-Event-ID": started["id"]}
            async with http.stream("GET", "/api/v1/events", headers=headers) as stream:
                again = await read_events(stream, "job.finished")
            assert [e["id"] for e in again if "-s" not in e["id"]] == [first[-1]["id"]]
            bad = await http.get("/api/v1/events", headers={"Last-Event-ID": "nope"})
            assert bad.status_code == 400 and "Last-Event-ID" in bad.json()["error"]
            bad = await http.get("/api/v1/events", params={"type": "job.exploded"})
            assert bad.status_code == 400 and "type" in bad.json()["error"]


async def test_a_user_sees_only_their_own_jobs_events() -> None:
    async with running_api(auth_config()) as api, served(api) as (host, port):
        bob, ada = await api.as_user("bob"), await api.as_user("ada")
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=10) as http:
            assert (await http.get("/api/v1/events")).status_code == 401
            query = {"type": "job"}
            async with (
                http.stream("GET", "/api/v1/events", params=query, headers=bob) as bobs,
                http.stream("GET", "/api/v1/events", params=query, headers=ada) as adas,
            ):
                theirs = await http.post("/api/v1/jobs", json={"type": "noop"}, headers=ada)
                mine = await http.post("/api/v1/jobs", json={"type": "noop"}, headers=bob)
                bob_saw = await read_events(bobs, "job.finished")
                ada_saw = await read_events(adas, "job.finished", times=2)
    assert {e["job"] for e in bob_saw} == {mine.json()["id"]}
    assert {e["owner"] for e in bob_saw} == {"bob"}
    assert {e["job"] for e in ada_saw} == {mine.json()["id"], theirs.json()["id"]}
