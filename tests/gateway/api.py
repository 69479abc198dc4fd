"""An in-process API for tests: a real single-master node (memory disk) behind the real app.

No sockets: httpx talks to the Starlette app through its ASGI transport, and
the app asks a real :class:`MasterActor` (its own majority) by ``ask``. The
local worker is a real :class:`WorkerActor` too, so jobs run.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx
import trio
from prometheus_client import CollectorRegistry

from actors.gateway.app import Gateway, build_app
from actors.gateway.auth import Authenticator
from actors.master.actor import MasterActor, MasterSettings
from actors.master.metrics import MasterMetrics
from actors.raft.core import RaftConfig
from actors.worker.agent import WorkerActor
from actors.worker.handlers import default_registry
from runtime.config.model import AuthConfig, UserConfig
from runtime.node import serve_http
from runtime.passwords import hash_password
from runtime.storage import MemoryDisk, MemoryStorage
from runtime.storage.history import History
from runtime.storage.history_memory import HistoryDisk, MemoryHistory
from runtime.supervisor import ChildSpec, Supervisor
from runtime.system import ActorSystem

SECRET = "test-secret-that-is-long-enough-for-hs256"
PASSWORDS = {"ada": "ada-pw", "bob": "bob-pw", "wes": "wes-pw"}


def auth_config(enabled: bool = True, token_ttl_s: float = 3600.0) -> AuthConfig:
    users = (
        UserConfig("ada", hash_password(PASSWORDS["ada"]), "admin"),
        UserConfig("bob", hash_password(PASSWORDS["bob"]), "user"),
        UserConfig("wes", hash_password(PASSWORDS["wes"]), "worker"),
    )
    return AuthConfig(enabled=enabled, secret=SECRET, token_ttl_s=token_ttl_s, users=users)


@attrs.define
class Api:
    client: httpx.AsyncClient
    registry: CollectorRegistry
    system: ActorSystem
    # the ASGI app itself, for a test that serves it on a real socket
    app: object

    async def token(self, user: str) -> str:
        answer = await self.client.post(
            "/auth/login", json={"username": user, "password": PASSWORDS[user]}
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["token"]
        return token

    async def as_user(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(user)}"}


async def wait_status(api: Api, job_id: str, *statuses: str, **kw: Any) -> dict[str, Any]:
    """The job once its status is one of ``statuses`` (``*FINAL_STATUSES`` for any final
    one), asked again every 20 ms for up to 10 s; ``kw`` go with each GET (headers)."""
    assert statuses, "wait for at least one status"
    with trio.fail_after(10):
        while True:
            job: dict[str, Any] = (await api.client.get(f"/api/v1/jobs/{job_id}", **kw)).json()
            if job["status"] in statuses:
                return job
            await trio.sleep(0.02)


async def wait_fired(api: Api, name: str, at_least: int, **kw: Any) -> dict[str, Any]:
    """The schedule once it has fired ``at_least`` times, asked again every 50 ms for up to
    10 s; ``kw`` go with each GET (headers)."""
    with trio.fail_after(10):
        while True:
            view: dict[str, Any] = (await api.client.get(f"/api/v1/schedules/{name}", **kw)).json()
            if view["fired"] >= at_least:
                return view
            await trio.sleep(0.05)


async def walk(api: Api, params: dict[str, object]) -> list[str]:
    """Every page of a listing, following cursors (an empty cursor is the first page)."""
    seen: list[str] = []
    cursor = ""
    while True:
        page = (await api.client.get("/api/v1/jobs", params={**params, "cursor": cursor})).json()
        seen += [j["id"] for j in page["jobs"]]
        cursor = page["cursor"]
        if cursor is None:
            return seen


def node_children(
    *,
    settings: MasterSettings | None = None,
    metrics: MasterMetrics | None = None,
    worker: bool = True,
    worker_actor: Callable[[], WorkerActor] | None = None,
) -> list[ChildSpec]:
    """A single master "m1" on a memory disk (its own majority), and a worker beside it
    (``worker_actor`` makes it, if given)."""
    settings = settings or MasterSettings(lease_s=5.0, heartbeat_s=0.2)
    disk, history = MemoryDisk(), HistoryDisk()
    children = [
        ChildSpec(
            "master",
            lambda: MasterActor(
                "m1",
                ["m1"],
                MemoryStorage(disk, fsync_s=0.0),
                History(MemoryHistory(history)),
                RaftConfig(election_ticks=2),
                settings,
                tick_s=0.01,
                metrics=metrics,
            ),
        )
    ]
    if worker:
        children.append(
            ChildSpec(
                "worker",
                worker_actor
                or (
                    lambda: WorkerActor(
                        "m1", ["m1"], default_registry(), capacity=4, heartbeat_s=0.2
                    )
                ),
            )
        )
    return children


@asynccontextmanager
async def running_api(
    auth: AuthConfig | None = None,
    *,
    max_body: int = 1 << 20,
    body_timeout_s: float = 30.0,
    worker: bool = True,
    settings: MasterSettings | None = None,
    worker_actor: Callable[[], WorkerActor] | None = None,
) -> AsyncIterator[Api]:
    registry = CollectorRegistry()
    system = ActorSystem("m1", None, random.Random(7))
    children = node_children(
        settings=settings,
        metrics=MasterMetrics(registry),
        worker=worker,
        worker_actor=worker_actor,
    )
    app = build_app(
        Gateway(system, timeout_s=5.0, max_body=max_body, body_timeout_s=body_timeout_s),
        Authenticator(auth or AuthConfig(), system.wall_clock),
        registry,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(Supervisor("root", children).run, system)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://podium") as client:
            with trio.fail_after(10):
                while (await client.get("/ready")).status_code != 200:
                    await trio.sleep(0.02)
            yield Api(client, registry, system, app)
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def served(api: Api) -> AsyncIterator[tuple[str, int]]:
    """The app on 127.0.0.1 through hypercorn's trio worker."""
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(serve_http, api.app, ("127.0.0.1", 0))
        host, port = bound[0].removeprefix("http://").rsplit(":", 1)
        yield host, int(port)
        nursery.cancel_scope.cancel()
