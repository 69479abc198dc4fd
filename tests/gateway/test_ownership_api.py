"""Job ownership on the real app with auth on: two users and an admin.

A ``user`` sees, lists, cancels and bulk-cancels only their own jobs (another's is a 404,
as a job that does not exist); an admin sees and cancels all; every cancel, retry,
delete and purge leaves an audit line with the user and the outcome.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.gateway.api import running_api, wait_fired
from tests.gateway.owners import headers, submit, two_users


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[Any, ...]]:
    return [
        (r.__dict__["event"], r.__dict__["user"], r.__dict__["outcome"], r.__dict__.get("job"))
        for r in caplog.records
        if r.name == "podium.audit" and r.__dict__.get("event") != "login"
    ]


async def test_users_see_and_cancel_only_their_own_jobs_and_admins_all(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_api(two_users(), worker=False) as api:
        bob, cy, ada = [await headers(api, u) for u in ("bob", "cy", "ada")]
        mine = await submit(api, bob, delay_s=600)
        theirs = await submit(api, cy, delay_s=600)
        admins = await submit(api, ada, delay_s=600)
        client = api.client

        got = await client.get(f"/api/v1/jobs/{mine}", headers=bob)
        assert got.status_code == 200 and got.json()["owner"] == "bob"
        hidden = await client.get(f"/api/v1/jobs/{theirs}", headers=bob)
        nowhere = await client.get("/api/v1/jobs/no-such-job", headers=bob)
        assert hidden.status_code == nowhere.status_code == 404
        assert hidden.json() == {"error": f"job {theirs!r} not found"}

        listed = await client.get("/api/v1/jobs", headers=bob)
        assert [j["id"] for j in listed.json()["jobs"]] == [mine]
        everyone = await client.get("/api/v1/jobs", headers=ada)
        assert {j["id"]: j["owner"] for j in everyone.json()["jobs"]} == {
            mine: "bob",
            theirs: "cy",
            admins: "ada",
        }
        many = await client.post("/api/v1/jobs/status", json={"ids": [mine, theirs]}, headers=bob)
        assert [j["id"] for j in many.json()["jobs"]] == [mine]
        assert many.json()["missing"] == [theirs]

        with caplog.at_level(logging.INFO, logger="podium.audit"):
            refused = await client.post(f"/api/v1/jobs/{theirs}/cancel", headers=bob)
            assert refused.status_code == 404
            still = await client.get(f"/api/v1/jobs/{theirs}", headers=cy)
            assert still.json()["status"] == "scheduled"
            # a bulk cancel by a user takes their own jobs only, whatever it names
            bulk = await client.post(
                "/api/v1/jobs/cancel", json={"status": "scheduled"}, headers=bob
            )
            assert bulk.json() == {"cancelled": 1}
            by_id = await client.post(
                "/api/v1/jobs/cancel", json={"ids": [theirs, admins]}, headers=bob
            )
            assert by_id.json() == {"cancelled": 0}
            # an admin cancels anyone's
            ok = await client.post(f"/api/v1/jobs/{theirs}/cancel", headers=ada)
            assert ok.json()["status"] == "cancelled"
            # only dead or failed jobs are retried: refused, and audited as such
            retried = await client.post(f"/api/v1/jobs/{theirs}/retry", headers=ada)
            assert retried.status_code == 409
            deleted = await client.delete(f"/api/v1/jobs/{admins}", headers=ada)
            assert deleted.status_code == 409  # still live: refused, and audited as such
            purged = await client.post(
                "/api/v1/jobs/purge", json={"status": "cancelled"}, headers=ada
            )
            assert purged.status_code == 200
        assert audit_lines(caplog) == [
            ("cancel", "bob", "refused", theirs),
            ("bulk_cancel", "bob", "ok", None),
            ("bulk_cancel", "bob", "ok", None),
            ("cancel", "ada", "ok", theirs),
            ("retry", "ada", "refused", theirs),
            ("delete", "ada", "refused", admins),
            ("purge", "ada", "ok", None),
        ]
        counts = [r.__dict__.get("cancelled") for r in caplog.records
                  if r.__dict__.get("event") == "bulk_cancel"]  # fmt: skip
        assert counts == [1, 0]


async def test_with_auth_off_no_owner_is_recorded_and_all_is_visible() -> None:
    async with running_api(worker=False) as api:
        job_id = await submit(api, {})
        got = await api.client.get(f"/api/v1/jobs/{job_id}")
        assert got.json()["owner"] is None


async def test_a_schedules_jobs_belong_to_whoever_defined_it() -> None:
    async with running_api(two_users(), worker=False) as api:
        bob, cy, ada = [await headers(api, u) for u in ("bob", "cy", "ada")]
        client = api.client
        made = await client.post(
            "/api/v1/schedules",
            json={"name": "tick", "every_s": 1, "job": {"type": "noop"}},
            headers=cy,
        )
        assert made.status_code in (200, 201), made.text
        assert made.json()["owner"] == "cy"
        fired = (await wait_fired(api, "tick", 1, headers=cy))["last_job"]
        job = await client.get(f"/api/v1/jobs/{fired}", headers=cy)
        assert job.status_code == 200, job.text
        assert (job.json()["schedule"], job.json()["owner"]) == ("tick", "cy")
        hidden = await client.get(f"/api/v1/jobs/{fired}", headers=bob)
        assert hidden.status_code == 404 and hidden.json() == {"error": f"job {fired!r} not found"}
        bobs = (await client.get("/api/v1/jobs", headers=bob)).json()["jobs"]
        assert bobs == [], "none of the schedule's jobs is bob's"
        seen = await client.get(f"/api/v1/jobs/{fired}", headers=ada)
        assert seen.status_code == 200 and seen.json()["owner"] == "cy"


async def test_two_users_keys_never_meet() -> None:
    """The same idempotency key or unique key from two users makes two jobs: neither
    answer names the other user's job (a 409 or a deduplicated 200 would)."""
    async with running_api(two_users(), worker=False) as api:
        bob, cy = [await headers(api, u) for u in ("bob", "cy")]
        for field in ("idempotency_key", "unique_key"):
            key = {field: f"nightly-{field}"}
            bobs = await submit(api, bob, delay_s=600, **key)
            cys = await submit(api, cy, payload={"other": 1}, delay_s=600, **key)
            assert bobs != cys
            again = await api.client.post(
                "/api/v1/jobs", json={"type": "noop", "delay_s": 600, **key}, headers=bob
            )
            assert again.status_code == 200 and again.json()["id"] == bobs
