"""``RaftActor``: an actor that is only a Raft member (the Raft scenarios and benchmarks run it).

Everything Raft does on the runtime lives in :class:`~actors.raft.replica.Replica`;
this shell gives it a mailbox. The master composes a replica the same way,
beside its own messages.
"""

from __future__ import annotations

from actors.raft.replica import Replica
from runtime.actor import Actor, ActorRef
from transport.codec import Message

__all__ = ["RaftActor"]


class RaftActor(Actor):
    """A Raft member; peers are the ``raft`` actors on other nodes."""

    mailbox_size = 8192

    def __init__(self, raft: Replica) -> None:
        """``raft`` is built with ``peer_name="raft"``: its peers are the ``raft`` actors."""
        self.raft = raft

    async def on_start(self) -> None:
        await self.raft.start(self.ctx)

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        return await self.raft.handle(msg)

    async def on_drained(self) -> None:
        await self.raft.drained()
