"""SimNetwork: an in-process network whose every misbehaviour is drawn from one seeded RNG.

The simulator runs a whole cluster in one trio run on a mock clock; this is
its wire. Each node gets an endpoint implementing :class:`~transport.base.Transport`,
so the actor runtime cannot tell it from TCP. What the network does to a
message is decided at ``send`` from a ``random.Random`` handed in by the
caller: dropped (loss), copied (duplication), and how long each copy takes
(base latency + jitter, sometimes an extra reordering delay). Messages are
encoded with the codec on send and decoded on arrival, so a message that
would not survive the real wire fails in the simulator too.

Determinism is the point. Messages wait in one ``(deliver_at, seq)`` heap and
are moved into their destination's inbox by ONE task (:meth:`SimNetwork.run`),
so two messages due at the same instant arrive in send order instead of in
whatever order trio happens to wake sleeping tasks (its tie-breaker is object
ids). Same seed, same sends: same arrivals.

Faults: partitions (one-way or two-way, or a whole node isolated) drop
messages both when sent and when they arrive, like a cable cut with packets on
it. :meth:`SimNetwork.disconnect` is the network half of a node crash: the
node's endpoint is retired, its inbox and every message in flight to or from
it are lost, and whatever is sent to it is dropped until the restarted node
asks for a fresh endpoint with :meth:`SimNetwork.endpoint`. Each inbox is
bounded; an arrival that finds it full is dropped, as a socket buffer would.
Nothing here reads a clock other than ``trio.current_time()``.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import math
import random
from collections.abc import Callable, Iterable, Mapping

import attrs
import trio

from transport.base import Deliver
from transport.codec import decode, encode
from transport.envelope import Envelope

__all__ = [
    "DropReason",
    "EventKind",
    "Jitter",
    "LinkConfig",
    "NetConfig",
    "NetEvent",
    "NetStats",
    "SimEndpoint",
    "SimNetwork",
]


def _probability(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be a probability in [0, 1], got {value!r}")


def _duration(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value >= 0.0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


class Jitter(enum.Enum):
    EXPONENTIAL = "exponential"  # mean ``jitter``: mostly fast, a long tail
    UNIFORM = "uniform"  # anywhere in [0, jitter)


@attrs.frozen
class LinkConfig:
    """How one direction of one link behaves; every draw comes from the network's RNG."""

    latency: float = attrs.field(default=0.001, validator=_duration)
    jitter: float = attrs.field(default=0.002, validator=_duration)
    jitter_shape: Jitter = Jitter.EXPONENTIAL
    loss: float = attrs.field(default=0.0, validator=_probability)
    duplicate: float = attrs.field(default=0.0, validator=_probability)
    # chance that a copy is held back by an extra uniform(0, reorder_delay) on top
    reorder: float = attrs.field(default=0.0, validator=_probability)
    reorder_delay: float = attrs.field(default=0.05, validator=_duration)


@attrs.frozen
class NetConfig:
    """The default link, per-link overrides keyed ``(src, dst)``, and the inbox bound."""

    link: LinkConfig = LinkConfig()
    links: Mapping[tuple[str, str], LinkConfig] = attrs.field(factory=dict)
    inbox_size: int = 1024


class EventKind(enum.Enum):
    SENT = "send"
    DUPLICATED = "dup"
    DELIVERED = "deliver"
    DROPPED = "drop"


class DropReason(enum.Enum):
    """Why a copy was dropped; each value names the :class:`NetStats` counter it bumps."""

    LOSS = "lost"
    PARTITION = "partitioned"
    DOWN = "down"  # the sender or receiver crashed, or never connected
    INBOX_FULL = "inbox_full"


@attrs.frozen(slots=True)
class NetEvent:
    """One thing the network did to one copy of a message, for the simulator's trace.

    ``arrival`` is True for events reported by the delivery task: at that
    moment every actor is parked at an await, so it is a safe point to check
    invariants. Events reported from ``send`` happen inside an actor's
    handler, possibly halfway through its state change.
    """

    kind: EventKind
    seq: int
    src: str
    dst: str
    envelope: Envelope
    arrival: bool
    reason: DropReason | None = None


@attrs.define(slots=True)
class NetStats:
    sent: int = 0
    duplicated: int = 0
    delivered: int = 0
    lost: int = 0
    partitioned: int = 0
    down: int = 0
    inbox_full: int = 0

    def as_dict(self) -> dict[str, int]:
        return attrs.asdict(self)


class SimEndpoint:
    """One node's connection to a :class:`SimNetwork`; valid until the node is disconnected."""

    __slots__ = ("_inbox_rx", "_inbox_tx", "_net", "_node", "live")

    def __init__(self, net: SimNetwork, node: str, inbox_size: int) -> None:
        self._net = net
        self._node = node
        self._inbox_tx, self._inbox_rx = trio.open_memory_channel[Envelope](inbox_size)
        self.live = True

    @property
    def node(self) -> str:
        return self._node

    def send(self, dst_node: str, envelope: Envelope) -> bool:
        return self._net._send(self, dst_node, envelope)

    def reachable(self, dst_node: str) -> bool:
        net = self._net
        return self.live and net.is_connected(dst_node) and not net.blocked(self._node, dst_node)

    async def run(
        self, deliver: Deliver, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        task_status.started()
        async for envelope in self._inbox_rx:
            await deliver(envelope)

    def _push(self, envelope: Envelope) -> bool:
        try:
            self._inbox_tx.send_nowait(envelope)
        except trio.WouldBlock:
            return False
        return True

    def _retire(self) -> int:
        """Stop being fed and lose whatever was waiting in the inbox; returns how much."""
        self.live = False
        lost = 0
        while True:
            try:
                self._inbox_rx.receive_nowait()
            except trio.WouldBlock:
                return lost
            lost += 1


# (deliver_at, seq, src endpoint, dst endpoint, encoded envelope, original envelope)
_InFlight = tuple[float, int, SimEndpoint, SimEndpoint, bytes, Envelope]


class SimNetwork:
    def __init__(
        self,
        rng: random.Random,
        config: NetConfig | None = None,
        *,
        observer: Callable[[NetEvent], None] | None = None,
    ) -> None:
        self.config = config if config is not None else NetConfig()
        self.stats = NetStats()
        self.observer = observer
        self._rng = rng
        self._links: dict[tuple[str, str], LinkConfig] = dict(self.config.links)
        self._endpoints: dict[str, SimEndpoint] = {}
        self._heap: list[_InFlight] = []
        self._seq = itertools.count(1)
        self._cut: set[tuple[str, str]] = set()
        self._isolated: set[str] = set()
        self._wakeup: trio.Event | None = None
        self._next_due = math.inf

    # -- nodes -----------------------------------------------------------------

    def endpoint(self, node: str) -> SimEndpoint:
        """Connect ``node`` (again, after a crash) and return its fresh endpoint."""
        current = self._endpoints.get(node)
        if current is not None and current.live:
            raise ValueError(f"node {node!r} is already connected; disconnect it first")
        endpoint = SimEndpoint(self, node, self.config.inbox_size)
        self._endpoints[node] = endpoint
        return endpoint

    def disconnect(self, node: str) -> int:
        """The network side of a crash: lose the node's inbox and everything in flight.

        Returns how many delivered but unprocessed messages the inbox lost
        (messages in flight are dropped, and reported, as they arrive).
        """
        endpoint = self._endpoints.get(node)
        if endpoint is None or not endpoint.live:
            return 0
        lost = endpoint._retire()
        self.stats.down += lost
        return lost

    def is_connected(self, node: str) -> bool:
        endpoint = self._endpoints.get(node)
        return endpoint is not None and endpoint.live

    # -- links and partitions --------------------------------------------------

    def set_link(self, src: str, dst: str, link: LinkConfig) -> None:
        """Override how messages from ``src`` to ``dst`` (that direction only) behave."""
        self._links[(src, dst)] = link

    def link(self, src: str, dst: str) -> LinkConfig:
        return self._links.get((src, dst), self.config.link)

    def partition_oneway(self, src: str, dst: str) -> None:
        """Drop everything ``src`` sends to ``dst``; the other direction still works."""
        self._cut.add((src, dst))

    def partition(self, group_a: Iterable[str], group_b: Iterable[str]) -> None:
        """Cut every link between the two groups, both ways."""
        side_b = tuple(group_b)
        for a in group_a:
            for b in side_b:
                self._cut.add((a, b))
                self._cut.add((b, a))

    def isolate(self, node: str) -> None:
        self._isolated.add(node)

    def heal(self) -> None:
        """Lift every partition and isolation (crashed nodes stay down until reconnected)."""
        self._cut.clear()
        self._isolated.clear()

    def blocked(self, src: str, dst: str) -> bool:
        if src == dst:
            return False
        return src in self._isolated or dst in self._isolated or (src, dst) in self._cut

    # -- sending ---------------------------------------------------------------

    def _send(self, src: SimEndpoint, dst_node: str, envelope: Envelope) -> bool:
        data = encode(envelope)  # raises at the sender for a message the wire cannot carry
        self.stats.sent += 1
        seq = next(self._seq)
        self._report(EventKind.SENT, seq, src.node, dst_node, envelope, False)
        dst = self._endpoints.get(dst_node)
        if not src.live or dst is None or not dst.live:
            self._drop(DropReason.DOWN, seq, src.node, dst_node, envelope, False)
            return False
        if self.blocked(src.node, dst_node):
            self._drop(DropReason.PARTITION, seq, src.node, dst_node, envelope, False)
            return True  # the sender cannot tell a cut cable from a slow one
        link = self.link(src.node, dst_node)
        rng = self._rng
        if link.loss and rng.random() < link.loss:
            self._drop(DropReason.LOSS, seq, src.node, dst_node, envelope, False)
            return True
        self._schedule(seq, src, dst, data, envelope, link)
        if link.duplicate and rng.random() < link.duplicate:
            self.stats.duplicated += 1
            copy_seq = next(self._seq)
            self._report(EventKind.DUPLICATED, copy_seq, src.node, dst_node, envelope, False)
            self._schedule(copy_seq, src, dst, data, envelope, link)
        return True

    def _schedule(
        self,
        seq: int,
        src: SimEndpoint,
        dst: SimEndpoint,
        data: bytes,
        envelope: Envelope,
        link: LinkConfig,
    ) -> None:
        rng = self._rng
        delay = link.latency
        if link.jitter:
            if link.jitter_shape is Jitter.EXPONENTIAL:
                delay += rng.expovariate(1.0 / link.jitter)
            else:
                delay += rng.uniform(0.0, link.jitter)
        if link.reorder and rng.random() < link.reorder:
            delay += rng.uniform(0.0, link.reorder_delay)
        deliver_at = trio.current_time() + delay
        heapq.heappush(self._heap, (deliver_at, seq, src, dst, data, envelope))
        if deliver_at < self._next_due and self._wakeup is not None:
            self._wakeup.set()

    def _report(
        self,
        kind: EventKind,
        seq: int,
        src: str,
        dst: str,
        envelope: Envelope,
        arrival: bool,
        reason: DropReason | None = None,
    ) -> None:
        if self.observer is not None:
            self.observer(NetEvent(kind, seq, src, dst, envelope, arrival, reason))

    def _drop(
        self, reason: DropReason, seq: int, src: str, dst: str, envelope: Envelope, arrival: bool
    ) -> None:
        counter = reason.value
        setattr(self.stats, counter, getattr(self.stats, counter) + 1)
        self._report(EventKind.DROPPED, seq, src, dst, envelope, arrival, reason)

    # -- delivering ------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The one delivery task: move each message into its inbox when it is due."""
        heap = self._heap
        task_status.started()
        while True:
            self._wakeup = trio.Event()
            self._next_due = heap[0][0] if heap else math.inf
            with trio.move_on_at(self._next_due):
                await self._wakeup.wait()
            now = trio.current_time()
            while heap and heap[0][0] <= now:
                self._arrive(*heapq.heappop(heap))

    def _arrive(
        self,
        _deliver_at: float,
        seq: int,
        src: SimEndpoint,
        dst: SimEndpoint,
        data: bytes,
        envelope: Envelope,
    ) -> None:
        if not (src.live and dst.live):
            self._drop(DropReason.DOWN, seq, src.node, dst.node, envelope, True)
        elif self.blocked(src.node, dst.node):
            self._drop(DropReason.PARTITION, seq, src.node, dst.node, envelope, True)
        else:
            decoded = decode(data)
            if not isinstance(decoded, Envelope):
                raise TypeError(f"the network carries envelopes, got {type(decoded).__name__}")
            if dst._push(decoded):
                self.stats.delivered += 1
                self._report(EventKind.DELIVERED, seq, src.node, dst.node, decoded, True)
            else:
                self._drop(DropReason.INBOX_FULL, seq, src.node, dst.node, envelope, True)
