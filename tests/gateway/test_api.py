"""The HTTP API against a real master and worker: jobs, reads, bad input, metrics, OpenAPI."""

from __future__ import annotations

import json

import pytest
import trio
from starlette.routing import Route

from actors.gateway.openapi import OPENAPI
from tests.gateway.api import running_api, wait_status, walk


async def test_a_job_round_trip_with_every_read() -> None:
    async with running_api() as api:
        c = api.client
        answer = await c.post("/api/v1/jobs", json={"type": "noop", "priority": 7})
        assert answer.status_code == 201
        job_id = answer.json()["id"]
        assert answer.json()["status"] == "pending"
        job = await wait_status(api, job_id, "succeeded")
        assert job["attempts"] == 1 and job["worker"] == "m1" and job["priority"] == 7
        stale = (await c.get(f"/api/v1/jobs/{job_id}", params={"stale": "true"})).json()
        assert stale["status"] == "succeeded"
        page = (await c.get("/api/v1/jobs", params={"status": "succeeded", "limit": 5})).json()
        assert [j["id"] for j in page["jobs"]] == [job_id] and page["cursor"] is None
        stats = (await c.get("/api/v1/stats")).json()
        assert stats["jobs"]["succeeded"] == 1 and stats["by_type"] == {"noop": {"succeeded": 1}}
        assert stats["dead_letter"] == 0
        workers = (await c.get("/api/v1/workers")).json()["workers"]
        assert [(w["id"], w["state"], w["slots"]) for w in workers] == [("m1", "available", 4)]
        cluster = (await c.get("/api/v1/cluster")).json()
        assert cluster["leader"] == "m1" and cluster["masters"] == ["m1"]


async def test_pagination_walks_every_job_once() -> None:
    async with running_api(worker=False) as api:
        jobs = [{"type": "noop", "payload": {"n": i}} for i in range(25)]
        ids = [
            j["id"]
            for j in (await api.client.post("/api/v1/jobs/batch", json={"jobs": jobs})).json()[
                "jobs"
            ]
        ]
        assert await walk(api, {"limit": 10}) == ids[::-1], "newest first by default"
        assert await walk(api, {"limit": 7, "order": "asc"}) == ids


BAD_INPUT = [
    ("POST", "/api/v1/jobs", b"{not json", 400, "not valid JSON"),
    ("POST", "/api/v1/jobs", b'{"type": "noop", "priority": "high"}', 400, "priority"),
    ("POST", "/api/v1/jobs", b'{"type": "noop", "priority": 12}', 400, "from 0 to 9"),
    ("POST", "/api/v1/jobs", b'{"type": "noop", "max_retries": -1}', 400, "max_retries"),
    ("POST", "/api/v1/jobs", b'{"type": "noop", "timeout_s": -5}', 400, "timeout_s"),
    ("POST", "/api/v1/jobs", b'{"type": "noop", "colour": "red"}', 400, "unknown field"),
    ("POST", "/api/v1/jobs", b'{"type": "noop", "payload": [1, 2]}', 400, "payload must be"),
    ("POST", "/api/v1/jobs", b"[1, 2, 3]", 400, "JSON object"),
    # found by the fuzz test: JSON integers are unbounded, msgpack's are 64-bit
    (
        "POST",
        "/api/v1/jobs",
        b'{"type": "noop", "payload": {"n": -9223372036854775809}}',
        400,
        "cannot be stored",
    ),
    ("POST", "/api/v1/jobs", b'{"type": 5}', 400, "type must be"),
    ("POST", "/api/v1/jobs", b'{"type": "noop", "delay_s": 1, "run_at": 5}', 400, "not both"),
    ("POST", "/api/v1/jobs/batch", b'{"jobs": []}', 400, "non-empty"),
    (
        "POST",
        "/api/v1/jobs/batch",
        b'{"jobs": [{"type": "noop"}, {"priority": 1}]}',
        400,
        "jobs[1]",
    ),
    ("GET", "/api/v1/jobs/no-such-job", b"", 404, "not found"),
    ("POST", "/api/v1/jobs/no-such-job/cancel", b"", 404, "not found"),
    ("POST", "/api/v1/jobs/no-such-job/retry", b"", 404, "not found"),
    ("GET", "/api/v1/jobs?limit=0", b"", 400, "limit"),
    # a digit to str.isdigit, not to int() (found by the API fuzz test)
    ("GET", "/api/v1/jobs?limit=%C2%B2", b"", 400, "limit"),
    ("GET", "/api/v1/jobs?status=finished", b"", 400, "status must be"),
    ("GET", "/api/v1/jobs?cursor=abc", b"", 400, "cursor"),
    ("GET", "/api/v1/jobs?colour=red", b"", 400, "unknown query"),
    ("GET", "/api/v1/stats?stale=maybe", b"", 400, "stale"),
    ("GET", "/api/v1/nothing-here", b"", 404, "no such endpoint"),
    ("DELETE", "/api/v1/jobs", b"", 405, "not allowed"),
    ("POST", "/auth/login", b"{}", 404, "auth is off"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "words"), BAD_INPUT)
async def test_bad_input_gets_a_clear_json_error(
    method: str, path: str, body: bytes, status: int, words: str
) -> None:
    async with running_api(worker=False) as api:
        answer = await api.client.request(method, path, content=body)
        assert answer.status_code == status, answer.text
        assert words in answer.json()["error"]
        assert (await api.client.get("/health")).status_code == 200


async def test_a_body_over_the_limit_is_413_before_parsing() -> None:
    async with running_api(worker=False, max_body=1000) as api:
        big = json.dumps({"type": "noop", "payload": {"x": "y" * 2000}})
        answer = await api.client.post("/api/v1/jobs", content=big)
        assert answer.status_code == 413 and "1000-byte limit" in answer.json()["error"]


async def test_cancel_and_retry_conflicts_are_409() -> None:
    async with running_api(worker=False) as api:
        c = api.client
        job_id = (await c.post("/api/v1/jobs", json={"type": "noop", "delay_s": 600})).json()["id"]
        assert (await c.post(f"/api/v1/jobs/{job_id}/retry")).status_code == 409
        assert (await c.post(f"/api/v1/jobs/{job_id}/cancel")).json()["status"] == "cancelled"
        again = await c.post(f"/api/v1/jobs/{job_id}/cancel")
        assert again.status_code == 409 and "already cancelled" in again.json()["error"]


METRICS = [
    "podium_jobs_total",
    "podium_scheduling_latency_seconds",
    "podium_job_duration_seconds",
    "podium_queue_depth",
    "podium_dead_letter_jobs",
    "podium_retries_total",
    "podium_lease_timeouts_total",
    "podium_workers",
    "podium_raft_is_leader",
    "podium_raft_term",
    "podium_raft_commit_index",
    "podium_raft_leader_changes_total",
]


async def test_metrics_expose_every_documented_series() -> None:
    async with running_api() as api:
        job_id = (await api.client.post("/api/v1/jobs", json={"type": "noop"})).json()["id"]
        await wait_status(api, job_id, "succeeded")
        text = (await api.client.get("/metrics")).text
        for name in METRICS:
            assert f"\n{name}" in text, name
        assert 'podium_jobs_total{status="succeeded",type="noop"} 1.0' in text
        assert "podium_raft_is_leader 1.0" in text
        assert "podium_scheduling_latency_seconds_count 1.0" in text
        assert 'podium_job_duration_seconds_count{type="noop"} 1.0' in text
        assert 'podium_workers{state="available"} 1.0' in text


def test_the_openapi_document_describes_every_route() -> None:
    from actors.gateway.app import Gateway, build_app
    from actors.gateway.auth import Authenticator
    from runtime.config.model import AuthConfig
    from runtime.system import ActorSystem

    app = build_app(Gateway(ActorSystem("m1", None, __import__("random").Random())),
                    Authenticator(AuthConfig(), lambda: 0.0))  # fmt: skip
    served: dict[str, set[str]] = {}
    for route in app.routes:
        assert isinstance(route, Route)
        served.setdefault(route.path, set()).update(m.lower() for m in route.methods or ())
    served = {path: methods - {"head"} for path, methods in served.items()}
    documented = {path: set(ops) for path, ops in OPENAPI["paths"].items()}
    assert served == documented


async def test_openapi_is_served() -> None:
    async with running_api(worker=False) as api:
        doc = (await api.client.get("/openapi.json")).json()
        assert doc["openapi"].startswith("3.") and "/api/v1/jobs" in doc["paths"]


def test_the_grafana_dashboard_uses_only_metrics_the_server_exposes() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    dashboard = json.loads((root / "deploy/grafana/podium-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {re.sub(r"_bucket$", "", m) for e in exprs for m in re.findall(r"podium_\w+", e)}
    assert used <= set(METRICS)
    # throughput, latency, queue depth, workers, retries, leadership
    wanted = {
        "podium_jobs_total",
        "podium_scheduling_latency_seconds",
        "podium_queue_depth",
        "podium_workers",
        "podium_retries_total",
        "podium_raft_leader_changes_total",
    }
    assert wanted <= used
    scrape = (root / "deploy/prometheus.yml").read_text()
    assert "metrics_path: /metrics" in scrape


async def test_a_job_no_worker_handles_says_what_it_waits_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_api() as api:
        c = api.client
        ids = []
        for _ in range(2):
            answer = await c.post("/api/v1/jobs", json={"type": "resize", "payload": {}})
            ids.append(answer.json()["id"])
        job = (await c.get(f"/api/v1/jobs/{ids[0]}")).json()
        assert job["status"] == "pending"
        assert job["waiting_for"] == "a worker that handles type 'resize' (none is connected)"
        many = (await c.post("/api/v1/jobs/status", json={"ids": ids})).json()["jobs"]
        assert [j["waiting_for"] for j in many] == [job["waiting_for"]] * 2, "both reads say so"
        served = (await c.post("/api/v1/jobs", json={"type": "noop"})).json()["id"]
        assert "waiting_for" not in await wait_status(api, served, "succeeded")
        # the leader's log says so once for the type, however many jobs wait
        with trio.fail_after(10):
            while not [r for r in caplog.records if getattr(r, "type", None) == "resize"]:
                await trio.sleep(0.05)
        await trio.sleep(3.0)  # more maintenance rounds: still one line
        lines = [r for r in caplog.records if getattr(r, "event", None) == "type_unserved"]
        assert len(lines) == 1 and lines[0].levelname == "WARNING"


async def test_a_reused_idempotency_key_is_200_for_the_same_job_and_409_for_another() -> None:
    async with running_api() as api:
        c = api.client
        body = {"type": "noop", "payload": {"n": 1}, "idempotency_key": "order-17"}
        first = await c.post("/api/v1/jobs", json=body)
        assert first.status_code == 201
        job_id = first.json()["id"]
        again = await c.post("/api/v1/jobs", json=body)
        assert again.status_code == 200 and again.json()["id"] == job_id
        other = await c.post("/api/v1/jobs", json={**body, "payload": {"n": 2}})
        assert other.status_code == 409
        assert other.json()["id"] == job_id and "different body" in other.json()["error"]
        # once the job is final its key is answered from the history, the same way
        await wait_status(api, job_id, "succeeded")
        assert (await c.post("/api/v1/jobs", json=body)).status_code == 200
        assert (await c.post("/api/v1/jobs", json={**body, "priority": 1})).status_code == 409
        batch = {"jobs": [body, {**body, "payload": {"n": 3}}, {"type": "noop"}]}
        answer = await c.post("/api/v1/jobs/batch", json=batch)
        assert answer.status_code == 201, "one job of the batch is new"
        same, conflict, new = answer.json()["jobs"]
        assert same == {"id": job_id, "status": "succeeded", "duplicate": "same"}
        assert conflict["duplicate"] == "conflict" and conflict["id"] == job_id
        assert "different body" in conflict["error"] and "duplicate" not in new
        only_same = await c.post("/api/v1/jobs/batch", json={"jobs": [body]})
        assert only_same.status_code == 200
