"""A real master (memory disk) serving native clients on a loopback cluster port, in process.

The same pieces a node plugs together (:class:`TcpTransport` with the gateway's
:class:`NativeSessions` as its client handler, the shared :class:`Service`),
around the in-process master and worker of :mod:`tests.gateway.api`, so a
session can be tested without starting a process.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import trio

from actors.gateway.app import Gateway, Service
from actors.gateway.auth import Authenticator
from actors.gateway.native import NativeSessions
from client import AsyncClient
from runtime.config.model import AuthConfig
from runtime.supervisor import Supervisor
from runtime.system import ActorSystem
from tests.gateway.api import PASSWORDS, node_children
from transport.tcp import TcpTransport


@attrs.define
class NativeNode:
    transport: TcpTransport
    service: Service

    @property
    def url(self) -> str:
        return f"podium://127.0.0.1:{self.transport.listen_port}"

    async def token(self, user: str) -> str:
        return await self.service.auth.login(user, PASSWORDS[user], "test")


@asynccontextmanager
async def native_node(
    auth: AuthConfig | None = None, *, server_ssl: ssl.SSLContext | None = None
) -> AsyncIterator[NativeNode]:
    """``server_ssl``: the cluster port's TLS (then the probe's ready check is skipped)."""
    transport = TcpTransport(
        "m1", listen=("127.0.0.1", 0), peers={}, rng=random.Random(3), server_ssl=server_ssl
    )
    system = ActorSystem("m1", transport, random.Random(7))
    service = Service(
        Gateway(system, timeout_s=5.0), Authenticator(auth or AuthConfig(), system.wall_clock)
    )
    transport.accept_clients(NativeSessions(service))
    async with trio.open_nursery() as nursery:
        await nursery.start(system.serve)
        await nursery.start(Supervisor("root", node_children()).run, system)
        node = NativeNode(transport, service)
        # ready once the master leads and answers (auth off here, or an admin's token)
        token = await node.token("ada") if auth is not None and auth.enabled else None
        if server_ssl is None:
            async with AsyncClient(node.url, token=token, timeout=5) as probe:
                with trio.fail_after(10):
                    while (await probe.cluster()).get("leader") != "m1":
                        await trio.sleep(0.02)
        yield node
        nursery.cancel_scope.cancel()
