"""What the runtime needs from a network: the seam between TCP and the simulator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import trio

from transport.envelope import Envelope

Deliver = Callable[[Envelope], Awaitable[None]]


class Transport(Protocol):
    """One node's endpoint on a network.

    ``send`` never blocks: it queues the envelope for the peer (bounded) and
    returns False when it had to drop it. Delivery is best-effort, so every
    protocol above it retries (Raft by design, ``ask`` by its timeout).
    ``run`` serves until cancelled, awaiting ``deliver`` for each incoming
    envelope, which is how a full mailbox pushes back on the sender.
    """

    @property
    def node(self) -> str: ...

    def send(self, dst_node: str, envelope: Envelope) -> bool: ...

    def reachable(self, dst_node: str) -> bool:
        """Whether a message sent now could arrive (a live connection, no partition).

        Only a hint for choosing between peers: False means "don't wait on it".
        """
        ...

    async def run(
        self, deliver: Deliver, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None: ...
