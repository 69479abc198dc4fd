"""Auth on the real app: login, tokens, roles, the shell rule, and the audit trail."""

from __future__ import annotations

import logging

import jwt
import pytest

from tests.gateway.api import SECRET, auth_config, running_api

ADMIN_ONLY = [
    ("GET", "/api/v1/workers"),
    ("GET", "/api/v1/cluster"),
    ("POST", "/api/v1/jobs/some-id/retry"),
]


async def test_login_gives_a_token_that_opens_the_api() -> None:
    async with running_api(auth_config(), worker=False) as api:
        headers = await api.as_user("bob")
        answer = await api.client.post("/api/v1/jobs", json={"type": "noop"}, headers=headers)
        assert answer.status_code == 201
        job_id = answer.json()["id"]
        assert (await api.client.get(f"/api/v1/jobs/{job_id}", headers=headers)).status_code == 200
        cancel = await api.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=headers)
        assert cancel.json()["status"] == "cancelled"


async def test_wrong_password_and_unknown_user_are_401_and_audited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_api(auth_config(), worker=False) as api:
        with caplog.at_level(logging.INFO, logger="podium.audit"):
            wrong = await api.client.post(
                "/auth/login", json={"username": "bob", "password": "nope"}
            )
            nobody = await api.client.post("/auth/login", json={"username": "eve", "password": "x"})
            await api.token("ada")
        assert wrong.status_code == 401 and nobody.status_code == 401
        assert wrong.json() == nobody.json() == {"error": "wrong username or password"}
        events = [(r.__dict__["event"], r.__dict__["outcome"], r.__dict__["user"])
                  for r in caplog.records if r.name == "podium.audit"]  # fmt: skip
        assert events == [
            ("login", "failed", "bob"),
            ("login", "failed", "eve"),
            ("login", "ok", "ada"),
        ]


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (None, "needs a token"),
        ("Basic YWRhOmFkYQ==", "must be 'Bearer <token>'"),
        ("Bearer not-a-jwt", "not valid"),
        (
            "Bearer " + jwt.encode({"sub": "ada", "role": "admin", "exp": 4e9}, "x" * 40),
            "not valid",
        ),
        ("Bearer " + jwt.encode({"sub": "ada", "role": "admin", "exp": 1}, SECRET), "expired"),
        ("Bearer " + jwt.encode({"sub": "eve", "role": "admin", "exp": 4e9}, SECRET), "no longer"),
        ("Bearer " + jwt.encode({"sub": "bob", "role": "admin", "exp": 4e9}, SECRET), "no longer"),
    ],
    ids=["missing", "basic", "garbage", "forged", "expired", "unknown-user", "role-raised"],
)
async def test_a_missing_or_bad_token_is_401(
    header: str | None, words: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_api(auth_config(), worker=False) as api:
        headers = {"Authorization": header} if header else {}
        with caplog.at_level(logging.INFO, logger="podium.audit"):
            answer = await api.client.get("/api/v1/stats", headers=headers)
        assert answer.status_code == 401 and words in answer.json()["error"]
        assert answer.headers["www-authenticate"] == "Bearer"
        assert any(r.__dict__.get("event") == "denied" for r in caplog.records)


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
async def test_users_may_not_do_what_only_admins_may(method: str, path: str) -> None:
    async with running_api(auth_config(), worker=False) as api:
        user = await api.client.request(method, path, headers=await api.as_user("bob"))
        assert user.status_code == 403 and "role 'user' may not" in user.json()["error"]
        admin = await api.client.request(method, path, headers=await api.as_user("ada"))
        assert admin.status_code in (200, 404)


async def test_only_shell_roles_submit_shell_jobs() -> None:
    shell = {"type": "shell", "payload": {"argv": ["true"]}}
    async with running_api(auth_config(), worker=False) as api:
        as_bob = await api.as_user("bob")
        one = await api.client.post("/api/v1/jobs", json=shell, headers=as_bob)
        assert one.status_code == 403 and "shell" in one.json()["error"]
        batch = {"jobs": [{"type": "noop"}, shell]}
        many = await api.client.post("/api/v1/jobs/batch", json=batch, headers=as_bob)
        assert many.status_code == 403
        ok = await api.client.post("/api/v1/jobs", json=shell, headers=await api.as_user("ada"))
        assert ok.status_code == 201


async def test_the_worker_role_reads_but_does_not_submit() -> None:
    async with running_api(auth_config(), worker=False) as api:
        headers = await api.as_user("wes")
        assert (await api.client.get("/api/v1/stats", headers=headers)).status_code == 200
        denied = await api.client.post("/api/v1/jobs", json={"type": "noop"}, headers=headers)
        assert denied.status_code == 403


async def test_health_ready_metrics_and_openapi_stay_open() -> None:
    async with running_api(auth_config(), worker=False) as api:
        for path in ("/health", "/ready", "/metrics", "/openapi.json"):
            assert (await api.client.get(path)).status_code == 200, path


async def test_a_token_carries_user_role_and_expiry() -> None:
    async with running_api(auth_config(token_ttl_s=120), worker=False) as api:
        claims = jwt.decode(await api.token("ada"), SECRET, algorithms=["HS256"])
        assert claims["sub"] == "ada" and claims["role"] == "admin"
        assert claims["exp"] - claims["iat"] == 120
