"""``RaftActor``: an actor that is only a Raft member (the Raft scenarios and benchmarks run it).

Everything Raft does on the runtime lives in :class:`~actors.raft.replica.Replica`;
this shell gives it a mailbox. The master composes a replica the same way,
beside its own messages.
"""

from __future__ import annotations

from collections.abc import Sequence

from actors.raft.core import RaftConfig
from actors.raft.replica import (
    Committed,
    NotLeaderReply,
    Propose,
    Replica,
    SimpleStateMachine,
    StateMachine,
    Tick,
)
from runtime.actor import Actor, ActorRef
from runtime.storage import Storage
from transport.codec import Message

__all__ = [
    "Committed",
    "NotLeaderReply",
    "Propose",
    "RaftActor",
    "SimpleStateMachine",
    "StateMachine",
    "Tick",
]


class RaftActor(Actor):
    """A Raft member; peers are the ``raft`` actors on other nodes."""

    mailbox_size = 8192

    def __init__(
        self,
        node_id: str,
        voters: Sequence[str],
        storage: Storage,
        state_machine: StateMachine,
        config: RaftConfig,
        *,
        tick_s: float,
        snapshot_every: int = 10_000,
        snapshot_bytes: int = 16 << 20,
    ) -> None:
        self.raft = Replica(
            node_id,
            voters,
            storage,
            state_machine,
            config,
            peer_name="raft",
            tick_s=tick_s,
            snapshot_every=snapshot_every,
            snapshot_bytes=snapshot_bytes,
        )

    async def on_start(self) -> None:
        await self.raft.start(self.ctx)

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        return await self.raft.handle(msg)

    async def on_drained(self) -> None:
        await self.raft.drained()
