"""Finished jobs through the API: reads from the history, lists across live and finished,
delete and purge, retention through the log, idempotency keys and counters."""

from __future__ import annotations

from datetime import UTC, datetime

import trio

from actors.master.actor import MasterSettings
from tests.gateway.api import Api, running_api, wait_status, walk


async def submit(api: Api, *jobs: dict[str, object]) -> list[str]:
    answer = await api.client.post("/api/v1/jobs/batch", json={"jobs": list(jobs)})
    assert answer.status_code == 201, answer.text
    return [j["id"] for j in answer.json()["jobs"]]


async def test_a_finished_job_is_read_from_the_history_and_leaves_memory() -> None:
    async with running_api() as api:
        [job_id] = await submit(api, {"type": "noop"})
        job = await wait_status(api, job_id, "succeeded")
        assert job["attempts"] == 1 and job["finished_at"] is not None
        stats = (await api.client.get("/api/v1/stats")).json()
        assert stats["live_jobs"] == 0 and stats["jobs"]["succeeded"] == 1
        with trio.fail_after(5):
            while (await api.client.get("/api/v1/stats")).json()["history_jobs"] != 1:
                await trio.sleep(0.02)


async def test_lists_merge_live_and_finished_jobs_in_submission_order() -> None:
    async with running_api() as api:
        done = await submit(api, *({"type": "noop"} for _ in range(6)))
        for job_id in done:
            await wait_status(api, job_id, "succeeded")
        waiting = await submit(api, *({"type": "noop", "delay_s": 600} for _ in range(5)))
        more_done = await submit(api, *({"type": "noop"} for _ in range(4)))
        for job_id in more_done:
            await wait_status(api, job_id, "succeeded")
        everything = done + waiting + more_done
        assert await walk(api, {"limit": 4}) == everything[::-1]
        assert await walk(api, {"limit": 3, "order": "asc"}) == everything
        assert await walk(api, {"limit": 2, "status": "scheduled"}) == waiting[::-1]
        assert await walk(api, {"limit": 5, "status": "succeeded", "order": "asc"}) == (
            done + more_done
        )
        assert await walk(api, {"status": "dead"}) == []


async def test_since_and_until_filter_by_creation_time() -> None:
    async with running_api(worker=False) as api:
        first = await submit(api, {"type": "noop"}, {"type": "noop"})
        middle = (await api.client.get(f"/api/v1/jobs/{first[-1]}")).json()["created_at"]
        await trio.sleep(0.05)
        second = await submit(api, {"type": "noop"})
        later = (await api.client.get(f"/api/v1/jobs/{second[0]}")).json()["created_at"]
        assert await walk(api, {"since": str(later)}) == second
        assert await walk(api, {"until": str(later), "order": "asc"}) == first
        iso = datetime.fromtimestamp(middle - 3600, tz=UTC)
        assert await walk(api, {"since": iso.isoformat()}) == (first + second)[::-1]
        bad = await api.client.get("/api/v1/jobs", params={"since": "yesterday"})
        assert bad.status_code == 400 and "since" in bad.json()["error"]


async def test_delete_removes_a_final_job_and_refuses_a_live_one() -> None:
    async with running_api() as api:
        c = api.client
        [done] = await submit(api, {"type": "noop"})
        await wait_status(api, done, "succeeded")
        [later] = await submit(api, {"type": "noop", "delay_s": 600})
        refused = await c.delete(f"/api/v1/jobs/{later}")
        assert refused.status_code == 409 and "cancel it first" in refused.json()["error"]
        deleted = await c.delete(f"/api/v1/jobs/{done}")
        assert deleted.status_code == 200 and deleted.json() == {"deleted": 1}
        assert (await c.get(f"/api/v1/jobs/{done}")).status_code == 404
        assert (await c.delete(f"/api/v1/jobs/{done}")).status_code == 404
        stats = (await c.get("/api/v1/stats")).json()
        assert stats["jobs"]["succeeded"] == 1, "counters stay monotonic"


async def test_purge_removes_by_status_type_and_time() -> None:
    async with running_api() as api:
        c = api.client
        ids = await submit(api, *({"type": "noop"} for _ in range(3)))
        [dead] = await submit(
            api, {"type": "shell", "payload": {"argv": ["false"]}, "max_retries": 0}
        )
        for job_id in ids:
            await wait_status(api, job_id, "succeeded")
        await wait_status(api, dead, "dead")
        [cancelled] = await submit(api, {"type": "noop", "delay_s": 600})
        await c.post(f"/api/v1/jobs/{cancelled}/cancel")
        nothing = await c.post("/api/v1/jobs/purge", json={"status": "dead", "before": 1000})
        assert nothing.json() == {"deleted": 0}
        purged = await c.post("/api/v1/jobs/purge", json={"status": ["dead", "cancelled"]})
        assert purged.status_code == 200 and purged.json() == {"deleted": 2}
        assert (await c.get(f"/api/v1/jobs/{dead}")).status_code == 404
        rest = await c.post("/api/v1/jobs/purge", json={"type": "noop", "before": "2999-01-01"})
        assert rest.json() == {"deleted": 3}
        assert await walk(api, {}) == []
        stats = (await c.get("/api/v1/stats")).json()
        assert stats["jobs"]["succeeded"] == 3 and stats["dead_letter"] == 1
        bad = await c.post("/api/v1/jobs/purge", json={"status": "running"})
        assert bad.status_code == 400 and "only final jobs" in bad.json()["error"]


async def test_retention_removes_what_is_past_its_time() -> None:
    settings = MasterSettings(
        lease_s=5.0, heartbeat_s=0.2, keep_finished_s=0.3, retention_check_s=0.1
    )
    async with running_api(settings=settings) as api:
        c = api.client
        ids = await submit(api, *({"type": "noop", "idempotency_key": f"k{i}"} for i in range(5)))
        for job_id in ids:
            await c.get(f"/api/v1/jobs/{job_id}")
        with trio.fail_after(10):
            for job_id in ids:
                while (await c.get(f"/api/v1/jobs/{job_id}")).status_code != 404:
                    await trio.sleep(0.05)
        assert await walk(api, {}) == []
        with trio.fail_after(5):  # the figure follows the writer, a few ms behind reads
            while (stats := (await c.get("/api/v1/stats")).json())["history_jobs"]:
                await trio.sleep(0.02)
        assert stats["jobs"]["succeeded"] == 5
        assert stats["retention"] == {"keep_finished_s": 0.3, "max_finished": 10_000_000}
        metrics = (await c.get("/metrics")).text
        assert 'podium_jobs_total{status="succeeded",type="noop"} 5.0' in metrics
        # the keys went with their records: they may be used again
        again = await submit(api, {"type": "noop", "idempotency_key": "k0"})
        assert again[0] not in ids


async def test_keeping_nothing_skips_the_history() -> None:
    settings = MasterSettings(lease_s=5.0, heartbeat_s=0.2, keep_finished_s=0.0)
    async with running_api(settings=settings) as api:
        [job_id] = await submit(api, {"type": "noop"})
        with trio.fail_after(10):
            while (await api.client.get("/api/v1/stats")).json()["jobs"]["succeeded"] != 1:
                await trio.sleep(0.02)
        assert (await api.client.get(f"/api/v1/jobs/{job_id}")).status_code == 404
        assert (await api.client.get("/api/v1/stats")).json()["history_jobs"] == 0


async def test_an_idempotency_key_finds_a_finished_job_in_the_history() -> None:
    async with running_api() as api:
        [first] = await submit(api, {"type": "noop", "idempotency_key": "once"})
        await wait_status(api, first, "succeeded")
        with trio.fail_after(5):
            while (await api.client.get("/api/v1/stats")).json()["history_jobs"] != 1:
                await trio.sleep(0.02)
        again = await submit(api, {"type": "noop", "idempotency_key": "once"}, {"type": "noop"})
        assert again[0] == first and again[1] != first
        answer = await api.client.post(
            "/api/v1/jobs", json={"type": "noop", "idempotency_key": "once"}
        )
        assert answer.json() == {"id": first, "status": "succeeded"}


async def test_retry_brings_a_dead_job_back_from_the_history() -> None:
    async with running_api() as api:
        c = api.client
        [dead] = await submit(
            api, {"type": "shell", "payload": {"argv": ["false"]}, "max_retries": 0}
        )
        await wait_status(api, dead, "dead")
        retried = await c.post(f"/api/v1/jobs/{dead}/retry")
        assert retried.status_code == 200 and retried.json()["status"] == "pending"
        job = await wait_status(api, dead, "dead")
        assert job["attempts"] == 2
        assert await walk(api, {}) == [dead]
        assert (await c.post(f"/api/v1/jobs/{dead}/cancel")).status_code == 409
