"""Limits, pauses, bulk cancels, unique jobs and retry policies through the HTTP API, on a
real master and worker."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from actors.worker.errors import Permanent
from actors.worker.handlers import default_registry
from tests.gateway.api import Api, auth_config, running_api, wait_status


async def submit(api: Api, **body: Any) -> dict[str, Any]:
    answer = await api.client.post("/api/v1/jobs", json={"type": "noop", **body})
    assert answer.status_code in (200, 201), answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_a_limit_is_set_listed_shown_in_stats_and_metrics_and_cleared() -> None:
    async with running_api() as api:
        c = api.client
        put = await c.put("/api/v1/limits/resize", json={"rate_per_s": 50, "burst": 50,
                                                          "max_running": 10})  # fmt: skip
        assert put.status_code == 200, put.text
        assert put.json() == {
            "type": "resize", "rate_per_s": 50.0, "burst": 50.0, "max_running": 10,
            "paused": False, "tokens": 50.0, "running": 0, "pending": 0, "throttled": 0,
        }  # fmt: skip
        assert (await c.put("/api/v1/limits/mail", json={"max_running": 2})).status_code == 200
        listed = (await c.get("/api/v1/limits")).json()["limits"]
        assert [t["type"] for t in listed] == ["mail", "resize"]
        assert listed[0]["rate_per_s"] is None and listed[0]["tokens"] is None
        stats = (await c.get("/api/v1/stats")).json()
        assert stats["throttled"] == {"mail": 0, "resize": 0} and len(stats["limits"]) == 2
        metrics = (await c.get("/metrics")).text
        assert 'podium_jobs_throttled{type="resize"} 0.0' in metrics
        cleared = await c.delete("/api/v1/limits/resize")
        assert cleared.status_code == 200 and cleared.json()["rate_per_s"] is None
        again = await c.delete("/api/v1/limits/resize")
        assert again.status_code == 404 and "resize" in again.json()["error"]
        assert [t["type"] for t in (await c.get("/api/v1/limits")).json()["limits"]] == ["mail"]


BAD_LIMITS = [
    ({}, "at least one"),
    ({"burst": 5}, "burst needs rate_per_s"),
    ({"rate_per_s": 0}, "rate_per_s must be a number from 0.001"),
    ({"rate_per_s": "fast"}, "rate_per_s must be a number"),
    ({"rate_per_s": 5, "burst": 0.5}, "burst must be a number from 1"),
    ({"max_running": 0}, "max_running must be an integer from 1"),
    ({"max_running": 2.5}, "max_running must be an integer"),
    ({"rate": 5}, "unknown field(s) rate"),
    ([1], "JSON object"),
]


@pytest.mark.parametrize(("body", "says"), BAD_LIMITS)
async def test_a_bad_limit_is_a_400_naming_the_field(body: object, says: str) -> None:
    async with running_api(worker=False) as api:
        answer = await api.client.put("/api/v1/limits/resize", json=body)
        assert answer.status_code == 400 and says in answer.json()["error"], answer.text


async def test_a_paused_type_waits_pending_and_runs_once_resumed() -> None:
    async with running_api() as api:
        c = api.client
        paused = await c.post("/api/v1/types/noop/pause")
        assert paused.status_code == 200 and paused.json()["paused"] is True
        ids = [(await submit(api))["id"] for _ in range(3)]
        await trio.sleep(0.3)
        assert {(await c.get(f"/api/v1/jobs/{i}")).json()["status"] for i in ids} == {"pending"}
        stats = (await c.get("/api/v1/stats")).json()
        assert stats["throttled"] == {"noop": 3}
        assert (await c.get("/api/v1/limits")).json()["limits"][0]["paused"] is True
        resumed = await c.post("/api/v1/types/noop/resume")
        assert resumed.status_code == 200 and resumed.json()["paused"] is False
        for job_id in ids:
            await wait_status(api, job_id, "succeeded")
        assert (await c.get("/api/v1/limits")).json()["limits"] == []


async def test_a_bulk_cancel_by_filters_and_by_ids() -> None:
    async with running_api() as api:
        c = api.client
        later = [(await submit(api, delay_s=600))["id"] for _ in range(3)]
        now = (await submit(api, type="sleep", payload={"seconds": 30}))["id"]
        await wait_status(api, now, "running")
        answer = await c.post("/api/v1/jobs/cancel", json={"type": "noop", "status": "scheduled"})
        assert answer.status_code == 200 and answer.json() == {"cancelled": 3}
        for job_id in later:
            await wait_status(api, job_id, "cancelled")
        again = await c.post("/api/v1/jobs/cancel", json={"ids": [now, *later]})
        assert again.json() == {"cancelled": 1}, "only the running one was still live"
        await wait_status(api, now, "cancelled")


BAD_CANCELS = [
    ({}, "name the jobs to cancel"),
    ({"ids": ["a"], "type": "noop"}, "not both"),
    ({"ids": []}, "ids must be a list of 1 to"),
    ({"status": "dead"}, "only live jobs are cancelled"),
    ({"status": ["pending", 7]}, "status must be one of"),
    ({"type": ""}, "type must be a non-empty string"),
    ({"schedule": 3}, "schedule must be"),
    ({"colour": "red"}, "unknown field(s) colour"),
]


@pytest.mark.parametrize(("body", "says"), BAD_CANCELS)
async def test_a_bad_bulk_cancel_is_a_400(body: object, says: str) -> None:
    async with running_api(worker=False) as api:
        answer = await api.client.post("/api/v1/jobs/cancel", json=body)
        assert answer.status_code == 400 and says in answer.json()["error"], answer.text


async def test_a_unique_key_deduplicates_single_and_batch_submits() -> None:
    async with running_api(worker=False) as api:
        c = api.client
        first = await c.post("/api/v1/jobs", json={"type": "noop", "unique_key": "report-7"})
        assert first.status_code == 201 and "deduplicated" not in first.json()
        second = await c.post("/api/v1/jobs", json={"type": "noop", "unique_key": "report-7",
                                                    "payload": {"other": 1}})  # fmt: skip
        assert second.status_code == 200
        assert second.json() == {
            "id": first.json()["id"],
            "status": "pending",
            "deduplicated": True,
        }
        batch = await c.post("/api/v1/jobs/batch", json={"jobs": [
            {"type": "noop", "unique_key": "report-7"}, {"type": "noop", "unique_key": "r8"},
        ]})  # fmt: skip
        entries = batch.json()["jobs"]
        assert batch.status_code == 201 and entries[0]["deduplicated"] is True
        assert entries[0]["id"] == first.json()["id"] and "deduplicated" not in entries[1]
        only = await c.post(
            "/api/v1/jobs/batch", json={"jobs": [{"type": "noop", "unique_key": "r8"}]}
        )
        assert only.status_code == 200, "every job of the batch was deduplicated"
        await c.post(f"/api/v1/jobs/{first.json()['id']}/cancel")
        third = await c.post("/api/v1/jobs", json={"type": "noop", "unique_key": "report-7"})
        assert third.status_code == 201 and third.json()["id"] != first.json()["id"]


async def test_a_listed_exit_code_ends_a_shell_job_after_one_attempt() -> None:
    async with running_api() as api:
        policy = {"max_retries": 5, "base_s": 0.01, "no_retry_exit_codes": [3]}
        job = await submit(api, type="shell", payload={"cmd": "exit 3"}, retry=policy)
        dead = await wait_status(api, job["id"], "dead")
        assert dead["attempts"] == 1 and dead["last_reason"] == "permanent"
        assert dead["retry"]["no_retry_exit_codes"] == [3] and dead["max_retries"] == 5
        policy["max_retries"] = 2
        other = await submit(api, type="shell", payload={"cmd": "exit 4"}, retry=policy)
        dead = await wait_status(api, other["id"], "dead")
        assert dead["attempts"] == 3 and dead["last_reason"] == "error"


async def test_a_handler_raising_permanent_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    async def gone(payload: object) -> None:
        raise Permanent("the record is gone")

    registry = default_registry()
    # the node's worker takes the default registry: add the handler for this test only
    monkeypatch.setattr(registry, "_handlers", dict(registry._handlers))
    registry.register("test.gone", gone)
    async with running_api() as api:
        job = await submit(api, type="test.gone", max_retries=4)
        dead = await wait_status(api, job["id"], "dead")
        assert dead["attempts"] == 1 and dead["last_reason"] == "permanent"
        assert dead["error"] == "the record is gone"


async def test_only_admins_set_limits_and_users_cancel_in_bulk() -> None:
    async with running_api(auth_config(), worker=False) as api:
        bob, ada = await api.as_user("bob"), await api.as_user("ada")
        c = api.client
        refused = await c.put("/api/v1/limits/x", json={"max_running": 1}, headers=bob)
        assert refused.status_code == 403
        assert (await c.post("/api/v1/types/x/pause", headers=bob)).status_code == 403
        assert (
            await c.put("/api/v1/limits/x", json={"max_running": 1}, headers=ada)
        ).status_code == 200
        assert (await c.get("/api/v1/limits", headers=bob)).status_code == 200
        cancel = await c.post("/api/v1/jobs/cancel", json={"status": "pending"}, headers=bob)
        assert cancel.status_code == 200 and cancel.json() == {"cancelled": 0}
