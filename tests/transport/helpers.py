"""Running TcpTransports on loopback for tests."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import trio

from tests.transport.messages import Note
from transport.envelope import Envelope
from transport.tcp import TcpTransport


def note(src: str, n: int, text: str = "") -> Envelope:
    return Envelope(src, "sender", "inbox", 0, False, Note(n, text))


class Inbox:
    def __init__(self) -> None:
        self.received: list[Envelope] = []
        self._changed = trio.Event()

    async def deliver(self, envelope: Envelope) -> None:
        self.received.append(envelope)
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, count: int) -> list[Envelope]:
        with trio.fail_after(10):
            while len(self.received) < count:
                await self._changed.wait()
        return self.received

    def numbers(self) -> list[int]:
        return [e.body.n for e in self.received if isinstance(e.body, Note)]


@asynccontextmanager
async def running(
    nursery: trio.Nursery,
    node: str,
    peers: Mapping[str, tuple[str, int]] | None = None,
    **options: object,
) -> AsyncIterator[tuple[TcpTransport, Inbox]]:
    transport = TcpTransport(
        node,
        listen=("127.0.0.1", 0),
        peers=peers or {},
        rng=random.Random(node),
        **options,  # type: ignore[arg-type]
    )
    inbox = Inbox()
    scope = trio.CancelScope()

    async def serve(task_status: trio.TaskStatus[None]) -> None:
        with scope:
            await transport.run(inbox.deliver, task_status=task_status)

    await nursery.start(serve)
    try:
        yield transport, inbox
    finally:
        scope.cancel()


def address(transport: TcpTransport) -> tuple[str, int]:
    assert transport.listen_port is not None
    return ("127.0.0.1", transport.listen_port)
