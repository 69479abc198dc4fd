"""Schedules through the HTTP API of a real master and worker: define, fire, pause, delete."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from tests.gateway.api import auth_config, running_api, wait_fired

EVERY_S = {"name": "tick", "every_s": 1, "job": {"type": "noop", "payload": {"n": 1}}}


async def test_a_schedule_fires_one_job_a_tick_marked_with_its_schedule_and_tick() -> None:
    async with running_api() as api:
        c = api.client
        made = await c.post("/api/v1/schedules", json=EVERY_S)
        assert made.status_code == 201, made.text
        view = made.json()
        assert view["name"] == "tick" and view["every_s"] == 1.0 and view["fired"] == 0
        assert view["catch_up"] == "skip" and view["timezone"] == "UTC"
        assert view["job"] == {
            "type": "noop",
            "payload": {"n": 1},
            "priority": 5,
            "max_retries": 3,
            "timeout_s": None,
        }
        assert view["next_run_at"] > view["created_at"] and view["next_run_at"] % 1 == 0
        fired = await wait_fired(api, "tick", 2)
        job = (await c.get(f"/api/v1/jobs/{fired['last_job']}")).json()
        assert job["schedule"] == "tick" and job["scheduled_for"] == fired["last_fired"]
        assert job["type"] == "noop" and job["payload"] == {"n": 1}
        assert job["idempotency_key"] is None and job["run_at"] is None
        # one job per tick: the ticks of the jobs made so far are distinct whole seconds
        page = (await c.get("/api/v1/jobs", params={"type": "noop", "limit": 100})).json()
        ticks = [j["scheduled_for"] for j in page["jobs"] if j["schedule"] == "tick"]
        assert len(ticks) == len(set(ticks)) >= 2 and all(t % 1 == 0 for t in ticks)
        listing = (await c.get("/api/v1/schedules")).json()["schedules"]
        assert [s["name"] for s in listing] == ["tick"]


async def test_the_same_definition_again_is_200_and_another_under_the_name_is_409() -> None:
    async with running_api(worker=False) as api:
        c = api.client
        first = await c.post("/api/v1/schedules", json={**EVERY_S, "paused": True})
        again = await c.post("/api/v1/schedules", json={**EVERY_S, "paused": True})
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["created_at"] == first.json()["created_at"]
        other = await c.post("/api/v1/schedules", json={**EVERY_S, "every_s": 2})
        assert other.status_code == 409
        assert "delete it first" in other.json()["error"]
        assert other.json()["schedule"]["every_s"] == 1.0


async def test_pause_stops_the_ticks_and_resume_starts_from_now() -> None:
    async with running_api() as api:
        c = api.client
        await c.post("/api/v1/schedules", json=EVERY_S)
        await wait_fired(api, "tick", 1)
        paused = await c.post("/api/v1/schedules/tick/pause")
        assert paused.status_code == 200 and paused.json()["paused"] is True
        assert paused.json()["next_run_at"] is None
        count = paused.json()["fired"]
        await trio.sleep(2.2)
        still = (await c.get("/api/v1/schedules/tick")).json()
        assert still["fired"] == count, "no tick fires while paused"
        resumed = (await c.post("/api/v1/schedules/tick/resume")).json()
        assert resumed["paused"] is False
        # the ticks that fell while paused are not caught up: one more tick, not three
        after = await wait_fired(api, "tick", count + 1)
        assert after["fired"] == count + 1 and after["last_fired"] > resumed["updated_at"] - 1


async def test_delete_removes_the_schedule_and_its_name_can_be_defined_again() -> None:
    async with running_api(worker=False) as api:
        c = api.client
        await c.post("/api/v1/schedules", json={**EVERY_S, "paused": True})
        gone = await c.delete("/api/v1/schedules/tick")
        assert gone.status_code == 200 and gone.json() == {"deleted": 1}
        assert (await c.get("/api/v1/schedules/tick")).status_code == 404
        assert (await c.delete("/api/v1/schedules/tick")).status_code == 404
        assert (await c.post("/api/v1/schedules/tick/pause")).status_code == 404
        cron = {**EVERY_S, "every_s": None, "cron": "0 3 * * *", "timezone": "Europe/Paris"}
        redefined = await c.post("/api/v1/schedules", json=cron)
        assert redefined.status_code == 201, redefined.text
        assert redefined.json()["cron"] == "0 3 * * *"
        assert redefined.json()["timezone"] == "Europe/Paris"


BAD = [
    ({"every_s": 1, "job": {"type": "noop"}}, "name"),
    ({**EVERY_S, "name": "a/b"}, "name"),
    ({**EVERY_S, "cron": "* * * * *"}, 'one of "cron" and "every_s"'),
    ({"name": "x", "job": {"type": "noop"}}, 'one of "cron" and "every_s"'),
    ({**EVERY_S, "every_s": None, "cron": "61 * * * *"}, "cron must be a cron expression"),
    ({**EVERY_S, "every_s": None, "cron": "every day"}, "cron must be"),
    ({**EVERY_S, "every_s": None, "cron": 5}, "cron must be a string"),
    ({**EVERY_S, "every_s": 0.5}, "every_s must be from 1"),
    ({**EVERY_S, "every_s": "30"}, "every_s must be a number"),
    ({**EVERY_S, "timezone": "Mars/Olympus"}, "timezone must be an IANA"),
    ({**EVERY_S, "catch_up": "some"}, "catch_up must be one of skip, one, all"),
    ({**EVERY_S, "paused": "no"}, "paused must be true or false"),
    ({**EVERY_S, "colour": "red"}, "unknown field(s) colour"),
    ({**EVERY_S, "job": None}, "job must be a JSON object"),
    ({**EVERY_S, "job": {"type": "noop", "priority": 12}}, "job: priority"),
    ({**EVERY_S, "job": {"type": "noop", "delay_s": 5}}, "job.delay_s"),
    ({**EVERY_S, "job": {"type": "noop", "idempotency_key": "k"}}, "job.idempotency_key"),
    ({**EVERY_S, "job": {"type": "noop", "depends_on": ["x"]}}, "job.depends_on"),
    ({**EVERY_S, "job": {"type": "shell", "payload": {}}}, "job: a shell job needs payload.argv"),
]


@pytest.mark.parametrize(("body", "words"), BAD)
async def test_bad_schedules_are_400_naming_the_field(body: dict[str, Any], words: str) -> None:
    async with running_api(worker=False) as api:
        answer = await api.client.post("/api/v1/schedules", json=body)
        assert answer.status_code == 400, answer.text
        assert words in answer.json()["error"]
        assert (await api.client.get("/api/v1/schedules")).json() == {"schedules": []}


async def test_roles_users_manage_schedules_workers_read_them_shell_needs_its_role() -> None:
    async with running_api(auth_config(), worker=False) as api:
        c = api.client
        bob, wes, ada = [await api.as_user(user) for user in ("bob", "wes", "ada")]
        paused = {**EVERY_S, "paused": True}
        assert (await c.post("/api/v1/schedules", json=paused, headers=wes)).status_code == 403
        assert (await c.post("/api/v1/schedules", json=paused, headers=bob)).status_code == 201
        assert (await c.get("/api/v1/schedules/tick", headers=wes)).status_code == 200
        assert (await c.post("/api/v1/schedules/tick/resume", headers=wes)).status_code == 403
        assert (await c.delete("/api/v1/schedules/tick", headers=bob)).status_code == 200
        shell = {**paused, "job": {"type": "shell", "payload": {"argv": ["true"]}}}
        refused = await c.post("/api/v1/schedules", json=shell, headers=bob)
        assert refused.status_code == 403 and "shell" in refused.json()["error"]
        assert (await c.post("/api/v1/schedules", json=shell, headers=ada)).status_code == 201


async def test_a_schedules_live_jobs_are_cancelled_in_bulk_by_its_name() -> None:
    async with running_api(worker=False) as api:
        c = api.client
        await c.post("/api/v1/schedules", json=EVERY_S)
        await c.post("/api/v1/jobs", json={"type": "noop"})  # no schedule's: it stays
        await wait_fired(api, "tick", 2)
        await c.post("/api/v1/schedules/tick/pause")
        fired = (await c.get("/api/v1/schedules/tick")).json()["fired"]
        cancelled = await c.post("/api/v1/jobs/cancel", json={"schedule": "tick"})
        assert cancelled.status_code == 200 and cancelled.json() == {"cancelled": fired}
        stats = (await c.get("/api/v1/stats")).json()["jobs"]
        assert stats["pending"] == 1 and stats["cancelled"] == fired
