"""The Raft consensus core: a state machine with no I/O, no clock and no randomness of its own.

The contract is etcd's ``Ready``/``advance``. Feed the core with
:meth:`RaftCore.step` (a message from a peer), :meth:`RaftCore.tick` (one
unit of logical time) and the proposal methods. Then, while
:meth:`RaftCore.has_ready`, take a :class:`Ready` and, in this order:

1. persist its ``snapshot``, ``entries`` and ``hard_state`` in one durable
   write (fsync) — a vote or an acknowledgement must never go out before the
   state that justifies it is on disk;
2. send its ``early_messages`` and ``messages``;
3. apply its ``committed`` entries to the state machine and answer its
   ``read_states``;
4. call :meth:`RaftCore.advance` with the same Ready.

A runtime may instead pipeline the disk, as etcd's asynchronous storage
writes do: take a Ready, send its ``early_messages`` (a leader's appends and
heartbeats: the leader counts its own log only once it is durable, so
followers may write an entry while the leader does), hand ``committed`` to
the state machine and call :meth:`RaftCore.advance_apply`, start the write,
and go on stepping and taking Readies meanwhile (each offers only what the
previous ones did not). Once a write is durable, and every write before it,
send that Ready's ``messages`` and call :meth:`RaftCore.advance_persist`; if
it failed, call :meth:`RaftCore.persist_failed`, and everything not durable
is offered again. Writes must be made durable in the order their Readies
were taken.

The leader counts its own log towards a commit only up to what has been
persisted (``advance`` or ``advance_persist`` tells it), so an entry is
committed only once it is fsynced on a majority; with the early messages that
majority may be followers alone, the leader's own write still going.
``committed`` never holds an entry not yet durable here. The commit index
alone is not worth an fsync (it is not part of Raft's persistent state: a
restarted member learns it again), so a Ready offers a hard state when the
term or the vote changed, or together with entries or a snapshot to write.

Time is counted in ticks. Election jitter is drawn from the
``random.Random`` passed in, so a whole cluster replays from one seed.

What is in here: leader election with randomized timeouts, PreVote, and
CheckQuorum with a leader lease (a node that hears from a live leader ignores
vote requests, so a partitioned node rejoining cannot depose it); log
replication with conflict-term hints and pipelined appends bounded per
follower; the Figure 8 commit rule (only entries of the current term are
committed by counting); snapshots with InstallSnapshot for followers behind
the compacted log; ReadIndex for linearizable reads; leadership transfer;
and single-server membership changes (see :meth:`RaftCore.propose_conf_change`).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from random import Random

import attrs

from actors.raft.log import RaftLog
from actors.raft.progress import Mode, Progress
from transport.codec import Message, decode, encode
from transport.raft import (
    AppendEntries,
    AppendResponse,
    ConfChange,
    ConfOp,
    Entry,
    EntryKind,
    HardState,
    Heartbeat,
    HeartbeatResponse,
    InstallSnapshot,
    Snapshot,
    TimeoutNow,
    VoteRequest,
    VoteResponse,
)

__all__ = [
    "ConfChangeRejected",
    "NotLeader",
    "RaftConfig",
    "RaftCore",
    "ReadState",
    "Ready",
    "Role",
]


class Role(enum.Enum):
    FOLLOWER = "follower"
    PRE_CANDIDATE = "pre_candidate"
    CANDIDATE = "candidate"
    LEADER = "leader"


class NotLeader(Exception):
    """Only the leader accepts proposals and reads; ``leader_hint`` is who to ask instead."""

    def __init__(self, leader_hint: str | None) -> None:
        super().__init__(f"not the leader (leader: {leader_hint or 'unknown'})")
        self.leader_hint = leader_hint


class ConfChangeRejected(Exception):
    """A membership change must wait: one is already in flight, or the leader is too new."""


@attrs.frozen
class RaftConfig:
    election_ticks: int = 10
    heartbeat_ticks: int = 1
    pre_vote: bool = True
    check_quorum: bool = True
    # entries per AppendEntries message, and unacknowledged appends per follower
    max_msg_entries: int = 512
    max_inflight: int = 64


@attrs.frozen
class ReadState:
    """A ReadIndex answer: reads for ``request`` are linearizable once ``index`` is applied."""

    request: int
    index: int


@attrs.frozen
class Ready:
    hard_state: HardState | None
    entries: tuple[Entry, ...]
    snapshot: Snapshot | None
    # to send once this Ready (and every one before it) is durable
    messages: tuple[tuple[str, Message], ...]
    committed: tuple[Entry, ...]
    read_states: tuple[ReadState, ...]
    # a leader's messages that may go before this Ready is durable
    early_messages: tuple[tuple[str, Message], ...] = ()

    @property
    def writes(self) -> bool:
        """Whether there is anything to persist."""
        return self.hard_state is not None or bool(self.entries) or self.snapshot is not None


_FROM_LEADER = (AppendEntries, Heartbeat, InstallSnapshot, TimeoutNow)


class RaftCore:
    def __init__(
        self,
        node_id: str,
        voters: Sequence[str],
        rng: Random,
        config: RaftConfig,
        hard_state: HardState | None = None,
        snapshot: Snapshot | None = None,
        entries: Sequence[Entry] = (),
    ) -> None:
        hard = hard_state or HardState(0, None, 0)
        self.id = node_id
        self.config = config
        self.rng = rng
        self.term = hard.term
        self.vote = hard.vote
        self.log = RaftLog(snapshot, entries)
        self.commit = max(hard.commit, self.log.offset)
        self.applied = self.log.offset
        self.snapshot = snapshot
        self.voters: tuple[str, ...] = tuple(sorted(snapshot.voters if snapshot else voters))
        self._replay_conf_changes(self.log.offset + 1, self.commit)
        self.role = Role.FOLLOWER
        self.leader: str | None = None
        self.elapsed = 0
        self.heartbeat_elapsed = 0
        self.timeout = self._random_timeout()
        self.votes: dict[str, bool] = {}
        self.progress: dict[str, Progress] = {}
        self.commit_sent: dict[str, int] = {}
        self.transferee: str | None = None
        self.pending_conf_index = 0
        self.msgs: list[tuple[str, Message]] = []
        self.pending_snapshot: Snapshot | None = None
        # the hard state last handed to the disk, and the last one known durable
        self.prev_hard = hard
        self.durable_hard = hard
        # ReadIndex: requests waiting for this term's first commit, then for a heartbeat quorum
        self.read_seq = 0
        self.reads_before_commit: list[int] = []
        self.reads_pending: list[tuple[int, int, int]] = []  # (request, index, heartbeat round)
        self.read_states: list[ReadState] = []

    # -- inputs ----------------------------------------------------------------------

    def tick(self) -> None:
        if self.role is Role.LEADER:
            self._tick_leader()
            return
        self.elapsed += 1
        if self.elapsed >= self.timeout and self.promotable:
            self.campaign(pre=self.config.pre_vote)

    def campaign(self, *, pre: bool, transfer: bool = False) -> None:
        """Start an election (or a PreVote round, which changes no durable state)."""
        if pre:
            self._reset(self.term)
            self.role = Role.PRE_CANDIDATE
            term = self.term + 1
        else:
            self._reset(self.term + 1)
            self.role = Role.CANDIDATE
            self.vote = self.id
            term = self.term
        if self._poll(self.id, True) == "won":
            self._won(pre)
            return
        for peer in self.voters:
            if peer != self.id:
                self._send(
                    peer,
                    VoteRequest(
                        self.id, term, self.log.last_index, self.log.last_term, pre, transfer
                    ),
                )

    def step(self, m: Message) -> None:
        term: int = getattr(m, "term", -1)
        if term < 0:
            raise TypeError(f"not a Raft message: {type(m).__name__}")
        if term > self.term:
            if isinstance(m, VoteRequest):
                if not m.transfer and self._in_lease():
                    return
                if not m.pre:
                    self._become_follower(term, None)
            elif isinstance(m, VoteResponse) and m.pre and m.granted:
                pass  # a granted PreVote answers in the term we would campaign in
            else:
                self._become_follower(term, m.src if isinstance(m, _FROM_LEADER) else None)  # type: ignore[attr-defined]
        elif term < self.term:
            self._step_stale(m)
            return
        if isinstance(m, VoteRequest):
            self._handle_vote(m)
        elif self.role is Role.LEADER:
            self._step_leader(m)
        elif self.role in (Role.CANDIDATE, Role.PRE_CANDIDATE) and isinstance(m, VoteResponse):
            self._step_candidate(m)
        elif isinstance(m, _FROM_LEADER):
            if self.role is not Role.FOLLOWER:
                self._become_follower(self.term, m.src)
            self._step_follower(m)

    def propose(self, data: bytes, kind: EntryKind = EntryKind.NORMAL) -> int:
        """Append ``data`` to the leader's log; returns its index (committed later, or never)."""
        if self.role is not Role.LEADER:
            raise NotLeader(self.leader)
        if self.transferee is not None:
            raise NotLeader(self.transferee)
        index = self.log.last_index + 1
        self.log.append(Entry(self.term, index, kind, data))
        return index

    def propose_conf_change(self, change: ConfChange) -> int:
        """Add or remove one voter.

        Single-server changes: any two majorities of the old and new voter sets
        overlap, so no joint phase is needed, provided only one change is in
        flight at a time and the leader has committed an entry of its own term
        first (the fix to the single-server bug described on raft-dev in 2015).
        A change takes effect on each node when the node applies it.
        """
        if self.role is not Role.LEADER:
            raise NotLeader(self.leader)
        if self.pending_conf_index > self.applied:
            raise ConfChangeRejected("another membership change is not yet applied")
        if self.log.term_at(self.commit) != self.term:
            raise ConfChangeRejected("the leader has not committed an entry of its term yet")
        if change.op == ConfOp.REMOVE and change.node not in self.voters:
            raise ConfChangeRejected(f"{change.node} is not a voter")
        if change.op == ConfOp.ADD and change.node in self.voters:
            raise ConfChangeRejected(f"{change.node} is already a voter")
        index = self.propose(encode(change), EntryKind.CONF)
        self.pending_conf_index = index
        return index

    def read_index(self, request: int) -> None:
        """Ask for a linearizable read point; it comes back as a ReadState in a later Ready."""
        if self.role is not Role.LEADER:
            raise NotLeader(self.leader)
        if self.log.term_at(self.commit) != self.term:
            self.reads_before_commit.append(request)
        else:
            self._start_read(request)

    def transfer_leadership(self, target: str) -> None:
        """Hand leadership to ``target`` once its log is caught up; proposals pause meanwhile."""
        if self.role is not Role.LEADER:
            raise NotLeader(self.leader)
        if target == self.id or target not in self.voters:
            return
        self.transferee = target
        self.elapsed = 0
        if self.progress[target].match == self.log.last_index:
            self._send(target, TimeoutNow(self.id, self.term))

    def compact(self, data: bytes, keep: int = 0, *, index: int | None = None) -> Snapshot:
        """Record a snapshot of the state at ``index`` (default: ``applied``); drop log
        entries up to ``keep`` entries before it.

        The runtime may pass an ``index`` behind ``applied`` when it built the
        snapshot while the core moved on (it must have applied that far itself).
        """
        at = self.applied if index is None else index
        assert self.log.offset <= at <= self.applied, "a snapshot between the log start and applied"
        term = self.log.term_at(at)
        assert term is not None, "applied entries are in the log or the snapshot"
        snap = Snapshot(at, term, self.voters, data)
        self.snapshot = snap
        cut = max(self.log.offset, at - keep)
        cut_term = self.log.term_at(cut)
        assert cut_term is not None
        self.log.compact(cut, cut_term)
        return snap

    # -- outputs -----------------------------------------------------------------------

    def has_ready(self) -> bool:
        self._flush()
        return bool(
            self.msgs
            or self.pending_snapshot is not None
            or self.log.persisting < self.log.last_index
            or self.applied < min(self.commit, self.log.stable)
            or self.read_states
            or self._vote_changed()
        )

    def ready(self) -> Ready:
        """What to persist, send and apply now; what it hands out is not offered again
        (unless :meth:`persist_failed` says the write was lost)."""
        self._flush()
        entries = tuple(self.log.unpersisted())
        hard = self._hard_state()
        offer_hard = hard != self.prev_hard and (
            self._vote_changed() or bool(entries) or self.pending_snapshot is not None
        )
        committed: tuple[Entry, ...] = ()
        start = max(self.applied, self.log.offset) + 1
        end = min(self.commit, self.log.stable)
        if end >= start:
            committed = tuple(self.log.slice(start, end - start + 1))
        early: list[tuple[str, Message]] = []
        late = self.msgs
        if self.role is Role.LEADER and self.durable_hard.term == self.term:
            early = [(to, m) for to, m in late if isinstance(m, _FROM_LEADER)]
            if early:
                late = [(to, m) for to, m in late if not isinstance(m, _FROM_LEADER)]
        ready = Ready(
            hard_state=hard if offer_hard else None,
            entries=entries,
            snapshot=self.pending_snapshot,
            messages=tuple(late),
            committed=committed,
            read_states=tuple(self.read_states),
            early_messages=tuple(early),
        )
        if entries:
            self.log.persisting = entries[-1].index
        if offer_hard:
            self.prev_hard = hard
        self.msgs = []
        self.read_states = []
        return ready

    def advance(self, ready: Ready) -> None:
        """``ready`` is persisted, sent and applied (the synchronous contract)."""
        self.advance_apply(ready)
        self.advance_persist(ready)

    def advance_apply(self, ready: Ready) -> None:
        """``ready``'s committed entries are handed to the state machine."""
        for entry in ready.committed:
            self.applied = entry.index
            if entry.kind == EntryKind.CONF:
                self._apply_conf_change(entry)

    def advance_persist(self, ready: Ready) -> None:
        """``ready``'s write is durable (and every write before it)."""
        if ready.hard_state is not None:
            self.durable_hard = ready.hard_state
        if ready.snapshot is not None:
            if self.pending_snapshot is ready.snapshot:
                self.pending_snapshot = None
            self.applied = max(self.applied, ready.snapshot.index)
        if ready.entries:
            last = ready.entries[-1]
            self.log.stable_to(last.index, last.term)
        if self.role is Role.LEADER:
            self.progress[self.id].update(self.log.stable)
            if self._maybe_commit():
                self._release_reads_before_commit()

    def persist_failed(self) -> None:
        """Every write handed out since the last durable one is lost: offer it again."""
        self.log.persist_failed()
        self.prev_hard = self.durable_hard

    # -- state -------------------------------------------------------------------------

    @property
    def promotable(self) -> bool:
        return self.id in self.voters

    @property
    def quorum(self) -> int:
        return len(self.voters) // 2 + 1

    def _hard_state(self) -> HardState:
        return HardState(self.term, self.vote, self.commit)

    def _vote_changed(self) -> bool:
        """Whether the term or the vote differ from what was last handed to the disk."""
        return self.term != self.prev_hard.term or self.vote != self.prev_hard.vote

    def _random_timeout(self) -> int:
        n = self.config.election_ticks
        return self.rng.randrange(n, 2 * n)

    def _in_lease(self) -> bool:
        return (
            self.config.check_quorum
            and self.leader is not None
            and self.elapsed < self.config.election_ticks
        )

    def _send(self, to: str, m: Message) -> None:
        self.msgs.append((to, m))

    def _reset(self, term: int) -> None:
        if term != self.term:
            self.term = term
            self.vote = None
        self.leader = None
        self.elapsed = 0
        self.heartbeat_elapsed = 0
        self.timeout = self._random_timeout()
        self.votes = {}
        self.progress = {}
        self.commit_sent = {}
        self.transferee = None
        self.reads_before_commit = []
        self.reads_pending = []

    def _become_follower(self, term: int, leader: str | None) -> None:
        self._reset(term)
        self.role = Role.FOLLOWER
        self.leader = leader

    def _become_leader(self) -> None:
        self._reset(self.term)
        self.role = Role.LEADER
        self.leader = self.id
        for peer in self.voters:
            self.progress[peer] = Progress(self.log.last_index + 1)
            self.commit_sent[peer] = 0
        if self.id not in self.progress:
            self.progress[self.id] = Progress(self.log.last_index + 1)
        self.progress[self.id].update(self.log.stable)
        self.progress[self.id].become_replicate()
        # conservatively: no membership change until everything from older terms is applied
        self.pending_conf_index = self.log.last_index
        self.propose(b"", EntryKind.NOOP)

    def _poll(self, voter: str, granted: bool) -> str:
        self.votes.setdefault(voter, granted)
        yes = sum(1 for v in self.votes.values() if v)
        no = len(self.votes) - yes
        if yes >= self.quorum:
            return "won"
        if no > len(self.voters) - self.quorum:
            return "lost"
        return "pending"

    def _won(self, pre: bool) -> None:
        if pre:
            self.campaign(pre=False)
        else:
            self._become_leader()

    # -- every role ------------------------------------------------------------------

    def _step_stale(self, m: Message) -> None:
        """A message from an older term: tell a stale leader or pre-candidate about ours."""
        if isinstance(m, AppendEntries | Heartbeat) and (
            self.config.check_quorum or self.config.pre_vote
        ):
            self._send(m.src, AppendResponse(self.id, self.term, False, 0, 0, 0))
        elif isinstance(m, VoteRequest):
            self._send(m.src, VoteResponse(self.id, self.term, False, m.pre))

    def _handle_vote(self, m: VoteRequest) -> None:
        can_vote = (
            self.vote == m.src
            or (self.vote is None and self.leader is None)
            or (m.pre and m.term > self.term)
        )
        if can_vote and self.log.is_up_to_date(m.last_index, m.last_term):
            self._send(m.src, VoteResponse(self.id, m.term, True, m.pre))
            if not m.pre:
                self.elapsed = 0
                self.vote = m.src
        else:
            self._send(m.src, VoteResponse(self.id, self.term, False, m.pre))

    # -- candidate -------------------------------------------------------------------

    def _step_candidate(self, m: VoteResponse) -> None:
        pre = self.role is Role.PRE_CANDIDATE
        if m.pre != pre:
            return
        result = self._poll(m.src, m.granted)
        if result == "won":
            self._won(pre)
        elif result == "lost":
            self._become_follower(self.term, None)

    # -- follower --------------------------------------------------------------------

    def _step_follower(self, m: Message) -> None:
        self.elapsed = 0
        if isinstance(m, AppendEntries):
            self.leader = m.src
            self._handle_append(m)
        elif isinstance(m, Heartbeat):
            self.leader = m.src
            self.commit = max(self.commit, min(m.commit, self.log.last_index))
            self._send(m.src, HeartbeatResponse(self.id, self.term, m.ctx, self.log.last_index))
        elif isinstance(m, InstallSnapshot):
            self.leader = m.src
            self._handle_snapshot(m)
        elif isinstance(m, TimeoutNow) and self.promotable:
            self.campaign(pre=False, transfer=True)

    def _handle_append(self, m: AppendEntries) -> None:
        if m.prev_index < self.commit:
            self._send(m.src, AppendResponse(self.id, self.term, True, self.commit, 0, 0))
            return
        if self.log.matches(m.prev_index, m.prev_term):
            self.log.merge(m.entries)
            last = m.prev_index + len(m.entries)
            self.commit = max(self.commit, min(m.commit, last))
            self._send(m.src, AppendResponse(self.id, self.term, True, last, 0, 0))
            return
        if m.prev_index > self.log.last_index:
            hint_index, hint_term = self.log.last_index + 1, 0
        else:
            hint_term = self.log.term_at(m.prev_index) or 0
            hint_index = self.log.first_index_of_term(m.prev_index)
        self._send(
            m.src,
            AppendResponse(self.id, self.term, False, m.prev_index, hint_index, hint_term),
        )

    def _handle_snapshot(self, m: InstallSnapshot) -> None:
        snap = m.snapshot
        if snap.index <= self.commit:
            index = self.commit
        elif self.log.matches(snap.index, snap.term):
            self.commit = snap.index
            index = snap.index
        else:
            self.log.restore(snap)
            self.commit = snap.index
            self.voters = tuple(sorted(snap.voters))
            self.snapshot = snap
            self.pending_snapshot = snap
            index = snap.index
        self._send(m.src, AppendResponse(self.id, self.term, True, index, 0, 0))

    # -- leader ----------------------------------------------------------------------

    def _tick_leader(self) -> None:
        self.heartbeat_elapsed += 1
        self.elapsed += 1
        if self.elapsed >= self.config.election_ticks:
            self.elapsed = 0
            if self.config.check_quorum:
                active = sum(
                    1
                    for peer in self.voters
                    if peer == self.id or self.progress[peer].recent_active
                )
                if active < self.quorum:
                    self._become_follower(self.term, None)
                    return
                for peer, pr in self.progress.items():
                    if peer != self.id:
                        pr.recent_active = False
            self.transferee = None
        if self.heartbeat_elapsed >= self.config.heartbeat_ticks:
            self.heartbeat_elapsed = 0
            self._broadcast_heartbeat()

    def _broadcast_heartbeat(self) -> None:
        for peer in self.voters:
            if peer != self.id:
                pr = self.progress[peer]
                commit = min(pr.match, self.commit)
                self._send(peer, Heartbeat(self.id, self.term, commit, self.read_seq))

    def _step_leader(self, m: Message) -> None:
        pr = self.progress.get(getattr(m, "src", ""))
        if pr is None:
            return
        if isinstance(m, AppendResponse):
            pr.recent_active = True
            if m.success:
                self._append_acked(m.src, pr, m.index)
            else:
                self._append_rejected(pr, m)
        elif isinstance(m, HeartbeatResponse):
            pr.recent_active = True
            self._heartbeat_acked(pr, m)

    def _append_acked(self, peer: str, pr: Progress, index: int) -> None:
        pr.update(index)
        if pr.mode is Mode.PROBE or (pr.mode is Mode.SNAPSHOT and pr.match >= pr.snapshot_index):
            pr.become_replicate()
        if self._maybe_commit():
            self._release_reads_before_commit()
        if peer == self.transferee and pr.match == self.log.last_index:
            self._send(peer, TimeoutNow(self.id, self.term))

    def _append_rejected(self, pr: Progress, m: AppendResponse) -> None:
        if m.index <= pr.match:
            return  # stale: that prefix is known to match
        if pr.mode is Mode.PROBE and m.index != pr.next - 1:
            return  # an answer to an older probe
        retry = m.hint_index
        if m.hint_term:
            last = self.log.last_index_of_term(m.hint_term)
            if last is not None:
                retry = last + 1
        pr.back_off(m.index, retry)

    def _heartbeat_acked(self, pr: Progress, m: HeartbeatResponse) -> None:
        if m.ctx > pr.read_ctx:
            pr.read_ctx = m.ctx
            self._release_reads()
        stalled = pr.match == pr.beat_match and pr.match < self.log.last_index
        pr.beat_match = pr.match
        if pr.mode is Mode.PROBE:
            pr.paused = False
        elif stalled and (pr.inflight or pr.mode is Mode.SNAPSHOT):
            # appends (or the snapshot) were lost: look for the match again
            pr.become_probe()
        if pr.match < self.log.last_index:
            # a follower behind us: probe now, even when there is nothing new to carry
            self._send_append(m.src, pr, allow_empty=True)

    def _maybe_commit(self) -> bool:
        progress = self.progress
        matches = sorted((progress[v].match for v in self.voters if v in progress), reverse=True)
        if len(matches) < self.quorum:
            return False
        index = matches[self.quorum - 1]
        # Figure 8: an entry of an older term is committed only by a newer one above it
        if index > self.commit and self.log.term_at(index) == self.term:
            self.commit = index
            return True
        return False

    def _flush(self) -> None:
        """Turn the leader's log and commit into appends: one message per follower per batch."""
        if self.role is not Role.LEADER:
            return
        last = self.log.last_index
        for peer in self.voters:
            if peer == self.id:
                continue
            pr = self.progress[peer]
            while pr.next <= last and self._send_append(peer, pr):
                pass
            if pr.next > last and self.commit > self.commit_sent[peer]:
                self._send_append(peer, pr, allow_empty=True)

    def _send_append(self, peer: str, pr: Progress, *, allow_empty: bool = False) -> bool:
        if not pr.can_send(self.config.max_inflight):
            return False
        prev = pr.next - 1
        prev_term = self.log.term_at(prev)
        if prev_term is None or prev < self.log.offset:
            if self.snapshot is None:
                return False
            self._send(peer, InstallSnapshot(self.id, self.term, self.snapshot))
            pr.become_snapshot(self.snapshot.index)
            return False
        entries = self.log.slice(pr.next, self.config.max_msg_entries)
        if not entries and not allow_empty:
            return False
        self._send(
            peer, AppendEntries(self.id, self.term, prev, prev_term, tuple(entries), self.commit)
        )
        self.commit_sent[peer] = self.commit
        if entries:
            pr.sent(entries[-1].index)
        elif pr.mode is Mode.PROBE:
            pr.paused = True
        return True

    # -- ReadIndex -------------------------------------------------------------------

    def _start_read(self, request: int) -> None:
        if self.quorum == 1:
            self.read_states.append(ReadState(request, self.commit))
            return
        self.read_seq += 1
        self.reads_pending.append((request, self.commit, self.read_seq))
        self._broadcast_heartbeat()

    def _release_reads_before_commit(self) -> None:
        if self.reads_before_commit and self.log.term_at(self.commit) == self.term:
            waiting, self.reads_before_commit = self.reads_before_commit, []
            for request in waiting:
                self._start_read(request)

    def _release_reads(self) -> None:
        while self.reads_pending:
            request, index, seq = self.reads_pending[0]
            acks = sum(
                1
                for v in self.voters
                if v == self.id or (v in self.progress and self.progress[v].read_ctx >= seq)
            )
            if acks < self.quorum:
                return
            self.reads_pending.pop(0)
            self.read_states.append(ReadState(request, index))

    # -- membership ------------------------------------------------------------------

    def _replay_conf_changes(self, start: int, end: int) -> None:
        if end >= start:
            for entry in self.log.slice(start, end - start + 1):
                if entry.kind == EntryKind.CONF:
                    self._apply_conf_change(entry)

    def _apply_conf_change(self, entry: Entry) -> None:
        change = decode(entry.data)
        assert isinstance(change, ConfChange)
        voters = set(self.voters)
        if change.op == ConfOp.ADD:
            voters.add(change.node)
        else:
            voters.discard(change.node)
        self.voters = tuple(sorted(voters))
        if self.role is not Role.LEADER:
            return
        if change.op == ConfOp.ADD and change.node not in self.progress:
            self.progress[change.node] = Progress(self.log.last_index + 1)
            self.commit_sent[change.node] = 0
        if change.op == ConfOp.REMOVE:
            if change.node == self.id:
                self._become_follower(self.term, None)
                return
            self.progress.pop(change.node, None)
            if self.transferee == change.node:
                self.transferee = None
            self._maybe_commit()
