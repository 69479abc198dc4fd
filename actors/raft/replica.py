"""``Replica``: one Raft member on the runtime, with durable storage and a state machine.

An actor composes a replica (the master does; :class:`~actors.raft.actor.RaftActor`
is the bare one the Raft scenarios run) and hands it its context, the
messages it does not handle itself, and each end of a mailbox burst. What
the actor gets back is the replicator's small surface: :meth:`Replica.propose`,
:meth:`Replica.read_barrier`, :attr:`Replica.is_leader`, :attr:`Replica.leader`
and :attr:`Replica.term`.

The replica follows the core's pipelined Ready contract. In
:meth:`Replica.drained`, once per burst of mailbox messages rather than once
per message, it takes what the core has ready: a leader's appends go out at
once, committed entries (all durable already) are applied, and the write
(one ``save``, one fsync) is handed to a writer task; the actor goes back to
its mailbox while the disk works. The writer saves everything handed to it
since its last save in one go, which is the group commit: under load a
single fsync covers every proposal, vote and append that arrived while the
previous one was on disk. Once a save is durable, the messages that needed
it (acknowledgements, votes) go out and the core is told, by index and term,
what is now stable; a leader commits from there. At most
:data:`MAX_UNSTABLE` entries wait for the disk before the actor waits too.
A Ready that installs a leader's snapshot is the exception: it waits for the
writer to finish, then is persisted, sent, applied and advanced in turn.

Proposals come from other actors by ``ask(Propose(data))`` (or from the
composing actor by :meth:`Replica.propose` with a callback); the answer waits
until the entry is applied and carries the state machine's result. A
proposal whose index ends up holding another term's entry (the leader lost
its leadership before committing it) is answered with ``NotLeaderReply``,
never silently dropped. One whose fate cannot be known yet, because this
member stopped leading (deposed, cut off from its majority, frozen and
resumed) or cannot write its log, is answered with ``InDoubtReply`` a few
ticks later (:attr:`Replica.give_up_ticks`): it may still commit, through a
later leader that holds it, so its proposer must not assume either outcome.

A full disk is waited out, not crashed on. When a ``save`` raises
:class:`~runtime.storage.StorageFull` nothing of that write was made durable,
nor of any handed to the writer after it (they are dropped unwritten, so the
stored log never has a hole): the core is told (``persist_failed``) and
offers those entries and that hard state again, and the save is retried
every ``full_retry_s``. Their waiting messages (votes, acknowledgements) are
dropped, as a lossy network would, because a vote or an acknowledgement must
never go out before the state that justifies it is on disk; committed
entries were durable before, and were applied. Until a write succeeds again
even a leader's appends and heartbeats wait for their write (and are dropped
with it), so a leader whose disk is full falls silent and loses its
leadership to a member that can write; :attr:`Replica.storage_full` says why
meanwhile.

Snapshots never stall the event loop. Every ``snapshot_every`` applied
entries (or sooner, once they hold ``snapshot_bytes``) a task encodes the
state machine piece by piece, yielding between pieces; meanwhile the actor
keeps persisting, sending and committing, and only *applying* waits
(committed entries queue up, and are applied a slice per turn of the loop
once the encoding is done), so the snapshot is exactly the state at one
index. The
state machine then makes its own bulk data durable up to that index
(:meth:`StateMachine.persist`) before the log is compacted.

A follower that is behind the compacted log gets the snapshot streamed: the
state machine's data in slices, then its bulk data (the job history) in
batches, each a :class:`~transport.raft.SnapshotChunk` asked and acknowledged
one at a time, and finally the InstallSnapshot itself, delivered to the
follower's core once everything arrived. While a transfer runs the leader
keeps the log entries after that snapshot, so the follower can catch up from
the log afterwards even if the leader compacted again meanwhile.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Protocol

import attrs
import trio

from actors.raft.core import NotLeader, RaftConfig, RaftCore, Ready, Role
from runtime.actor import ActorContext, PendingReply
from runtime.errors import AskError, AskTimeout
from runtime.storage import Storage, StorageFull
from transport.codec import Message
from transport.raft import (
    Entry,
    EntryKind,
    HardState,
    InstallSnapshot,
    Snapshot,
    SnapshotChunk,
    SnapshotChunkAck,
    SnapshotPart,
)

log = logging.getLogger("podium.raft")

__all__ = [
    "Committed",
    "InDoubtReply",
    "NotLeaderReply",
    "Propose",
    "Replica",
    "SimpleStateMachine",
    "StateMachine",
    "Tick",
]

# what a proposer is told once its entry is applied (or lost)
Done = Callable[[Message], None]
# bytes of snapshot data per streamed chunk
CHUNK_BYTES = 256 * 1024
# how long the leader waits for a follower to take one chunk
CHUNK_TIMEOUT_S = 10.0
# committed entries applied per turn of the event loop: a long backlog (after a
# snapshot, or a follower catching up) is applied a slice at a time
APPLY_SLICE = 256
# how often a save that found the disk full is tried again
FULL_RETRY_S = 0.2
# entries handed to the writer and not yet durable past which the actor waits for the
# disk (a disk slower than the load must push back on the mailbox, as it did unpipelined)
MAX_UNSTABLE = 8192


class StateMachine(Protocol):
    """What Raft replicates into: deterministic, the same on every master."""

    def apply(self, index: int, data: bytes) -> Message | None: ...

    def snapshot_pieces(self) -> Iterable[bytes]:
        """The state as consecutive byte strings; the state does not change meanwhile."""

    def restore(self, data: bytes) -> None:
        """Start from a snapshot of our own (at start-up)."""

    async def persist(self, index: int) -> None:
        """Make bulk data kept beside the snapshot durable up to ``index``."""

    def export_extra(self, index: int) -> AsyncIterator[bytes]:
        """Bulk data to stream with the snapshot at ``index``, in batches."""

    async def begin_install(self, index: int) -> None: ...

    async def receive_extra(self, data: bytes) -> None: ...

    async def install(self, snapshot: Snapshot) -> None:
        """Become the leader's snapshot: its data and the bulk data received."""


class SimpleStateMachine:
    """A state machine whose snapshot data is all there is (no bulk data beside it)."""

    def apply(self, index: int, data: bytes) -> Message | None:
        raise NotImplementedError

    def snapshot(self) -> bytes:
        raise NotImplementedError

    def snapshot_pieces(self) -> Iterable[bytes]:
        return (self.snapshot(),)

    def restore(self, data: bytes) -> None:
        raise NotImplementedError

    async def persist(self, index: int) -> None:
        pass

    async def export_extra(self, index: int) -> AsyncIterator[bytes]:
        return
        yield b""  # an async generator that yields nothing

    async def begin_install(self, index: int) -> None:
        pass

    async def receive_extra(self, data: bytes) -> None:
        pass

    async def install(self, snapshot: Snapshot) -> None:
        self.restore(snapshot.data)


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
class InDoubtReply(Message):
    """Local only: the entry was appended but its fate is unknown (``reason`` says why):
    it may still be committed by a later leader, or never."""

    reason: str


@attrs.frozen
class SnapshotBuilt(Message):
    """Local only: a snapshot at ``index`` is encoded and its bulk data durable."""

    index: int
    data: bytes


@attrs.frozen
class SnapshotArrived(Message):
    """Local only: a streamed snapshot is complete; hand it to the core."""

    install: InstallSnapshot


class Wake(Message):
    """Local only: something outside the mailbox wants :meth:`Replica.drained` to run."""

    __slots__ = ()


@attrs.frozen
class _Waiting:
    term: int
    done: Done


@attrs.define
class _Incoming:
    """A snapshot being received from ``src``."""

    src: str
    term: int
    index: int
    next_seq: int = 0
    data: bytearray = attrs.Factory(bytearray)


@attrs.frozen
class SnapshotStats:
    """The last snapshot taken here: how long, how long the longest piece held the loop."""

    index: int
    bytes: int
    seconds: float
    longest_step_s: float


def _nothing(applied: int) -> None:
    pass


class Replica:
    """Hosts one Raft member; peers are the actors named ``peer_name`` on other nodes."""

    def __init__(
        self,
        node_id: str,
        voters: Sequence[str],
        storage: Storage,
        state_machine: StateMachine,
        config: RaftConfig,
        *,
        peer_name: str,
        tick_s: float,
        snapshot_every: int = 10_000,
        snapshot_bytes: int = 16 << 20,
        after_apply: Callable[[int], None] = _nothing,
        full_retry_s: float = FULL_RETRY_S,
    ) -> None:
        """A snapshot is taken every ``snapshot_every`` applied entries, or sooner once the
        entries applied since the last one hold ``snapshot_bytes``: the log in memory is
        bounded by both. ``after_apply(applied)`` runs after each slice of applied
        entries (the master hands its history writes on there)."""
        self.node_id = node_id
        self.peer_name = peer_name
        self.after_apply = after_apply
        self.voters = tuple(voters)
        self.storage = storage
        self.state_machine = state_machine
        self.config = config
        self.tick_s = tick_s
        self.snapshot_every = snapshot_every
        self.snapshot_bytes = snapshot_bytes
        self.bytes_since_snapshot = 0
        self.waiting: dict[int, _Waiting] = {}
        # ticks that proposals have waited here with no leader of theirs to finish them
        self.stuck_ticks = 0
        self.give_up_ticks = max(1, config.election_ticks // 2)
        # why the last save failed (the disk is full), until one succeeds
        self.storage_full: str | None = None
        self.full_retry_s = full_retry_s
        self.retry_at = 0.0
        self.snapshot_retry_at = 0.0
        self.applied = 0
        # committed entries waiting while a snapshot is being encoded
        self.backlog: deque[Entry] = deque()
        self.apply_paused = False
        self.encoded = trio.Event()
        self.snapshotting = False
        self.last_snapshot: SnapshotStats | None = None
        self.longest_snapshot_s = 0.0
        # ReadIndex: request id -> callback, then (read index, callback) once confirmed
        self.reads: dict[int, Callable[[bool], None]] = {}
        self.reads_confirmed: list[tuple[int, Callable[[bool], None]]] = []
        self.read_seq = 0
        # the writer: Readies handed to it and not yet saved, whether it runs, the ones
        # saved that the core has not been told of, and the full disk that stopped it
        self.unsaved: list[Ready] = []
        self.saving = False
        self.saved: list[Ready] = []
        self.save_failed: StorageFull | None = None
        self.save_done = trio.Event()
        # streaming snapshots: peer -> snapshot index being sent; what we are receiving
        self.transfers: dict[str, int] = {}
        self.incoming: _Incoming | None = None
        self.chunks_in: trio.MemorySendChannel[tuple[SnapshotChunk, PendingReply]]
        self.core: RaftCore
        self.ctx: ActorContext

    async def start(self, ctx: ActorContext) -> None:
        """Load from storage and start ticking, as the composing actor starts."""
        self.ctx = ctx
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
        send, receive = trio.open_memory_channel[tuple[SnapshotChunk, PendingReply]](16)
        self.chunks_in = send
        self.ctx.nursery.start_soon(self._receive_chunks, receive)
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

    @property
    def leader(self) -> str | None:
        """The leader as far as this member knows (None during an election)."""
        return self.core.leader

    @property
    def term(self) -> int:
        return self.core.term

    @property
    def applied_own_term(self) -> bool:
        """Whether an entry of this member's current term is applied here (a new
        leader's reads are current only from then on, or after a read barrier)."""
        return self.core.log.term_at(self.applied) == self.core.term

    @property
    def unapplied(self) -> int:
        """Entries in the log here that are not applied yet."""
        return self.core.log.last_index - self.applied

    def status(self) -> dict[str, object]:
        """Who leads, in which term, and how far this member is (``/api/v1/cluster``)."""
        core = self.core
        return {
            "leader": core.leader,
            "term": core.term,
            "role": core.role.value,
            "masters": list(core.voters),
            "commit_index": core.commit,
            "applied_index": self.applied,
            "ready": core.leader is not None and self.applied >= core.commit,
        }

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
        self._release_confirmed_reads()

    def _release_confirmed_reads(self) -> None:
        if self.reads_confirmed:
            waiting = []
            for index, done in self.reads_confirmed:
                if index <= self.applied:
                    done(True)
                else:
                    waiting.append((index, done))
            self.reads_confirmed = waiting

    async def handle(self, msg: Message) -> Message | None:
        """A message for Raft (a peer's, a tick, a proposal); what to answer, if anything."""
        if isinstance(msg, Tick):
            self.core.tick()
            self._count_stuck()
        elif isinstance(msg, Propose):
            try:
                self.propose(msg.data, self.ctx.defer_reply().resolve)
            except NotLeader as exc:
                return NotLeaderReply(exc.leader_hint)
        elif isinstance(msg, SnapshotChunk):
            return self._chunk(msg)
        elif isinstance(msg, SnapshotBuilt):
            await self._compact(msg)
        elif isinstance(msg, SnapshotArrived):
            self.core.step(msg.install)
        elif not isinstance(msg, Wake):
            self.core.step(msg)
        return None

    async def drained(self) -> None:
        """The end of a mailbox burst: send, apply and hand to the writer what the core
        has ready."""
        self._settle_writes()
        if self.storage_full is not None and trio.current_time() < self.retry_at:
            return  # the disk was full a moment ago: the retry timer comes back here
        core = self.core
        while core.has_ready() and self.save_failed is None:
            if core.pending_snapshot is not None:
                if not await self._install_ready():
                    return
                continue
            ready = core.ready()
            if self.storage_full is None:
                self._send(ready.early_messages)
            elif ready.early_messages:
                # a leader that cannot write falls silent, so that one that can takes over
                ready = attrs.evolve(
                    ready, messages=(*ready.early_messages, *ready.messages), early_messages=()
                )
            self._queue(ready)
            self._release_reads(ready)
            core.advance_apply(ready)
            if ready.writes or (ready.messages and (self.saving or self.unsaved)):
                self._hand_to_writer(ready)
            else:
                self._send(ready.messages)
                core.advance_persist(ready)
            while self.saving and core.log.persisting - core.log.stable > MAX_UNSTABLE:
                await self.save_done.wait()
                self._settle_writes()
        if not self.apply_paused and self.backlog:
            self._apply_backlog()
            self._release_confirmed_reads()
            if self.backlog:
                self.ctx.self_ref.try_send(Wake())  # the rest in the next turn
        if (
            not self.snapshotting
            and (
                self.applied - self.core.log.offset >= self.snapshot_every
                or self.bytes_since_snapshot >= self.snapshot_bytes
            )
            and trio.current_time() >= self.snapshot_retry_at
        ):
            self.snapshotting = True
            self.ctx.nursery.start_soon(self._take_snapshot)

    async def _install_ready(self) -> bool:
        """A Ready with a leader's snapshot, once the writer is idle: install, persist,
        send, apply, advance. False when the disk is full."""
        while self.saving:
            await self.save_done.wait()
        self._settle_writes()
        if self.storage_full is not None and trio.current_time() < self.retry_at:
            return False
        ready = self.core.ready()
        try:
            if ready.snapshot is not None and ready.snapshot.index > self.applied:
                await self._install(ready.snapshot)
            await self.storage.save(ready.hard_state, ready.entries, ready.snapshot)
        except StorageFull as exc:
            self.core.persist_failed()
            self._persist_failed(exc)
            return False
        self._resumed()
        self._send((*ready.early_messages, *ready.messages))
        self._queue(ready)
        self._release_reads(ready)
        self.core.advance(ready)
        return True

    # -- the writer ----------------------------------------------------------------------

    def _hand_to_writer(self, ready: Ready) -> None:
        self.unsaved.append(ready)
        if not self.saving:
            self.saving = True
            self.ctx.nursery.start_soon(self._writer)

    async def _writer(self) -> None:
        """Save what was handed over, in order, each time all of it in one write; then
        wake the actor to send what waited for it."""
        try:
            while self.unsaved:
                batch, self.unsaved = self.unsaved, []
                try:
                    await self._save(batch)
                except StorageFull as exc:
                    # nothing after it may be written either: the stored log keeps no hole
                    self.save_failed = exc
                    self.unsaved = []
                    return
                self.saved.extend(batch)
                done, self.save_done = self.save_done, trio.Event()
                done.set()
                self.ctx.self_ref.try_send(Wake())
        finally:
            self.saving = False
            done, self.save_done = self.save_done, trio.Event()
            done.set()

    async def _save(self, batch: Sequence[Ready]) -> None:
        """One durable write for every Ready of ``batch``: the last hard state, and the
        entries, each Ready's replacing the log from its first index on."""
        hard: HardState | None = None
        entries: list[Entry] = []
        for ready in batch:
            hard = ready.hard_state or hard
            if ready.entries:
                first = ready.entries[0].index
                if entries and first <= entries[-1].index:
                    del entries[max(0, first - entries[0].index) :]
                entries.extend(ready.entries)
        if hard is not None or entries:
            await self.storage.save(hard, entries, None)

    def _settle_writes(self) -> None:
        """Tell the core what the writer made durable and send what waited for it; after a
        full disk stopped the writer, hand everything not durable back to the core."""
        saved, self.saved = self.saved, []
        for ready in saved:
            self._send(ready.messages)
            self.core.advance_persist(ready)
        if any(r.writes for r in saved):
            self._resumed()
        exc = self.save_failed
        if exc is not None and not self.saving:
            self.save_failed = None
            self.core.persist_failed()
            self._persist_failed(exc)

    def _resumed(self) -> None:
        """A write succeeded: if the disk was full, it no longer is."""
        if self.storage_full is not None:
            log.info("raft log writes resumed", extra={"node": self.node_id})
            self.storage_full = None

    def _persist_failed(self, exc: StorageFull) -> None:
        """Nothing of the failed write is durable: its messages are dropped, and the core
        offers it again once ``full_retry_s`` has passed."""
        if self.storage_full is None:
            log.error(
                "raft log write failed: disk full; retrying",
                extra={"node": self.node_id, "error": str(exc)},
            )
        self.storage_full = str(exc) or "disk full"
        self.retry_at = trio.current_time() + self.full_retry_s
        self.ctx.send_after(self.full_retry_s, Wake())

    def _count_stuck(self) -> None:
        """A tick: proposals that no leader of theirs can finish here (this member stopped
        leading, or cannot write its log) are answered as in doubt after a few ticks,
        which leaves time for a definite answer (the new leader's entry at their index,
        applied here) when one is on its way."""
        if not self.waiting or (self.core.role is Role.LEADER and self.storage_full is None):
            self.stuck_ticks = 0
            return
        self.stuck_ticks += 1
        if self.stuck_ticks < self.give_up_ticks:
            return
        self.stuck_ticks = 0
        if self.storage_full is not None:
            reason = f"the disk is full ({self.storage_full})"
        else:
            reason = "it stopped leading before the write committed"
        waiting, self.waiting = self.waiting, {}
        for index in sorted(waiting):
            waiting[index].done(InDoubtReply(reason))

    def _send(self, messages: Iterable[tuple[str, Message]]) -> None:
        for to, message in messages:
            if isinstance(message, InstallSnapshot):
                self._start_transfer(to, message)
            else:
                self.ctx.ref(to, self.peer_name).try_send(message)

    def _queue(self, ready: Ready) -> None:
        """Committed entries wait in the backlog until applied (see :meth:`drained`)."""
        last = self.backlog[-1].index if self.backlog else self.applied
        self.backlog.extend(e for e in ready.committed if e.index > last)

    def _apply_backlog(self) -> None:
        backlog = self.backlog
        for _ in range(min(len(backlog), APPLY_SLICE)):
            entry = backlog.popleft()
            if entry.index <= self.applied:
                continue
            result = None
            if entry.kind == EntryKind.NORMAL:
                result = self.state_machine.apply(entry.index, entry.data)
                self.bytes_since_snapshot += len(entry.data)
            self.applied = entry.index
            waiting = self.waiting.pop(entry.index, None)
            if waiting is None:
                continue
            if waiting.term == entry.term:
                waiting.done(Committed(entry.index, result))
            else:
                waiting.done(NotLeaderReply(self.core.leader))
        self.after_apply(self.applied)

    # -- taking snapshots ---------------------------------------------------------------

    async def _take_snapshot(self) -> None:
        """Encode the state at ``applied`` piece by piece, applying nothing meanwhile."""
        index = self.applied
        self.bytes_since_snapshot = 0
        started = trio.current_time()
        longest = 0.0
        pieces: list[bytes] = []
        self.apply_paused = True
        self.encoded = trio.Event()
        try:
            step = trio.current_time()
            for piece in self.state_machine.snapshot_pieces():
                pieces.append(piece)
                now = trio.current_time()
                longest = max(longest, now - step)
                await trio.sleep(0)
                step = trio.current_time()
        finally:
            self.apply_paused = False
            self.encoded.set()
            self.ctx.self_ref.try_send(Wake())
        data = b"".join(pieces)
        try:
            await self.state_machine.persist(index)
        except StorageFull as exc:
            log.warning(
                "snapshot not taken: disk full", extra={"node": self.node_id, "error": str(exc)}
            )
            self.snapshot_retry_at = trio.current_time() + 10 * self.full_retry_s
            self.snapshotting = False
            return
        seconds = trio.current_time() - started
        self.last_snapshot = SnapshotStats(index, len(data), seconds, longest)
        self.longest_snapshot_s = max(self.longest_snapshot_s, seconds)
        await self.ctx.self_ref.send(SnapshotBuilt(index, data))

    async def _compact(self, built: SnapshotBuilt) -> None:
        try:
            if built.index <= self.core.log.offset:
                return  # a leader's snapshot got here first
            # keep what a follower still receiving an older snapshot will need
            keep = built.index - min((built.index, *self.transfers.values()))
            snapshot = self.core.compact(built.data, keep, index=built.index)
            try:
                await self.storage.compact(snapshot)
            except StorageFull as exc:
                # the disk keeps the older snapshot and every entry since: still a valid
                # log to restart from; the next snapshot compacts it
                log.warning(
                    "log not compacted on disk: disk full",
                    extra={"node": self.node_id, "error": str(exc)},
                )
                return
            if self.last_snapshot is not None:
                stats = self.last_snapshot
                log.info(
                    "snapshot taken",
                    extra={
                        "node": self.node_id,
                        "index": stats.index,
                        "bytes": stats.bytes,
                        "ms": round(stats.seconds * 1000, 1),
                        "longest_step_ms": round(stats.longest_step_s * 1000, 2),
                    },
                )
        finally:
            self.snapshotting = False

    # -- streaming a snapshot to a follower -----------------------------------------------

    def _start_transfer(self, peer: str, msg: InstallSnapshot) -> None:
        if peer in self.transfers:
            return  # one transfer per follower; the core asks again while it runs
        self.transfers[peer] = msg.snapshot.index
        self.ctx.nursery.start_soon(self._transfer, peer, msg)

    async def _transfer(self, peer: str, msg: InstallSnapshot) -> None:
        snap = msg.snapshot
        ref = self.ctx.ref(peer, self.peer_name)
        seq = 0

        async def send(part: SnapshotPart, data: bytes) -> None:
            nonlocal seq
            if self.core.role is not Role.LEADER or self.core.term != msg.term:
                raise _TransferAborted("no longer the leader of that term")
            chunk = SnapshotChunk(
                self.node_id, msg.term, snap.index, snap.term, snap.voters, seq, part, data
            )
            answer = await ref.ask(chunk, CHUNK_TIMEOUT_S)
            if not isinstance(answer, SnapshotChunkAck) or not answer.accepted:
                reason = answer.reason if isinstance(answer, SnapshotChunkAck) else answer
                raise _TransferAborted(f"refused: {reason}")
            seq += 1

        started = trio.current_time()
        log.info("snapshot transfer", extra={"node": self.node_id, "to": peer, "index": snap.index})
        try:
            for start in range(0, max(len(snap.data), 1), CHUNK_BYTES):
                await send(SnapshotPart.STATE, snap.data[start : start + CHUNK_BYTES])
            async for batch in self.state_machine.export_extra(snap.index):
                await send(SnapshotPart.EXTRA, batch)
            await send(SnapshotPart.DONE, b"")
            log.info(
                "snapshot transferred",
                extra={
                    "node": self.node_id,
                    "to": peer,
                    "index": snap.index,
                    "chunks": seq,
                    "s": round(trio.current_time() - started, 3),
                },
            )
        except (AskTimeout, AskError, _TransferAborted) as exc:
            log.warning(
                "snapshot transfer stopped",
                extra={"node": self.node_id, "to": peer, "error": str(exc)},
            )
        finally:
            del self.transfers[peer]

    def _chunk(self, chunk: SnapshotChunk) -> Message | None:
        """A follower's side: check the chunk here, store it in order in the receiver task."""
        if chunk.term < self.core.term:
            return SnapshotChunkAck(False, f"stale term {chunk.term} < {self.core.term}")
        if self.core.role is Role.LEADER:
            return SnapshotChunkAck(False, "this node leads")
        reply = self.ctx.defer_reply()
        try:
            self.chunks_in.send_nowait((chunk, reply))
        except trio.WouldBlock:
            reply.resolve(SnapshotChunkAck(False, "too many chunks at once"))
        return None

    async def _receive_chunks(
        self, chunks: trio.MemoryReceiveChannel[tuple[SnapshotChunk, PendingReply]]
    ) -> None:
        async for chunk, reply in chunks:
            try:
                ack = await self._take_chunk(chunk)
            except StorageFull as exc:
                # the leader stops this transfer and starts over later
                self.incoming = None
                ack = SnapshotChunkAck(False, f"disk full: {exc}")
            reply.resolve(ack)

    async def _take_chunk(self, chunk: SnapshotChunk) -> SnapshotChunkAck:
        incoming = self.incoming
        if chunk.seq == 0:
            incoming = self.incoming = _Incoming(chunk.src, chunk.term, chunk.index)
            await self.state_machine.begin_install(chunk.index)
        if (
            incoming is None
            or (incoming.src, incoming.term, incoming.index) != (chunk.src, chunk.term, chunk.index)
            or chunk.seq != incoming.next_seq
        ):
            return SnapshotChunkAck(False, f"out of order: chunk {chunk.seq} of {chunk.index}")
        incoming.next_seq += 1
        if chunk.part == SnapshotPart.STATE:
            incoming.data += chunk.data
        elif chunk.part == SnapshotPart.EXTRA:
            await self.state_machine.receive_extra(chunk.data)
        else:
            self.incoming = None
            snapshot = Snapshot(chunk.index, chunk.snap_term, chunk.voters, bytes(incoming.data))
            await self.ctx.self_ref.send(
                SnapshotArrived(InstallSnapshot(chunk.src, chunk.term, snapshot))
            )
        return SnapshotChunkAck(True, "")

    async def _install(self, snapshot: Snapshot) -> None:
        """The core accepted a leader's snapshot: the state machine becomes it."""
        if self.apply_paused:
            await self.encoded.wait()  # our own snapshot is reading the state
        self.backlog.clear()
        self.bytes_since_snapshot = 0
        await self.state_machine.install(snapshot)
        self.applied = snapshot.index
        log.info("snapshot installed", extra={"node": self.node_id, "index": snapshot.index})


class _TransferAborted(Exception):
    pass
