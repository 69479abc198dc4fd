"""The native client rides past a frozen master: one that accepts connections and never
welcomes (a SIGSTOPped process's kernel still completes handshakes), and one that welcomed
and then stops answering. Each is left for the next address within the call's timeout,
and the call is sent again there within the retry deadline."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial

import trio

from client import AsyncClient
from tests.native.helpers import native_node
from transport.client_wire import ClientWelcome
from transport.codec import encode
from transport.frames import frame

Frozen = Callable[[trio.SocketStream], Awaitable[None]]


@asynccontextmanager
async def frozen_master(behaviour: Frozen) -> AsyncIterator[str]:
    """A listener on 127.0.0.1 whose connections get ``behaviour``; yields host:port."""
    async with trio.open_nursery() as nursery:
        [listener] = await nursery.start(partial(trio.serve_tcp, behaviour, 0, host="127.0.0.1"))
        yield f"127.0.0.1:{listener.socket.getsockname()[1]}"
        nursery.cancel_scope.cancel()


async def never_welcomes(stream: trio.SocketStream) -> None:
    async with stream:
        while await stream.receive_some(65536):
            pass


async def welcomes_then_freezes(stream: trio.SocketStream) -> None:
    async with stream:
        await stream.receive_some(65536)  # the hello
        await stream.send_all(frame(encode(ClientWelcome("frozen"))))
        while await stream.receive_some(65536):
            pass  # requests arrive; no answer ever leaves


async def test_a_master_that_never_welcomes_is_passed_over() -> None:
    async with native_node() as node, frozen_master(never_welcomes) as frozen:
        url = f"podium://{frozen},{node.url.removeprefix('podium://')}"
        async with AsyncClient(url, timeout=1.0, retry_deadline_s=10) as c:
            start = trio.current_time()
            job = await c.submit("noop")
            assert job["status"] == "pending"
            assert trio.current_time() - start < 3.0
            assert c.native is not None and c.native._conn is not None
            assert c.native._conn.node == "m1"


async def test_a_master_that_stops_answering_is_left_for_the_next() -> None:
    async with native_node() as node, frozen_master(welcomes_then_freezes) as frozen:
        url = f"podium://{frozen},{node.url.removeprefix('podium://')}"
        async with AsyncClient(url, timeout=1.0, retry_deadline_s=10) as c:
            start = trio.current_time()
            first = await c.submit("noop", idempotency_key="once")
            assert trio.current_time() - start < 3.0
            assert c.native is not None and c.native._conn is not None
            assert c.native._conn.node == "m1"
            # the key went with every attempt: sent again, it names the same job
            assert (await c.submit("noop", idempotency_key="once"))["id"] == first["id"]
