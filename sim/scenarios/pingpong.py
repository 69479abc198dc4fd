"""pingpong: numbered pings over a lossy, duplicating, reordering network that partitions and heals.

The smallest scenario that exercises the whole simulator: every node runs a
:class:`Pinger` and a :class:`Ponger`. Pingers send numbered pings to the
other nodes' pongers and resend every unanswered one on a timer; pongers
answer every ping they get, duplicates included. Meanwhile the network loses
and duplicates messages, partitions the cluster in two, cuts one more link
one way, and one node crashes and restarts. A pinger keeps its accounting in
its node's storage (a :class:`PingLedger`), so a restarted pinger goes on
retrying the pings its previous incarnation sent.

Invariants, after every step: each pinger counts a ping answered at most
once, however many pongs arrive for it, and every ping it sent is either
answered or still outstanding. Convergence, after the final heal: every ping
ever sent has been answered.
"""

from __future__ import annotations

import trio
from attrs import frozen

from runtime.actor import Actor, ActorRef
from runtime.supervisor import ChildSpec, Supervisor
from runtime.system import ActorSystem
from sim.harness import Simulation
from sim.scenarios import Summary, scenario
from transport.codec import Message, message
from transport.simnet import LinkConfig, NetConfig

__all__ = ["NETWORK", "PingLedger", "Pinger", "Ponger", "run_pingpong"]

NODES = ("n1", "n2", "n3", "n4")
NETWORK = NetConfig(
    link=LinkConfig(
        latency=0.002, jitter=0.01, loss=0.1, duplicate=0.1, reorder=0.05, reorder_delay=0.1
    )
)
PING_INTERVAL_S = 0.05
RETRY_AFTER_S = 0.2
LOAD_S = 8.0


@message("sim.pingpong.ping")
@frozen
class Ping(Message):
    n: int


@message("sim.pingpong.pong")
@frozen
class Pong(Message):
    n: int


@message("sim.pingpong.tick")
@frozen
class Tick(Message):
    """Time to send the next ping."""


@message("sim.pingpong.retry")
@frozen
class Retry(Message):
    """Time to resend the overdue pings."""


class PingLedger:
    """One pinger's accounting; it is the node's storage, so it survives crashes."""

    __slots__ = ("answered", "counted", "loading", "outstanding", "retries", "sent")

    def __init__(self) -> None:
        self.loading = True
        self.sent = 0
        # ping id -> (target node, when it was last sent)
        self.outstanding: dict[int, tuple[str, float]] = {}
        # ping id -> how many times the pinger counted it answered
        self.answered: dict[int, int] = {}
        self.counted = 0
        self.retries = 0

    def record_answer(self, n: int) -> None:
        self.outstanding.pop(n, None)
        self.answered[n] = self.answered.get(n, 0) + 1
        self.counted += 1


class Pinger(Actor):
    def __init__(self, ledger: PingLedger, peers: tuple[str, ...]) -> None:
        self.ledger = ledger
        self.peers = peers

    async def on_start(self) -> None:
        self.ctx.every(PING_INTERVAL_S, Tick())
        self.ctx.every(RETRY_AFTER_S / 2, Retry())

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        if isinstance(msg, Pong):
            self.on_pong(msg.n)
        elif isinstance(msg, Tick):
            if self.ledger.loading:
                self.ping_new()
        elif isinstance(msg, Retry):
            self.resend_overdue()
        return None

    def on_pong(self, n: int) -> None:
        # a duplicate or late pong finds the ping already answered: it is not counted again
        if n in self.ledger.outstanding:
            self.ledger.record_answer(n)

    def ping_new(self) -> None:
        ledger = self.ledger
        n = ledger.sent
        target = self.ctx.rng.choice(self.peers)
        ledger.sent += 1
        ledger.outstanding[n] = (target, self.ctx.now())
        self._send(target, n)

    def resend_overdue(self) -> None:
        ledger = self.ledger
        now = self.ctx.now()
        for n, (target, sent_at) in ledger.outstanding.items():
            if now - sent_at >= RETRY_AFTER_S:
                ledger.outstanding[n] = (target, now)
                ledger.retries += 1
                self._send(target, n)

    def _send(self, target: str, n: int) -> None:
        self.ctx.ref(target, "ponger").try_send(Ping(n), sender=self.ctx.self_ref)


class Ponger(Actor):
    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        if isinstance(msg, Ping) and sender is not None:
            sender.try_send(Pong(msg.n), sender=self.ctx.self_ref)
        return None


def _counted_twice(ledgers: dict[str, PingLedger]) -> str | None:
    for node, ledger in ledgers.items():
        if ledger.counted != len(ledger.answered):
            n, times = next((n, t) for n, t in ledger.answered.items() if t > 1)
            return f"the pinger on {node} counted ping {n} answered {times} times"
    return None


def _unaccounted(ledgers: dict[str, PingLedger]) -> str | None:
    for node, ledger in ledgers.items():
        if len(ledger.answered) + len(ledger.outstanding) != ledger.sent:
            return (
                f"the pinger on {node} sent {ledger.sent} pings but has {len(ledger.answered)} "
                f"answered and {len(ledger.outstanding)} outstanding"
            )
    return None


def _unanswered(ledgers: dict[str, PingLedger]) -> str | None:
    for node, ledger in ledgers.items():
        if ledger.outstanding:
            first = list(ledger.outstanding)[:5]
            return f"the pinger on {node} has {len(ledger.outstanding)} unanswered pings: {first}"
    return None


async def run_pingpong(sim: Simulation, pinger: type[Pinger] = Pinger) -> Summary:
    """The pingpong scenario with a given pinger class, so tests can plant a broken one."""
    ledgers: dict[str, PingLedger] = {}
    for name in NODES:
        peers = tuple(peer for peer in NODES if peer != name)

        def root(
            system: ActorSystem, ledger: PingLedger, peers: tuple[str, ...] = peers
        ) -> Supervisor:
            return Supervisor(
                "root",
                [ChildSpec("ponger", Ponger), ChildSpec("pinger", lambda: pinger(ledger, peers))],
            )

        ledgers[name] = sim.add_node(name, root, PingLedger()).storage
    sim.invariant("answered-once", lambda: _counted_twice(ledgers))
    sim.invariant("every-ping-accounted", lambda: _unaccounted(ledgers))
    sim.converges("every-ping-answered", lambda: _unanswered(ledgers))

    faults = sim.rng("faults")
    await sim.start_all()
    order = list(NODES)
    faults.shuffle(order)
    await trio.sleep(faults.uniform(0.5, 1.5))
    sim.partition(order[:2], order[2:])
    await trio.sleep(faults.uniform(0.3, 1.0))
    sim.partition_oneway(order[0], order[1])
    await trio.sleep(faults.uniform(0.3, 1.0))
    victim = faults.choice(NODES)
    await sim.crash(victim)
    await trio.sleep(faults.uniform(0.3, 1.0))
    await sim.start(victim)
    await trio.sleep(faults.uniform(0.5, 1.5))
    sim.heal()
    await trio.sleep(max(0.0, LOAD_S - sim.now()))
    for ledger in ledgers.values():
        ledger.loading = False
    return {
        "pings": sum(ledger.sent for ledger in ledgers.values()),
        "retries": sum(ledger.retries for ledger in ledgers.values()),
        "crashed": victim,
        **sim.net.stats.as_dict(),
    }


@scenario("pingpong", converge_within=20.0, network=NETWORK)
async def pingpong(sim: Simulation) -> Summary:
    """Pingers retry numbered pings until answered, across loss, duplicates, partitions, a crash."""
    return await run_pingpong(sim)
