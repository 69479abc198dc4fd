"""Actors: a bounded mailbox, one handler loop, and timers that die with the actor.

An actor handles one message at a time, so its state needs no locks. The
mailbox is a bounded trio memory channel: a sender that outruns the actor
waits (local sends) or pushes back on the socket (remote sends), instead of
growing memory without limit.

Everything an actor may touch of the outside world comes through its
:class:`ActorContext`: time is ``trio.current_time()`` (the simulator mocks
it) and randomness is a ``random.Random`` seeded by the runtime, so the same
actor code runs unchanged on TCP and inside the deterministic simulator.
"""

from __future__ import annotations

import logging
import math
import random
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import trio

from transport.codec import Message
from transport.envelope import AskFailed

if TYPE_CHECKING:
    from runtime.system import ActorSystem

log = logging.getLogger("podium.actor")

__all__ = ["Actor", "ActorContext", "ActorRef", "Mail", "PendingReply", "Timer"]


@attrs.frozen(eq=False)
class ActorRef:
    """Where an actor lives: ``(node, name)``; sending works the same wherever that is."""

    system: ActorSystem = attrs.field(repr=False)
    node: str
    name: str

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorRef) and self.node == other.node and self.name == other.name

    def __hash__(self) -> int:
        return hash((self.node, self.name))

    async def send(self, msg: Message, sender: ActorRef | None = None) -> None:
        """Deliver ``msg``; waits while a local mailbox is full, never for the network."""
        await self.system.send(self, msg, sender)

    def try_send(self, msg: Message, sender: ActorRef | None = None) -> bool:
        """Deliver without waiting; False when the message was dropped."""
        return self.system.try_send(self, msg, sender)

    async def ask(self, msg: Message, timeout: float = 5.0) -> Message:
        """Send ``msg`` and wait for the reply; raises AskTimeout or AskError."""
        return await self.system.ask(self, msg, timeout)


@attrs.frozen
class Mail:
    """One mailbox item: the message, who sent it, and the ask's correlation id (0: none)."""

    msg: Message
    sender: ActorRef | None
    corr: int


class PendingReply:
    """An ask to be answered later, e.g. once a Raft entry commits; answer it once.

    For a message that was sent rather than asked there is nobody to answer,
    and answering is a no-op, so a handler need not care which it got.
    """

    __slots__ = ("_corr", "_system", "_to")

    def __init__(self, system: ActorSystem, to: ActorRef | None, corr: int) -> None:
        self._system = system
        self._to = to
        self._corr = corr

    def resolve(self, answer: Message | None) -> None:
        if self._to is not None and self._corr:
            self._system.reply(self._to, self._corr, answer)
            self._corr = 0

    def fail(self, reason: str) -> None:
        self.resolve(AskFailed(reason))


class Timer:
    """A pending ``send_after`` or periodic tick; cancel it, or let it die with its actor."""

    __slots__ = ("_scope",)

    def __init__(self, scope: trio.CancelScope) -> None:
        self._scope = scope

    def cancel(self) -> None:
        self._scope.cancel()

    @property
    def cancelled(self) -> bool:
        return self._scope.cancel_called


class ActorContext:
    """An actor's handle on the runtime: its identity, clock, randomness and timers."""

    def __init__(
        self,
        system: ActorSystem,
        name: str,
        rng: random.Random,
        nursery: trio.Nursery,
        inbox: trio.MemorySendChannel[Mail],
        loop_scope: trio.CancelScope,
    ) -> None:
        self.system = system
        self.name = name
        self.rng = rng
        self.nursery = nursery
        self._inbox = inbox
        self._loop_scope = loop_scope
        self.self_ref = system.ref(system.node, name)
        # the message being handled, and whether its handler took over the reply
        self.current: Mail | None = None
        self.deferred = False

    @property
    def node(self) -> str:
        return self.system.node

    def now(self) -> float:
        """Monotonic seconds for timers and timeouts (mocked in the simulator)."""
        return trio.current_time()

    def wall_time(self) -> float:
        """Epoch seconds for timestamps that go into the replicated log."""
        return self.system.wall_clock()

    def ref(self, node: str, name: str) -> ActorRef:
        return self.system.ref(node, name)

    def defer_reply(self) -> PendingReply:
        """Answer the message being handled later, instead of with the handler's return."""
        mail = self.current
        if mail is None:
            raise RuntimeError("defer_reply() called outside a message handler")
        self.deferred = True
        return PendingReply(self.system, mail.sender, mail.corr)

    def stop(self) -> None:
        """End this actor cleanly once the current message is handled (no restart)."""
        self._loop_scope.cancel()

    def send_after(self, delay: float, msg: Message) -> Timer:
        """Put ``msg`` in this actor's own mailbox after ``delay`` seconds."""
        scope = trio.CancelScope()

        async def fire() -> None:
            with scope:
                await trio.sleep(delay)
                await self._inbox.send(Mail(msg, self.self_ref, 0))

        self.nursery.start_soon(fire)
        return Timer(scope)

    def every(self, period: float, msg: Message) -> Timer:
        """Put ``msg`` in this actor's mailbox every ``period`` seconds.

        Deadlines are absolute (start + k * period), so a slow handler does not
        make the ticks drift; a tick that finds the mailbox full is skipped
        rather than queued behind the backlog it would only add to.
        """
        scope = trio.CancelScope()

        async def tick() -> None:
            with scope:
                deadline = trio.current_time()
                while True:
                    deadline += period
                    await trio.sleep_until(deadline)
                    try:
                        self._inbox.send_nowait(Mail(msg, self.self_ref, 0))
                    except trio.WouldBlock:
                        log.debug("tick skipped, mailbox full", extra={"actor": self.name})

        if not (period > 0 and math.isfinite(period)):
            raise ValueError(f"timer period must be a positive number, got {period!r}")
        self.nursery.start_soon(tick)
        return Timer(scope)


class Actor:
    """Subclass and override :meth:`handle`; the runtime sets ``ctx`` before ``on_start``.

    ``handle`` returns the reply to an ``ask`` (None replies ``Ack``); for a
    plain send the return value is ignored. An exception from ``handle``
    crashes the actor: the asker, if any, gets the error, and the supervisor
    decides what happens next.
    """

    mailbox_size: ClassVar[int] = 1024
    ctx: ActorContext

    async def on_start(self) -> None:
        """Runs before the first message; the actor is already addressable."""

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        raise NotImplementedError(f"{type(self).__name__} does not handle {type(msg).__name__}")

    async def on_drained(self) -> None:
        """Runs whenever the mailbox is empty after a message: the place to flush a batch.

        An actor that batches (Raft's group commit: one fsync for every proposal
        that arrived meanwhile) does its per-message work in ``handle`` and the
        expensive step here, so the batch grows by itself under load.
        """

    async def on_stop(self) -> None:
        """Runs after a clean stop or a crash of a started actor; not when its node is cancelled."""

    def describe(self) -> dict[str, Any]:
        """Extra fields for the supervisor's log lines."""
        return {}
