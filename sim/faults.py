"""Fault classes beyond the network's: a paused process, a slow disk, a skewed clock.

- **Pause** (:class:`SimSystem`): what SIGSTOP or a long garbage-collection
  pause does to a node. Its actors stop handling messages at the next message
  boundary and nothing it sends leaves; messages sent to it queue (in its
  network inbox, which drops what overflows, as a full socket buffer would).
  Its timers stop too: on resume each timer that came due fires once, and the
  messages that queued are handled with the view it had when it stopped, so a
  leader still believes it leads until one of them tells it otherwise. Tasks that run
  beside the mailboxes (a job's handler, a worker's lease watch) go on, as a
  worker's child processes would; their sends wait for the resume.
- **Slow fsync** (:class:`SlowStorage`): each write's fsync takes a latency
  drawn from the seeded stream, usually the disk's base latency and, while a
  slow spell is on, now and then far longer.
- **Clock skew**: a node's wall clock is the simulated wall clock plus an
  offset (:attr:`SimSystem.clock_offset`), fixed per incarnation. Masters'
  clocks are skewed by at most :data:`MAX_SKEW_LEASES` of a lease, the bound
  the README's failure section states; only wall time is skewed, never the
  monotonic clock timers and leases run on.

Every draw comes from a stream of the run's seed, so a run with these faults
is still a function of its seed.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import attrs
import trio

from runtime.actor import Actor, ActorRef, Mail
from runtime.clock import sim_wall_clock
from runtime.storage import MemoryDisk, MemoryStorage
from runtime.system import ActorSystem
from transport.base import Transport
from transport.codec import Message
from transport.envelope import Envelope
from transport.raft import Entry, HardState, Snapshot

if TYPE_CHECKING:
    from sim.harness import Simulation

__all__ = [
    "MAX_SKEW_LEASES",
    "DiskLatency",
    "SimSystem",
    "SlowStorage",
    "random_pause",
    "random_skew",
    "random_slow_disk",
]

# the largest offset between a master's wall clock and true time, in leases
MAX_SKEW_LEASES = 0.1


class SimSystem(ActorSystem):
    """An actor system that can be paused and whose wall clock may be skewed."""

    def __init__(
        self, node: str, transport: Transport | None, rng: random.Random, clock_offset: float
    ) -> None:
        super().__init__(node, transport, rng, wall_clock=self._skewed_time)
        self.clock_offset = clock_offset
        self.paused = False
        self._running = trio.Event()
        self._running.set()
        self._held: list[tuple[str, Envelope]] = []

    def _skewed_time(self) -> float:
        return sim_wall_clock() + self.clock_offset

    def pause(self) -> None:
        self.paused = True
        self._running = trio.Event()

    def resume(self) -> None:
        """Carry on: what was sent meanwhile leaves now, queued messages are handled."""
        self.paused = False
        held, self._held = self._held, []
        transport = self.transport
        for dst, envelope in held:
            if transport is not None:
                transport.send(dst, envelope)
        self._running.set()

    async def until_running(self) -> None:
        while self.paused:
            await self._running.wait()

    def _send_remote(
        self, target: ActorRef, msg: Message, sender: ActorRef | None, *, corr: int, reply: bool
    ) -> bool:
        if not self.paused:
            return super()._send_remote(target, msg, sender, corr=corr, reply=reply)
        # a stopped process sends nothing; what a task had queued leaves on resume
        self._held.append(
            (target.node, self._envelope(target, msg, sender, corr=corr, reply=reply))
        )
        return True

    async def _deliver(self, envelope: Envelope) -> None:
        # arrivals wait in the network inbox while paused (and overflow it, if many)
        await self.until_running()
        await super()._deliver(envelope)

    async def _loop(self, actor: Actor, inbox: trio.MemoryReceiveChannel[Mail]) -> None:
        gated = _Gated(inbox, self, actor.ctx.self_ref)
        await super()._loop(actor, cast("trio.MemoryReceiveChannel[Mail]", gated))


class _Gated:
    """A mailbox that hands out nothing while its system is paused.

    A stopped process's timers stop with it; the mock clock does not, so the
    ticks that came due meanwhile pile up here. On resume they are coalesced
    (each distinct timer message from the actor to itself is handled once, as a
    timer that fires late fires once), and the rest is handled in order."""

    def __init__(
        self, inbox: trio.MemoryReceiveChannel[Mail], system: SimSystem, self_ref: ActorRef
    ) -> None:
        self.inbox = inbox
        self.system = system
        self.self_ref = self_ref
        self.backlog: deque[Mail] = deque()

    def __aiter__(self) -> _Gated:
        return self

    async def __anext__(self) -> Mail:
        if self.backlog:
            await self.system.until_running()
            return self.backlog.popleft()
        try:
            mail = await self.inbox.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None
        if not self.system.paused:
            return mail
        await self.system.until_running()
        piled = [mail]
        while True:
            try:
                piled.append(self.inbox.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                break
        self.backlog.extend(self._coalesce(piled))
        return self.backlog.popleft()

    def _coalesce(self, mails: list[Mail]) -> list[Mail]:
        kept: list[Mail] = []
        timers: list[Message] = []
        for mail in mails:
            if mail.sender == self.self_ref and not mail.corr:
                if mail.msg in timers:
                    continue
                timers.append(mail.msg)
            kept.append(mail)
        return kept

    def statistics(self) -> trio.MemoryChannelStatistics:
        stats = self.inbox.statistics()
        # what waits in the backlog is mail not yet handled, as if still in the channel
        waiting = stats.current_buffer_used + len(self.backlog)
        return attrs.evolve(stats, current_buffer_used=waiting)


@attrs.define
class DiskLatency:
    """How slow one machine's disk is; it belongs to the machine, so it outlives the
    node's incarnations. Outside a slow spell every fsync takes ``base_s``; during
    one, one write in four stalls for up to ``stall_s`` more (a disk busy with
    another tenant, a controller flushing its cache)."""

    rng: random.Random
    base_s: float
    stall_s: float = 0.3
    slow: bool = False

    def draw(self) -> float:
        if self.slow and self.rng.random() < 0.25:
            return self.base_s + self.rng.uniform(0.0, self.stall_s)
        return self.base_s


class SlowStorage(MemoryStorage):
    """A :class:`MemoryStorage` whose every fsync takes a latency drawn per write."""

    def __init__(self, disk: MemoryDisk, latency: DiskLatency) -> None:
        super().__init__(disk, fsync_s=latency.base_s)
        self.latency = latency

    async def save(
        self, hard_state: HardState | None, entries: Sequence[Entry], snapshot: Snapshot | None
    ) -> None:
        self.fsync_s = self.latency.draw()
        await super().save(hard_state, entries, snapshot)

    async def compact(self, snapshot: Snapshot) -> None:
        self.fsync_s = self.latency.draw()
        await super().compact(snapshot)


# -- choosing faults for chaos scenarios ------------------------------------------------


def random_pause(
    sim: Simulation, rng: random.Random, names: Sequence[str], longest_s: float
) -> None:
    """Pause one running node of ``names`` for up to ``longest_s`` (resumed in the
    background, or by the final heal)."""
    running = [n for n in names if sim.running(n)]
    if running:
        sim.pause(rng.choice(running), rng.uniform(0.05, longest_s))


def random_slow_disk(sim: Simulation, rng: random.Random, disks: dict[str, DiskLatency]) -> None:
    """Start a slow spell on one master's disk, or end every spell."""
    if rng.random() < 0.3:
        for disk in disks.values():
            disk.slow = False
        sim.note("fault fast disks")
        return
    name = rng.choice(sorted(disks))
    disks[name].slow = True
    sim.note(f"fault slow disk {name}")


def random_skew(sim: Simulation, rng: random.Random, names: Sequence[str], lease_s: float) -> None:
    """Give each of ``names`` a wall-clock offset within the stated bound, from its
    next start on (call it before starting the cluster)."""
    bound = MAX_SKEW_LEASES * lease_s
    for name in names:
        sim.node(name).clock_offset = rng.uniform(-bound, bound)
