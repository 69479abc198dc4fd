"""A synchronous network of Raft cores, for tests and the core benchmark.

This is the first of the simulator's two levels (etcd's ``network`` test
harness): no actors, no trio, no clock, just cores, a message queue and a
disk per node. Each round, every core's Ready is persisted, its messages are
queued, its committed entries are recorded as applied, and it is advanced,
exactly in the order the real actor follows. Messages can be dropped per
link, nodes isolated and healed, and a node crashed and rebuilt from what its
disk holds, which is how the tests reach the paper's failure cases.

With ``pipelined=True`` a node follows the pipelined contract instead, as the
real replica does: a Ready's early messages go out and its committed entries
are applied at once, while its write waits in the node's queue until
:meth:`Network.sync` makes it durable (then its other messages go out). A
crash loses the writes still queued, so tests can reach the states that
writing one batch while stepping the next opens.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from random import Random

import attrs
import msgpack

from actors.raft.core import RaftConfig, RaftCore, ReadState, Ready, Role
from transport.codec import Message
from transport.raft import Entry, EntryKind, HardState, Snapshot

__all__ = ["Disk", "Network"]


@attrs.define
class Disk:
    """What one node has fsynced: survives :meth:`Network.crash`."""

    hard_state: HardState = attrs.Factory(lambda: HardState(0, None, 0))
    snapshot: Snapshot | None = None
    entries: list[Entry] = attrs.Factory(list)

    def save(self, hard: HardState | None, entries: Sequence[Entry], snap: Snapshot | None) -> None:
        if snap is not None:
            keep = [e for e in self.entries if e.index > snap.index]
            anchored = any(e.index == snap.index and e.term == snap.term for e in self.entries)
            self.entries = keep if anchored else []
            self.snapshot = snap
        if entries:
            first = entries[0].index
            self.entries = [e for e in self.entries if e.index < first] + list(entries)
        if hard is not None:
            self.hard_state = hard


def _restore(snapshot: Snapshot | None) -> list[Entry]:
    if snapshot is None:
        return []
    state = msgpack.unpackb(snapshot.data)
    return [Entry(term, index, EntryKind.NORMAL, data) for term, index, data in state]


class Network:
    def __init__(
        self,
        ids: Sequence[str],
        *,
        seed: int = 0,
        config: RaftConfig | None = None,
        voters: Sequence[str] | None = None,
        pipelined: bool = False,
    ) -> None:
        self.config = config or RaftConfig()
        self.pipelined = pipelined
        # per node, in order: Readies taken whose writes are not durable yet (pipelined)
        self.unsynced: dict[str, deque[Ready]] = {i: deque() for i in ids}
        self.rng = Random(seed)
        self.voters = tuple(voters if voters is not None else ids)
        self.disks: dict[str, Disk] = {i: Disk() for i in ids}
        self.cores: dict[str, RaftCore] = {}
        self.applied: dict[str, list[Entry]] = {i: [] for i in ids}
        self.read_states: dict[str, list[ReadState]] = {i: [] for i in ids}
        self.queue: deque[tuple[str, str, Message]] = deque()
        self.cut: set[tuple[str, str]] = set()
        self.down: set[str] = set()
        self.delivered = 0
        for i in ids:
            self.start(i)

    # -- nodes --------------------------------------------------------------------

    def start(self, node: str) -> RaftCore:
        disk = self.disks[node]
        core = RaftCore(
            node,
            self.voters,
            Random(self.rng.getrandbits(32)),
            self.config,
            disk.hard_state,
            disk.snapshot,
            disk.entries,
        )
        self.cores[node] = core
        self.applied[node] = _restore(disk.snapshot)
        self.unsynced[node] = deque()
        self.down.discard(node)
        return core

    def crash(self, node: str, *, keep_writes: int = 0) -> None:
        """Lose everything not on the node's disk, and every message queued to or from it.
        The first ``keep_writes`` pending writes reached the disk before the crash (their
        fsync returned, but the node never learned it)."""
        self.down.add(node)
        pending = self.unsynced[node]
        for ready in list(pending)[:keep_writes]:
            self.disks[node].save(ready.hard_state, ready.entries, ready.snapshot)
        pending.clear()
        self.queue = deque(m for m in self.queue if node not in (m[0], m[1]))

    def restart(self, node: str) -> RaftCore:
        return self.start(node)

    def compact(self, node: str, keep: int = 0) -> Snapshot:
        """Snapshot ``node``'s applied state (the list of applied entries) and trim its log."""
        state = [(e.term, e.index, e.data) for e in self.applied[node]]
        snap = self.cores[node].compact(msgpack.packb(state), keep)
        disk = self.disks[node]
        disk.snapshot = snap
        disk.entries = [e for e in disk.entries if e.index > snap.index]
        return snap

    def add_node(self, node: str, voters: Sequence[str]) -> RaftCore:
        self.disks[node] = Disk()
        self.applied[node] = []
        self.read_states[node] = []
        self.unsynced[node] = deque()
        core = RaftCore(node, voters, Random(self.rng.getrandbits(32)), self.config, None, None, ())
        self.cores[node] = core
        return core

    # -- faults -------------------------------------------------------------------

    def isolate(self, node: str) -> None:
        for other in self.cores:
            if other != node:
                self.cut.add((node, other))
                self.cut.add((other, node))

    def partition(self, *groups: Iterable[str]) -> None:
        sides = [set(g) for g in groups]
        for a in sides:
            for b in sides:
                if a is not b:
                    self.cut.update((x, y) for x in a for y in b)

    def heal(self) -> None:
        self.cut.clear()

    # -- running ------------------------------------------------------------------

    def leader(self) -> str | None:
        """The live leader of the highest term, if any."""
        best: RaftCore | None = None
        for node, core in self.cores.items():
            live_leader = node not in self.down and core.role is Role.LEADER
            if live_leader and (best is None or core.term > best.term):
                best = core
        return best.id if best else None

    def process(self, node: str) -> bool:
        """Run one node's Ready cycle; False when it had nothing to do."""
        core = self.cores[node]
        if node in self.down or not core.has_ready():
            return False
        if self.pipelined and core.pending_snapshot is not None:
            while self.sync(node):
                pass  # a snapshot is installed with nothing else in flight
        ready = core.ready()
        if not self.pipelined or ready.snapshot is not None:
            self.disks[node].save(ready.hard_state, ready.entries, ready.snapshot)
            self._send(node, (*ready.early_messages, *ready.messages))
            self._apply(node, ready)
            core.advance(ready)
            return True
        self._send(node, ready.early_messages)
        self._apply(node, ready)
        core.advance_apply(ready)
        self.unsynced[node].append(ready)
        return True

    def sync(self, node: str) -> bool:
        """Make ``node``'s oldest pending write durable; False when none is pending."""
        pending = self.unsynced[node]
        if node in self.down or not pending:
            return False
        ready = pending.popleft()
        self.disks[node].save(ready.hard_state, ready.entries, ready.snapshot)
        self._send(node, ready.messages)
        self.cores[node].advance_persist(ready)
        return True

    def _send(self, node: str, messages: Iterable[tuple[str, Message]]) -> None:
        for to, msg in messages:
            if (node, to) not in self.cut and to in self.cores:
                self.queue.append((node, to, msg))

    def _apply(self, node: str, ready: Ready) -> None:
        if ready.snapshot is not None:
            self.applied[node] = _restore(ready.snapshot)
        self.applied[node].extend(e for e in ready.committed if e.kind == EntryKind.NORMAL)
        self.read_states[node].extend(ready.read_states)

    def settle(self, max_messages: int = 1_000_000) -> None:
        """Process and deliver in FIFO order until nothing moves."""
        budget = max_messages
        while True:
            moved = False
            for node in list(self.cores):
                while self.process(node) or self.sync(node):
                    moved = True
            if not self.queue:
                if not moved:
                    return
                continue
            while self.queue and budget:
                budget -= 1
                self.deliver_one(self.queue.popleft())
            if not budget:
                raise RuntimeError("the network did not settle")

    def deliver_one(self, item: tuple[str, str, Message]) -> None:
        src, to, msg = item
        if to in self.down or (src, to) in self.cut:
            return
        self.delivered += 1
        self.cores[to].step(msg)
        self.process(to)

    def tick(self, nodes: Iterable[str] | None = None, times: int = 1) -> None:
        for _ in range(times):
            for node in nodes if nodes is not None else list(self.cores):
                if node not in self.down:
                    self.cores[node].tick()
            self.settle()

    def elect(self, node: str) -> None:
        """Make ``node`` campaign now and settle."""
        self.cores[node].campaign(pre=self.config.pre_vote)
        self.settle()

    def propose(self, node: str, data: bytes) -> int:
        index = self.cores[node].propose(data)
        self.settle()
        return index

    def committed_data(self, node: str) -> list[bytes]:
        return [e.data for e in self.applied[node]]
