"""One node's actor system: the registry of local mailboxes, routing and ``ask``.

Routing is location-transparent. A message for a local actor goes straight
into its mailbox (no encoding); one for another node is wrapped in an
:class:`~transport.envelope.Envelope` and handed to the transport. Replies to
``ask`` never go through the asking actor's mailbox: they resolve a pending
slot by correlation id, so an actor may await an ask inside its handler.
"""

from __future__ import annotations

import itertools
import logging
import random

import attrs
import trio

from runtime.actor import Actor, ActorContext, ActorRef, Mail
from runtime.clock import WallClock, system_wall_clock
from runtime.errors import AskError, AskTimeout
from transport.base import Transport
from transport.codec import Message
from transport.envelope import Ack, AskFailed, Envelope

log = logging.getLogger("podium.system")

# the pseudo-actor name that replies to ``ask`` are addressed to
_ASK = "$ask"

__all__ = ["ActorSystem"]


@attrs.define
class _ReplySlot:
    event: trio.Event = attrs.Factory(trio.Event)
    reply: Message | None = None


class ActorSystem:
    def __init__(
        self,
        node: str,
        transport: Transport | None,
        rng: random.Random,
        wall_clock: WallClock = system_wall_clock,
    ) -> None:
        self.node = node
        self.wall_clock = wall_clock
        self.transport = transport
        self.rng = rng
        self._mailboxes: dict[str, trio.MemorySendChannel[Mail]] = {}
        self._pending: dict[int, _ReplySlot] = {}
        self._corr = itertools.count(1)
        self.dropped = 0

    def ref(self, node: str, name: str) -> ActorRef:
        return ActorRef(self, node, name)

    def has_actor(self, name: str) -> bool:
        return name in self._mailboxes

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve the transport until cancelled (returns at once without one)."""
        if self.transport is None:
            task_status.started()
            return
        await self.transport.run(self._deliver, task_status=task_status)

    # -- sending ---------------------------------------------------------------

    async def send(self, target: ActorRef, msg: Message, sender: ActorRef | None) -> None:
        if target.node == self.node:
            inbox = self._mailboxes.get(target.name)
            if inbox is None:
                self._dead_letter(target, msg)
                return
            try:
                await inbox.send(Mail(msg, sender, 0))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._dead_letter(target, msg)
        else:
            self._send_remote(target, msg, sender, corr=0, reply=False)

    def try_send(self, target: ActorRef, msg: Message, sender: ActorRef | None) -> bool:
        if target.node != self.node:
            return self._send_remote(target, msg, sender, corr=0, reply=False)
        inbox = self._mailboxes.get(target.name)
        if inbox is None:
            self._dead_letter(target, msg)
            return False
        try:
            inbox.send_nowait(Mail(msg, sender, 0))
        except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            self._dead_letter(target, msg)
            return False
        return True

    def reachable(self, node: str) -> bool:
        """Whether ``node`` can be reached now (always, for this node itself)."""
        if node == self.node:
            return True
        return self.transport is not None and self.transport.reachable(node)

    async def ask(self, target: ActorRef, msg: Message, timeout: float) -> Message:
        corr = next(self._corr)
        slot = _ReplySlot()
        self._pending[corr] = slot
        asker = self.ref(self.node, _ASK)
        try:
            deadline = trio.current_time() + timeout
            if target.node == self.node:
                inbox = self._mailboxes.get(target.name)
                if inbox is None:
                    raise AskError(f"no actor {target.name!r} on node {self.node!r}")
                with trio.move_on_at(deadline):
                    try:
                        await inbox.send(Mail(msg, asker, corr))
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        raise AskError(f"{target.name}@{self.node} stopped") from None
            else:
                self._send_remote(target, msg, asker, corr=corr, reply=False)
            with trio.move_on_at(deadline):
                await slot.event.wait()
        finally:
            del self._pending[corr]
        if slot.reply is None:
            raise AskTimeout(
                f"{target.name}@{target.node} did not answer {type(msg).__name__} "
                f"within {timeout:g}s"
            )
        if isinstance(slot.reply, AskFailed):
            raise AskError(f"{target.name}@{target.node}: {slot.reply.reason}")
        return slot.reply

    def reply(self, to: ActorRef, corr: int, answer: Message | None) -> None:
        """Answer ask ``corr`` from ``to``; the runtime calls this after a handler returns."""
        body = Ack() if answer is None else answer
        if to.node == self.node:
            self._resolve(corr, body)
        else:
            self._send_remote(to, body, None, corr=corr, reply=True)

    def _envelope(
        self, target: ActorRef, msg: Message, sender: ActorRef | None, *, corr: int, reply: bool
    ) -> Envelope:
        return Envelope(
            src_node=self.node,
            src_name=sender.name if sender is not None else "",
            dst_name=target.name,
            corr=corr,
            reply=reply,
            body=msg,
        )

    def _send_remote(
        self, target: ActorRef, msg: Message, sender: ActorRef | None, *, corr: int, reply: bool
    ) -> bool:
        if self.transport is None:
            self._dead_letter(target, msg)
            return False
        envelope = self._envelope(target, msg, sender, corr=corr, reply=reply)
        if self.transport.send(target.node, envelope):
            return True
        self.dropped += 1
        return False

    def _resolve(self, corr: int, body: Message) -> None:
        slot = self._pending.get(corr)
        if slot is not None and slot.reply is None:
            slot.reply = body
            slot.event.set()

    def _dead_letter(self, target: ActorRef, msg: Message) -> None:
        self.dropped += 1
        log.debug(
            "dead letter",
            extra={"node": self.node, "target": target.name, "message": type(msg).__name__},
        )

    # -- receiving -------------------------------------------------------------

    async def _deliver(self, envelope: Envelope) -> None:
        if envelope.reply:
            self._resolve(envelope.corr, envelope.body)
            return
        sender = self.ref(envelope.src_node, envelope.src_name) if envelope.src_name else None
        inbox = self._mailboxes.get(envelope.dst_name)
        if inbox is None:
            if envelope.corr and sender is not None:
                reason = f"no actor {envelope.dst_name!r} on node {self.node!r}"
                self._send_remote(sender, AskFailed(reason), None, corr=envelope.corr, reply=True)
            else:
                self._dead_letter(self.ref(self.node, envelope.dst_name), envelope.body)
            return
        try:
            await inbox.send(Mail(envelope.body, sender, envelope.corr))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._dead_letter(self.ref(self.node, envelope.dst_name), envelope.body)

    # -- running actors --------------------------------------------------------

    async def run_actor(
        self,
        name: str,
        actor: Actor,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run ``actor`` under ``name`` until it stops; exceptions crash it (to the supervisor)."""
        if name in self._mailboxes or name == _ASK:
            raise ValueError(f"an actor named {name!r} already runs on node {self.node!r}")
        send_channel, receive_channel = trio.open_memory_channel[Mail](actor.mailbox_size)
        self._mailboxes[name] = send_channel
        crash: Exception | None = None
        try:
            async with trio.open_nursery() as nursery:
                rng = random.Random(self.rng.getrandbits(64))
                loop_scope = trio.CancelScope()
                actor.ctx = ActorContext(self, name, rng, nursery, send_channel, loop_scope)
                # exceptions are caught inside the nursery and re-raised outside it, so a
                # supervisor sees the actor's own error rather than a one-item ExceptionGroup
                started = False
                try:
                    await actor.on_start()
                    started = True
                    task_status.started()
                    with loop_scope:
                        await self._loop(actor, receive_channel)
                except Exception as exc:
                    crash = exc
                if started:
                    try:
                        await actor.on_stop()
                    except Exception as exc:
                        crash = crash or exc
                nursery.cancel_scope.cancel()
        finally:
            if self._mailboxes.get(name) is send_channel:
                del self._mailboxes[name]
            # closing the receiving end first turns every send still waiting on this
            # mailbox into BrokenResourceError, which senders treat as a dead letter
            receive_channel.close()
            send_channel.close()
        if crash is not None:
            raise crash

    async def _loop(self, actor: Actor, inbox: trio.MemoryReceiveChannel[Mail]) -> None:
        ctx = actor.ctx
        async for mail in inbox:
            ctx.current = mail
            ctx.deferred = False
            if not mail.corr:
                await actor.handle(mail.msg, mail.sender)
            else:
                assert mail.sender is not None
                try:
                    answer = await actor.handle(mail.msg, mail.sender)
                except Exception as exc:
                    self.reply(mail.sender, mail.corr, AskFailed(f"{type(exc).__name__}: {exc}"))
                    raise
                if not ctx.deferred:
                    self.reply(mail.sender, mail.corr, answer)
            if not inbox.statistics().current_buffer_used:
                await actor.on_drained()
