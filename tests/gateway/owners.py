"""Two users and an admin on the real app with auth on (``ada`` the admin, ``bob`` and
``cy`` users), for the tests of who sees and changes what."""

from __future__ import annotations

from typing import Any

import attrs

from runtime.config.model import UserConfig
from runtime.passwords import hash_password
from tests.gateway.api import Api, auth_config

CY_PW = "cy-pw"


def two_users() -> Any:
    base = auth_config()
    return attrs.evolve(base, users=(*base.users, UserConfig("cy", hash_password(CY_PW), "user")))


async def headers(api: Api, user: str) -> dict[str, str]:
    if user != "cy":
        return await api.as_user(user)
    answer = await api.client.post("/auth/login", json={"username": "cy", "password": CY_PW})
    return {"Authorization": f"Bearer {answer.json()['token']}"}


async def submit(api: Api, who: dict[str, str], **body: Any) -> str:
    answer = await api.client.post("/api/v1/jobs", json={"type": "noop", **body}, headers=who)
    assert answer.status_code == 201, answer.text
    job_id: str = answer.json()["id"]
    return job_id
