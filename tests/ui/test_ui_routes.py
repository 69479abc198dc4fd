"""The dashboard's routes through the app: its files are served from the package with
their headers, open without a token, and GET /api/v1/cluster/masters lists each master's
view (those that do not answer as unreachable) under the admin role."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import attrs
import trio

from actors.gateway.ui.assets import INDEX, TYPES, assets
from actors.gateway.ui.masters import ASK_S, masters_view
from runtime.config.model import AuthConfig, UserConfig
from runtime.errors import AskTimeout
from runtime.passwords import hash_password
from tests.gateway.api import running_api
from transport.cluster import GetCluster, JsonView

STATIC = Path(__file__).resolve().parents[2] / "actors/gateway/ui/static"


def test_every_file_of_the_static_folder_is_served_and_every_import_resolves() -> None:
    on_disk = {p.name for p in STATIC.iterdir() if p.is_file()}
    assert set(assets()) == on_disk
    assert all("." + name.rpartition(".")[2] in TYPES for name in on_disk)
    for name, asset in assets().items():
        text = asset.body.decode()
        for target in re.findall(r'from "\./([\w.]+)"', text):
            assert target in on_disk, f"{name} imports ./{target}, which is not shipped"
        for target in re.findall(r'(?:src|href)="/ui/static/([\w.]+)"', text):
            assert target in on_disk, f"{name} links /ui/static/{target}, which is not shipped"


async def test_the_page_and_its_files_are_served_with_their_headers() -> None:
    async with running_api(worker=False) as api:
        page = await api.client.get("/ui")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-cache"
        assert page.content == assets()[INDEX].body
        again = await api.client.get("/ui", headers={"If-None-Match": page.headers["etag"]})
        assert again.status_code == 304 and not again.content
        script = await api.client.get("/ui/static/main.js")
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        missing = await api.client.get("/ui/static/secret.py")
        assert missing.status_code == 404
        assert missing.json() == {"error": "no dashboard file named 'secret.py'"}
        odd = await api.client.get("/ui?debug=1")
        assert odd.status_code == 400 and "debug" in odd.json()["error"]


def _auth() -> AuthConfig:
    users = (
        UserConfig("alice", hash_password("a"), "admin"),
        UserConfig("bob", hash_password("b"), "user"),
    )
    return AuthConfig(enabled=True, secret="s" * 32, users=users)


async def _token(api: Any, user: str, password: str) -> dict[str, str]:
    answer = await api.client.post("/auth/login", json={"username": user, "password": password})
    return {"Authorization": f"Bearer {answer.json()['token']}"}


async def test_with_auth_on_the_files_are_open_and_the_masters_view_is_for_admins() -> None:
    async with running_api(_auth(), worker=False) as api:
        assert (await api.client.get("/ui")).status_code == 200
        assert (await api.client.get("/ui/static/api.js")).status_code == 200
        assert (await api.client.get("/api/v1/cluster/masters")).status_code == 401
        bob = await _token(api, "bob", "b")
        refused = await api.client.get("/api/v1/cluster/masters", headers=bob)
        assert refused.status_code == 403
        assert refused.json()["error"] == "role 'user' may not see cluster membership"
        alice = await _token(api, "alice", "a")
        answer = await api.client.get("/api/v1/cluster/masters", headers=alice)
        assert answer.status_code == 200
        [master] = answer.json()["masters"]
        assert answer.json()["node"] == "m1"
        assert master["node"] == "m1" and master["reachable"] is True
        assert master["role"] == "leader" and master["ready"] is True
        assert master["applied_index"] == master["commit_index"] > 0


# -- each master asked, and those that cannot answer ------------------------------------


@attrs.define
class _Ref:
    node: str
    asked: list[tuple[str, float]]

    async def ask(self, msg: Any, timeout: float) -> Any:
        assert isinstance(msg, GetCluster)
        self.asked.append((self.node, timeout))
        if self.node == "m3":
            raise AskTimeout("m3 is slow")
        view = {"node": self.node, "masters": ["m1", "m2", "m3"], "role": "follower",
                "commit_index": 9, "applied_index": 8}  # fmt: skip
        return JsonView(json.dumps(view).encode())


@attrs.define
class _System:
    asked: list[tuple[str, float]] = attrs.Factory(list)

    def reachable(self, node: str) -> bool:
        return node != "m2"

    def ref(self, node: str, name: str) -> _Ref:
        assert name == "master"
        return _Ref(node, self.asked)


@attrs.define
class _Gateway:
    system: _System
    home: str = "m1"


async def test_masters_that_cannot_answer_are_listed_unreachable_not_waited_for() -> None:
    gateway = _Gateway(_System())
    with trio.fail_after(ASK_S + 1):
        view = await masters_view(gateway)  # type: ignore[arg-type]
    assert [m["node"] for m in view["masters"]] == ["m1", "m2", "m3"]
    m1, m2, m3 = view["masters"]
    assert m1["reachable"] and m1["applied_index"] == 8
    assert m2 == {"node": "m2", "reachable": False, "error": "unreachable from this master"}
    assert m3 == {"node": "m3", "reachable": False, "error": f"no answer within {ASK_S:g} s"}
    # m2 was not asked: the link was down
    assert sorted(node for node, _ in gateway.system.asked) == ["m1", "m3"]
