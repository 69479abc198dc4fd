"""``RaftActor``: the Raft core on the runtime, with durable storage and a state machine.

The actor follows the core's Ready contract literally: persist (one ``save``,
one fsync, for everything the core produced since the last flush), then send,
then apply, then ``advance``. It does this in :meth:`on_drained`, once per
burst of mailbox messages rather than once per message, which is the group
commit: under load a single fsync covers every proposal, vote and append that
arrived while the previous one was on disk.

Proposals come from local actors by ``ask(Propose(data))`` (or, for a
subclass such as the master, by :meth:`RaftActor.propose` with a callback);
the answer waits until the entry is applied and carries the state machine's
result. A proposal whose index ends up holding another term's entry (the
leader lost its leadership before committing it) is answered with
``NotLeaderReply``, never silently dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

import attrs

from actors.raft.core import NotLeader, RaftConfig, RaftCore, Ready, Role
from runtime.actor import Actor, ActorRef
from runtime.storage import Storage
from transport.codec import Message
from transport.raft import EntryKind

log = logging.getLogger("podium.raft")

__all__ = [
    "Committed",
    "NotLeaderReply",
    "Propose",
    "RaftActor",
    "StateMachine",
    "Tick",
]

# what a proposer is told once its entry is applied (or lost)
Done = Callable[[Message], None]


class StateMachine(Protocol):
    """What Raft replicates into: deterministic, the same on every master."""

    def apply(self, index: int, data: bytes) -> Message | None: ...

    def snapshot(self) -> bytes: ...

    def restore(self, data: bytes) -> None: ...


class Tick(Message):
    """Local only: one Raft clock tick."""

    __slots__ = ()


@attrs.frozen
class Propose(Message):
    """Local only: append ``data`` to the replicated log; answered once applied."""

    data: bytes


@attrs.frozen
class Committed(Message):
    """Local only: the answer to Propose; ``result`` is what the state machine returned."""

    index: int
    result: Message | None


@attrs.frozen
class NotLeaderReply(Message):
    """Local only: this master is not the leader; ``leader`` is the best guess."""

    leader: str | None


@attrs.frozen
class _Waiting:
    term: int
    done: Done


class RaftActor(Actor):
    """Hosts one Raft member; peers are the actors of the same ``peer_name`` on other nodes."""

    mailbox_size = 8192
    peer_name = "raft"

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
    ) -> None:
        self.node_id = node_id
        self.voters = tuple(voters)
        self.storage = storage
        self.state_machine = state_machine
        self.config = config
        self.tick_s = tick_s
        self.snapshot_every = snapshot_every
        self.waiting: dict[int, _Waiting] = {}
        self.applied = 0
        # ReadIndex: request id -> callback, then (read index, callback) once confirmed
        self.reads: dict[int, Callable[[bool], None]] = {}
        self.reads_confirmed: list[tuple[int, Callable[[bool], None]]] = []
        self.read_seq = 0
        self.core: RaftCore

    async def on_start(self) -> None:
        state = await self.storage.load()
        if state.snapshot is not None:
            self.state_machine.restore(state.snapshot.data)
            self.applied = state.snapshot.index
        self.core = RaftCore(
            self.node_id,
            self.voters,
            self.ctx.rng,
            self.config,
            state.hard_state,
            state.snapshot,
            state.entries,
        )
        self.ctx.every(self.tick_s, Tick())
        log.info(
            "raft started",
            extra={
                "node": self.node_id,
                "term": state.hard_state.term,
                "entries": len(state.entries),
            },
        )

    @property
    def is_leader(self) -> bool:
        return self.core.role is Role.LEADER

    def propose(self, data: bytes, done: Done) -> int:
        """Append ``data``; ``done`` gets the applied result. Raises NotLeader."""
        index = self.core.propose(data)
        self.waiting[index] = _Waiting(self.core.term, done)
        return index

    def read_barrier(self, done: Callable[[bool], None]) -> None:
        """``done(True)`` once a read here would be linearizable (ReadIndex: the leader
        confirmed with a majority that it still leads, and applied up to the commit
        index it had when asked); ``done(False)`` if it lost leadership first.
        Raises NotLeader."""
        self.read_seq += 1
        self.core.read_index(self.read_seq)
        self.reads[self.read_seq] = done

    def _release_reads(self, ready: Ready) -> None:
        for state in ready.read_states:
            done = self.reads.pop(state.request, None)
            if done is not None:
                self.reads_confirmed.append((state.index, done))
        if self.core.role is not Role.LEADER:
            failed = [*self.reads.values(), *(done for _, done in self.reads_confirmed)]
            self.reads.clear()
            self.reads_confirmed.clear()
            for done in failed:
                done(False)
            return
        if self.reads_confirmed:
            waiting = []
            for index, done in self.reads_confirmed:
                if index <= self.applied:
                    done(True)
                else:
                    waiting.append((index, done))
            self.reads_confirmed = waiting

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        if isinstance(msg, Tick):
            self.core.tick()
        elif isinstance(msg, Propose):
            try:
                self.propose(msg.data, self.ctx.defer_reply().resolve)
            except NotLeader as exc:
                return NotLeaderReply(exc.leader_hint)
        else:
            self.core.step(msg)
        return None

    async def on_drained(self) -> None:
        while self.core.has_ready():
            ready = self.core.ready()
            await self._persist(ready)
            for to, message in ready.messages:
                self.ctx.ref(to, self.peer_name).try_send(message)
            self._apply(ready)
            self._release_reads(ready)
            self.core.advance(ready)
        if self.applied - self.core.log.offset >= self.snapshot_every:
            snapshot = self.core.compact(self.state_machine.snapshot())
            await self.storage.compact(snapshot)

    async def _persist(self, ready: Ready) -> None:
        if ready.hard_state is not None or ready.entries or ready.snapshot is not None:
            await self.storage.save(ready.hard_state, ready.entries, ready.snapshot)

    def _apply(self, ready: Ready) -> None:
        if ready.snapshot is not None and ready.snapshot.index > self.applied:
            self.state_machine.restore(ready.snapshot.data)
            self.applied = ready.snapshot.index
        for entry in ready.committed:
            if entry.index <= self.applied:
                continue
            result = None
            if entry.kind == EntryKind.NORMAL:
                result = self.state_machine.apply(entry.index, entry.data)
            self.applied = entry.index
            waiting = self.waiting.pop(entry.index, None)
            if waiting is None:
                continue
            if waiting.term == entry.term:
                waiting.done(Committed(entry.index, result))
            else:
                waiting.done(NotLeaderReply(self.core.leader))
