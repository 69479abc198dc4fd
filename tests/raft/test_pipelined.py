"""The core's pipelined contract: a write in flight while the core steps on.

A runtime may take a Ready, start its write and take the next one before the
first is durable (:meth:`RaftCore.advance_apply` now, :meth:`RaftCore.advance_persist`
once written). What must hold: nothing is offered twice, nothing waits for a
write that does not need it, and nothing that a write justifies (an
acknowledgement, a vote, a commit counted with the leader's own log, an
entry applied) happens before that write is durable.
"""

from __future__ import annotations

from random import Random

from actors.raft.core import RaftConfig, RaftCore, Ready, Role
from actors.raft.harness import Network
from transport.raft import (
    AppendEntries,
    AppendResponse,
    Entry,
    EntryKind,
    HardState,
    Heartbeat,
    VoteRequest,
)

CONFIG = RaftConfig(pre_vote=False, check_quorum=False)


def entries(first: int, *terms: int) -> tuple[Entry, ...]:
    return tuple(
        Entry(t, index, EntryKind.NORMAL, b"%d@%d" % (t, index))
        for index, t in enumerate(terms, first)
    )


def leader(voters: tuple[str, ...] = ("a", "b", "c")) -> RaftCore:
    """``a``, leading term 1 with its no-op durable everywhere and committed."""
    net = Network(list(voters), config=CONFIG, pipelined=True)
    net.elect("a")
    core = net.cores["a"]
    assert core.role is Role.LEADER and not core.has_ready()
    return core


def take(core: RaftCore) -> Ready:
    """Take a Ready as the pipelined runtime does: applied at once, written later."""
    ready = core.ready()
    core.advance_apply(ready)
    return ready


def test_a_leaders_appends_go_out_before_its_own_write() -> None:
    a = leader()
    a.propose(b"x")
    ready = take(a)
    assert [e.data for e in ready.entries] == [b"x"]
    sent = {to: m for to, m in ready.early_messages}
    assert set(sent) == {"b", "c"}
    assert all(isinstance(m, AppendEntries) and m.entries == ready.entries for m in sent.values())
    assert ready.messages == ()
    # nothing is offered again while the write is in flight
    assert not a.has_ready()


def test_a_leader_applies_only_what_its_own_disk_holds() -> None:
    a = leader()
    index = a.propose(b"x")
    ready = take(a)
    # both followers wrote it: a majority without the leader, so it commits...
    for peer in ("b", "c"):
        a.step(AppendResponse(peer, a.term, True, index, 0, 0))
    assert a.commit == index
    # ...but the leader applies it only once its own write is durable
    assert take(a).committed == ()
    a.advance_persist(ready)
    assert [e.data for e in take(a).committed] == [b"x"]


def test_the_leader_counts_its_own_log_only_once_durable() -> None:
    a = leader()
    index = a.propose(b"x")
    ready = take(a)
    a.step(AppendResponse("b", a.term, True, index, 0, 0))
    assert a.commit < index, "one follower and an unwritten leader are not a majority"
    a.advance_persist(ready)
    assert a.commit == index


def test_a_followers_acknowledgement_waits_for_its_write() -> None:
    b = RaftCore("b", ("a", "b", "c"), Random(0), CONFIG, HardState(1, "a", 0))
    b.step(AppendEntries("a", 1, 0, 0, entries(1, 1, 1), 0))
    ready = take(b)
    assert ready.early_messages == ()
    assert [type(m) for _, m in ready.messages] == [AppendResponse]
    # a heartbeat meanwhile: its answer waits behind the write too (it is not durable)
    b.step(Heartbeat("a", 1, 0, 0))
    second = take(b)
    assert second.early_messages == () and second.messages


def test_a_candidates_vote_requests_wait_for_its_vote() -> None:
    c = RaftCore("a", ("a", "b", "c"), Random(0), CONFIG)
    c.campaign(pre=False)
    ready = take(c)
    assert ready.hard_state == HardState(1, "a", 0)
    assert ready.early_messages == ()
    assert {type(m) for _, m in ready.messages} == {VoteRequest}


def test_a_write_overtaken_by_a_truncation_marks_nothing_stable() -> None:
    b = RaftCore("b", ("a", "b", "c"), Random(0), CONFIG, HardState(1, "a", 0))
    b.step(AppendEntries("a", 1, 0, 0, entries(1, 1, 1, 1), 0))
    first = take(b)
    # a new leader replaces indexes 2 and 3 before that write is durable
    b.step(AppendEntries("c", 2, 1, 1, entries(2, 2, 2), 0))
    second = take(b)
    assert [(e.index, e.term) for e in second.entries] == [(2, 2), (3, 2)]
    b.advance_persist(first)
    assert b.log.stable == 0, "index 3 of term 1 is not in the log any more"
    b.advance_persist(second)
    assert b.log.stable == 3


def test_a_commit_alone_is_not_worth_a_write() -> None:
    a = RaftCore("a", ("a",), Random(0), CONFIG)
    a.campaign(pre=False)
    a.advance(a.ready())  # the vote and the no-op
    ready = a.ready()  # the no-op committed: applied, and nothing to write
    assert ready.committed and not ready.writes
    a.advance(ready)
    a.propose(b"x")
    ready = a.ready()
    # the next write carries the commit index along
    assert ready.entries and ready.hard_state == HardState(1, "a", 1)


def test_a_lost_write_is_offered_again() -> None:
    a = leader()
    a.propose(b"x")
    a.propose(b"y")
    lost = take(a)
    a.propose(b"z")
    also_lost = take(a)
    assert [e.data for e in also_lost.entries] == [b"z"]
    a.persist_failed()
    again = take(a)
    assert [e.data for e in again.entries] == [b"x", b"y", b"z"]
    assert lost.entries[0].index == again.entries[0].index
    a.advance_persist(again)
    assert a.log.stable == again.entries[-1].index


def test_a_pipelined_cluster_commits_what_a_synchronous_one_does() -> None:
    net = Network(["a", "b", "c"], config=CONFIG, pipelined=True)
    net.elect("a")
    for n in range(20):
        net.cores["a"].propose(b"p%d" % n)
        if n % 3 == 0:
            net.settle()
    net.tick(times=3)
    want = [b"p%d" % n for n in range(20)]
    for node in ("a", "b", "c"):
        assert [d for d in net.committed_data(node) if d] == want, node
        assert not net.unsynced[node]
