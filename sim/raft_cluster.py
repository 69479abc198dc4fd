"""A cluster of real RaftActors on the simulator, and the omniscient checks that watch it.

Each master is a node running a :class:`~actors.raft.actor.RaftActor` on a
:class:`~runtime.storage.MemoryStorage` whose :class:`MemoryDisk` outlives
the node's crashes, plus a small client actor that keeps proposing unique
entries to its local member and records which ones were acknowledged.

:class:`RaftObserver` holds what no single node knows: the leader seen for
every term, every committed entry (the first time any member applies an
index), and every acknowledgement. Its checks run after every simulated step:

- election safety: at most one leader per term;
- log matching on the uncommitted tails of every pair of live members (the
  committed prefixes are covered by the next two checks);
- leader completeness: a member that becomes leader holds every entry
  committed so far;
- state machine safety: no two members apply different entries at one index;
- an acknowledged entry is committed at the index it was acknowledged with;

and after the final heal it requires convergence: one leader, every member
applied the same entries up to the same index, every acknowledged entry is
among them, and an entry proposed after the heal was acknowledged.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import attrs
import msgpack
import trio

from actors.raft.actor import RaftActor
from actors.raft.core import RaftConfig, RaftCore, Role
from actors.raft.replica import Committed, Propose, Replica, SimpleStateMachine
from runtime.actor import Actor, ActorRef
from runtime.errors import AskError, AskTimeout
from runtime.storage import MemoryDisk
from runtime.supervisor import ChildSpec, Supervisor
from runtime.system import ActorSystem
from sim.faults import DiskLatency, SlowStorage
from sim.harness import Simulation, wait_until
from transport.codec import Message

__all__ = ["Member", "RaftCluster", "RaftObserver", "Recorder"]

TICK_S = 0.01
FSYNC_S = 0.002
PROPOSE_EVERY_S = 0.02


class Recorder(SimpleStateMachine):
    """The replicated state machine of the Raft scenarios: the list of applied entries."""

    def __init__(self, node: str, observer: RaftObserver) -> None:
        self.node = node
        self.observer = observer
        self.applied: list[tuple[int, bytes]] = []

    def apply(self, index: int, data: bytes) -> Message | None:
        self.applied.append((index, data))
        self.observer.on_apply(self.node, index, data)
        return None

    def snapshot(self) -> bytes:
        return msgpack.packb(self.applied)  # type: ignore[no-any-return]

    def restore(self, data: bytes) -> None:
        self.applied = [(index, entry) for index, entry in msgpack.unpackb(data)]
        for index, entry in self.applied:
            self.observer.on_apply(self.node, index, entry)


@attrs.define
class Member:
    """One master's record in the simulation; the disk outlives the node's crashes."""

    name: str
    # how long its fsyncs take (slow spells are a fault)
    latency: DiskLatency
    disk: MemoryDisk = attrs.Factory(MemoryDisk)
    actor: RaftActor | None = None
    machine: Recorder | None = None
    # which incarnation proposed what: unique entry data across restarts
    proposals: int = 0

    @property
    def core(self) -> RaftCore | None:
        actor = self.actor
        return actor.raft.core if actor is not None and hasattr(actor.raft, "core") else None


@attrs.frozen
class ProposeTick(Message):
    """Local only: time to propose the next entry."""


class Client(Actor):
    """Proposes one unique entry per period to its own member, when that member leads."""

    def __init__(self, member: Member, observer: RaftObserver) -> None:
        self.member = member
        self.observer = observer

    async def on_start(self) -> None:
        self.ctx.every(PROPOSE_EVERY_S, ProposeTick())

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        core = self.member.core
        if self.observer.proposing and core is not None and core.role is Role.LEADER:
            self.member.proposals += 1
            data = f"{self.member.name}/{self.member.proposals}".encode()
            self.ctx.nursery.start_soon(self._propose, data)
        return None

    async def _propose(self, data: bytes) -> None:
        try:
            answer = await self.ctx.ref(self.ctx.node, "raft").ask(Propose(data), 2.0)
        except (AskTimeout, AskError):
            return
        if isinstance(answer, Committed):
            self.observer.on_ack(self.member.name, answer.index, data, trio.current_time())


class RaftObserver:
    def __init__(self, members: dict[str, Member]) -> None:
        self.members = members
        self.leaders: dict[int, str] = {}
        self.checked_leaders: set[tuple[str, int]] = set()
        self.committed: dict[int, bytes] = {}
        self.acked: dict[bytes, int] = {}
        self.last_ack_at = -1.0
        self.problems: list[str] = []
        self.proposing = True

    # -- hooks from the members ----------------------------------------------------

    def on_apply(self, node: str, index: int, data: bytes) -> None:
        first = self.committed.setdefault(index, data)
        if first != data:
            self.problems.append(
                f"state machine safety: {node} applied {data!r} at {index}, "
                f"another member applied {first!r}"
            )

    def on_ack(self, node: str, index: int, data: bytes, now: float) -> None:
        self.acked[data] = index
        self.last_ack_at = now
        if self.committed.get(index) != data:
            self.problems.append(f"{node} acknowledged {data!r} at {index} but it is not committed")

    # -- checks after every step -----------------------------------------------------

    def live_cores(self) -> list[RaftCore]:
        return [core for m in self.members.values() if (core := m.core) is not None]

    def check(self) -> str | None:
        if self.problems:
            return self.problems[0]
        cores = self.live_cores()
        for core in cores:
            if core.role is not Role.LEADER:
                continue
            seen = self.leaders.setdefault(core.term, core.id)
            if seen != core.id:
                return f"election safety: {seen} and {core.id} both lead term {core.term}"
            if (core.id, core.term) not in self.checked_leaders:
                self.checked_leaders.add((core.id, core.term))
                problem = self._complete(core)
                if problem:
                    return problem
        for i, a in enumerate(cores):
            for b in cores[i + 1 :]:
                problem = _tails_match(a, b)
                if problem:
                    return problem
        return None

    def _complete(self, leader: RaftCore) -> str | None:
        log = leader.log
        for index, data in self.committed.items():
            if index <= log.offset:
                continue
            if index > log.last_index or log.slice(index, 1)[0].data != data:
                return (
                    f"leader completeness: {leader.id} leads term {leader.term} "
                    f"without committed entry {index} ({data!r})"
                )
        return None

    # -- convergence after the final heal ---------------------------------------------

    def converged(self, healed_at: Callable[[], float]) -> str | None:
        if self.problems:
            return self.problems[0]
        cores = self.live_cores()
        if len(cores) < len(self.members):
            return "not every member is up"
        leaders = [c.id for c in cores if c.role is Role.LEADER]
        if len(leaders) != 1:
            return f"leaders: {leaders}"
        top = max(self.committed, default=0)
        for member in self.members.values():
            machine = member.machine
            if machine is None:
                return f"{member.name} has no state machine"
            last = machine.applied[-1][0] if machine.applied else 0
            if last < top:
                return f"{member.name} applied up to {last}, the cluster committed {top}"
        for data, index in self.acked.items():
            if self.committed.get(index) != data:
                return f"acknowledged {data!r} at {index} is not in the committed log"
        if self.last_ack_at < healed_at():
            return "no proposal acknowledged since the heal"
        return None


def _tails_match(a: RaftCore, b: RaftCore) -> str | None:
    """Log Matching on the part of two logs past the smaller commit index."""
    lo = max(a.log.offset, b.log.offset, min(a.commit, b.commit))
    hi = min(a.log.last_index, b.log.last_index)
    for index in range(hi, lo, -1):
        if a.log.term_at(index) == b.log.term_at(index):
            if a.log.slice(lo + 1, index - lo) != b.log.slice(lo + 1, index - lo):
                return (
                    f"log matching: {a.id} and {b.id} agree on the term at {index} "
                    f"but differ before it"
                )
            return None
    return None


class RaftCluster:
    """Masters on the simulator, each a RaftActor plus a proposing client."""

    def __init__(
        self,
        sim: Simulation,
        names: Sequence[str],
        *,
        config: RaftConfig | None = None,
        snapshot_every: int = 10_000,
        fsync_s: float = FSYNC_S,
    ) -> None:
        self.sim = sim
        self.names = tuple(names)
        self.config = config or RaftConfig()
        self.members = {
            name: Member(name, DiskLatency(sim.rng(f"fsync/{name}"), fsync_s)) for name in names
        }
        self.observer = RaftObserver(self.members)
        self.healed_at = 0.0
        self.crash_rng = sim.rng("disk-crash")
        for name in names:
            sim.add_node(name, self._root(snapshot_every), self.members[name])
        sim.invariant("raft-safety", self.observer.check)
        sim.converges("raft-converged", lambda: self.observer.converged(lambda: self.healed_at))

    def _root(self, snapshot_every: int) -> Callable[[ActorSystem, Member], Supervisor]:
        def root(system: ActorSystem, member: Member) -> Supervisor:
            def raft() -> RaftActor:
                machine = Recorder(member.name, self.observer)
                member.machine = machine
                actor = RaftActor(
                    Replica(
                        member.name,
                        self.names,
                        SlowStorage(member.disk, member.latency),
                        machine,
                        self.config,
                        peer_name="raft",
                        tick_s=TICK_S,
                        snapshot_every=snapshot_every,
                    )
                )
                member.actor = actor
                return actor

            return Supervisor(
                "root",
                [
                    ChildSpec("raft", raft),
                    ChildSpec("client", lambda: Client(member, self.observer)),
                ],
            )

        return root

    async def start(self) -> None:
        await self.sim.start_all()

    async def crash(self, name: str) -> None:
        """Kill a master; writes it had not fsynced are kept or lost, as a disk would."""
        member = self.members[name]
        await self.sim.crash(name)
        member.actor = None
        member.machine = None
        member.disk.crash(self.crash_rng)

    async def restart(self, name: str) -> None:
        await self.sim.start(name)

    def up(self) -> list[str]:
        return [name for name in self.names if self.sim.node(name).up]

    def leader(self) -> str | None:
        best: RaftCore | None = None
        for core in self.observer.live_cores():
            if core.role is Role.LEADER and (best is None or core.term > best.term):
                best = core
        return best.id if best else None

    async def wait_for_leader(self, within: float = 5.0) -> str | None:
        return await wait_until(self.leader, within, TICK_S)

    def heal_all(self) -> None:
        """Mark the start of the final phase: convergence needs an acknowledgement after this."""
        self.healed_at = self.sim.now()

    def summary(self) -> dict[str, object]:
        return {
            "committed": len(self.observer.committed),
            "acked": len(self.observer.acked),
            "terms": len(self.observer.leaders),
        }


def random_pick(rng: random.Random, names: Sequence[str], k: int) -> list[str]:
    chosen = list(names)
    rng.shuffle(chosen)
    return sorted(chosen[:k])
