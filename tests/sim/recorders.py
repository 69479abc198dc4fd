"""A node that answers pings and notes when it handled each, for the fault and harness
tests."""

from __future__ import annotations

import trio

from runtime.actor import Actor, ActorRef
from runtime.supervisor import ChildSpec, Supervisor
from runtime.system import ActorSystem
from tests.sim.messages import Ping, Pong
from transport.codec import Message


class Recorder(Actor):
    """Answers pings and notes when it handled each."""

    def __init__(self, handled: list[tuple[int, float]]) -> None:
        self.handled = handled

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        assert isinstance(msg, Ping)
        self.handled.append((msg.n, trio.current_time()))
        return Pong(msg.n)


def recorder_root(system: ActorSystem, handled: list[tuple[int, float]]) -> Supervisor:
    return Supervisor("root", [ChildSpec("rec", lambda: Recorder(handled))])
