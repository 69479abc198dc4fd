"""Schedule ownership and the audit of schedule and job-type writes, on the real app with auth on.

A ``user`` lists, shows, pauses, resumes and deletes only the schedules they defined
(another's answers 404, as one that does not exist); a name another user holds is a
bare 409 that shows nothing of their schedule; an admin sees and changes all. Every
schedule write and every limit or type pause leaves one ``podium.audit`` line.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.gateway.api import Api, running_api
from tests.gateway.owners import headers, two_users

NIGHTLY = {"name": "nightly", "every_s": 3600, "paused": True, "job": {"type": "noop"}}


async def define(api: Api, who: dict[str, str], **changes: Any) -> dict[str, Any]:
    made = await api.client.post("/api/v1/schedules", json={**NIGHTLY, **changes}, headers=who)
    assert made.status_code == 201, made.text
    view: dict[str, Any] = made.json()
    return view


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[Any, ...]]:
    """(message, user, role, schedule or type, status of a refusal) of each audit line."""
    return [
        (
            r.getMessage(),
            r.__dict__["user"],
            r.__dict__["role"],
            r.__dict__.get("schedule", r.__dict__.get("type")),
            r.__dict__.get("status"),
        )
        for r in caplog.records
        if r.name == "podium.audit" and r.__dict__.get("event") != "login"
    ]


async def test_users_see_and_change_only_their_own_schedules_and_admins_all() -> None:
    async with running_api(two_users(), worker=False) as api:
        bob, cy, ada = [await headers(api, u) for u in ("bob", "cy", "ada")]
        client = api.client
        await define(api, cy)
        await define(api, bob, name="bobs")

        listed = await client.get("/api/v1/schedules", headers=bob)
        assert [s["name"] for s in listed.json()["schedules"]] == ["bobs"]
        everyone = await client.get("/api/v1/schedules", headers=ada)
        assert {s["name"]: s["owner"] for s in everyone.json()["schedules"]} == {
            "nightly": "cy",
            "bobs": "bob",
        }
        hidden = await client.get("/api/v1/schedules/nightly", headers=bob)
        nowhere = await client.get("/api/v1/schedules/no-such", headers=bob)
        assert hidden.status_code == nowhere.status_code == 404
        assert hidden.json() == {"error": "schedule 'nightly' not found"}

        for action in ("pause", "resume"):
            refused = await client.post(f"/api/v1/schedules/nightly/{action}", headers=bob)
            assert refused.status_code == 404
            assert refused.json() == {"error": "schedule 'nightly' not found"}
        gone = await client.delete("/api/v1/schedules/nightly", headers=bob)
        assert gone.status_code == 404
        kept = await client.get("/api/v1/schedules/nightly", headers=cy)
        assert kept.status_code == 200 and kept.json()["paused"] is True

        # the owner and an admin act on it
        resumed = await client.post("/api/v1/schedules/nightly/resume", headers=cy)
        assert resumed.status_code == 200 and resumed.json()["paused"] is False
        paused = await client.post("/api/v1/schedules/nightly/pause", headers=ada)
        assert paused.status_code == 200 and paused.json()["paused"] is True
        deleted = await client.delete("/api/v1/schedules/nightly", headers=ada)
        assert deleted.json() == {"deleted": 1}
        assert (await client.get("/api/v1/schedules", headers=ada)).json()["schedules"][0][
            "name"
        ] == "bobs"


async def test_a_name_another_user_holds_is_a_bare_409_and_is_not_overwritten() -> None:
    async with running_api(two_users(), worker=False) as api:
        bob, cy, ada = [await headers(api, u) for u in ("bob", "cy", "ada")]
        client = api.client
        original = await define(api, cy, job={"type": "noop", "payload": {"secret": 1}})

        # the very same body from bob is another definition: his jobs would be his
        for body in ({**NIGHTLY, "job": {"type": "noop", "payload": {"secret": 1}}}, NIGHTLY):
            taken = await client.post("/api/v1/schedules", json=body, headers=bob)
            assert taken.status_code == 409
            assert taken.json() == {"error": "the schedule name 'nightly' is taken: pick another"}
        still = (await client.get("/api/v1/schedules/nightly", headers=cy)).json()
        assert still == {**original, "next_run_at": still["next_run_at"]}

        # the owner, and an admin, who may see it, are shown the schedule in the way
        for who in (cy, ada):
            mine = await client.post("/api/v1/schedules", json=NIGHTLY, headers=who)
            assert mine.status_code == 409 and "delete it first" in mine.json()["error"]
            assert mine.json()["schedule"]["owner"] == "cy"


async def test_schedule_and_type_control_writes_are_audited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_api(two_users(), worker=False) as api:
        bob, ada = [await headers(api, u) for u in ("bob", "ada")]
        client = api.client
        with caplog.at_level(logging.INFO, logger="podium.audit"):
            await define(api, bob)
            await client.post("/api/v1/schedules/nightly/resume", headers=bob)
            await client.post("/api/v1/schedules/nightly/pause", headers=ada)
            await client.delete("/api/v1/schedules/nightly", headers=bob)
            await client.delete("/api/v1/schedules/nightly", headers=bob)
            limit = {"rate_per_s": 5, "max_running": 2}
            assert (await client.put("/api/v1/limits/mail", json=limit, headers=ada)).is_success
            assert (await client.post("/api/v1/types/mail/pause", headers=ada)).is_success
            assert (await client.post("/api/v1/types/mail/resume", headers=ada)).is_success
            assert (await client.delete("/api/v1/limits/mail", headers=ada)).is_success
            missing = await client.delete("/api/v1/limits/mail", headers=ada)
            assert missing.status_code == 404
        assert audit_lines(caplog) == [
            ("schedule_add ok", "bob", "user", "nightly", None),
            ("schedule_resume ok", "bob", "user", "nightly", None),
            ("schedule_pause ok", "ada", "admin", "nightly", None),
            ("schedule_delete ok", "bob", "user", "nightly", None),
            ("schedule_delete refused", "bob", "user", "nightly", 404),
            ("limit_set ok", "ada", "admin", "mail", None),
            ("type_pause ok", "ada", "admin", "mail", None),
            ("type_resume ok", "ada", "admin", "mail", None),
            ("limit_clear ok", "ada", "admin", "mail", None),
            ("limit_clear refused", "ada", "admin", "mail", 404),
        ]
        deletes = [r.__dict__.get("deleted") for r in caplog.records
                   if r.__dict__.get("event") == "schedule_delete"]  # fmt: skip
        assert deletes == [1, None]
