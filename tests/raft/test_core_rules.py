"""The Raft paper's rules (Figure 2, §5.4) on the pure core, one behaviour per test."""

from __future__ import annotations

from random import Random

import pytest

from actors.raft.core import ConfChangeRejected, NotLeader, RaftConfig, RaftCore, Role
from actors.raft.harness import Network
from transport.codec import encode
from transport.raft import (
    AppendEntries,
    AppendResponse,
    ConfChange,
    ConfOp,
    Entry,
    EntryKind,
    HardState,
    VoteRequest,
    VoteResponse,
)

NO_PREVOTE = RaftConfig(pre_vote=False, check_quorum=False)


def core(node: str = "a", voters: tuple[str, ...] = ("a", "b", "c"), **kw: object) -> RaftCore:
    return RaftCore(node, voters, Random(0), kw.pop("config", NO_PREVOTE), **kw)  # type: ignore[arg-type]


def drain(c: RaftCore) -> list[tuple[str, object]]:
    out = []
    while c.has_ready():
        ready = c.ready()
        out.extend((*ready.early_messages, *ready.messages))
        c.advance(ready)
    return out


def entries(*terms: int) -> list[Entry]:
    return [Entry(t, i + 1, EntryKind.NORMAL, b"%d" % (i + 1)) for i, t in enumerate(terms)]


def test_higher_term_turns_anyone_into_a_follower() -> None:
    net = Network(["a", "b", "c"], config=NO_PREVOTE)
    net.elect("a")
    leader = net.cores["a"]
    term = leader.term
    leader.step(AppendResponse("b", term + 5, False, 0, 0, 0))
    assert leader.role is Role.FOLLOWER and leader.term == term + 5 and leader.vote is None


def test_election_timeout_makes_a_follower_campaign() -> None:
    c = core()
    for _ in range(2 * c.config.election_ticks):
        c.tick()
    assert c.role is Role.CANDIDATE and c.term == 1 and c.vote == "a"
    sent = drain(c)
    assert {to for to, _ in sent} == {"b", "c"}
    assert all(isinstance(m, VoteRequest) and not m.pre for _, m in sent)


def test_vote_refused_to_an_older_term() -> None:
    c = core(hard_state=HardState(3, None, 0))
    c.step(VoteRequest("b", 2, 0, 0, False, False))
    [(to, answer)] = drain(c)
    assert to == "b" and isinstance(answer, VoteResponse) and not answer.granted


def test_one_vote_per_term() -> None:
    c = core()
    c.step(VoteRequest("b", 1, 0, 0, False, False))
    c.step(VoteRequest("c", 1, 0, 0, False, False))
    answers = [m for _, m in drain(c)]
    assert [a.granted for a in answers] == [True, False]  # type: ignore[attr-defined]
    assert c.vote == "b"


def test_vote_refused_to_a_less_up_to_date_log() -> None:
    c = core(entries=entries(1, 2))
    c.step(VoteRequest("b", 3, 5, 1, False, False))  # longer log, older last term
    [(_, answer)] = drain(c)
    assert not answer.granted  # type: ignore[attr-defined]


def test_candidate_with_a_majority_leads_and_appends_a_noop() -> None:
    net = Network(["a", "b", "c"], config=NO_PREVOTE)
    net.elect("a")
    a = net.cores["a"]
    assert a.role is Role.LEADER
    assert a.log.entries[-1].kind == EntryKind.NOOP and a.log.entries[-1].term == a.term
    assert all(c.leader == "a" for c in net.cores.values())


def test_candidate_steps_down_for_a_leader_of_its_term() -> None:
    c = core()
    c.campaign(pre=False)
    c.step(AppendEntries("b", 1, 0, 0, (), 0))
    assert c.role is Role.FOLLOWER and c.leader == "b"


def test_append_refused_from_an_older_term() -> None:
    c = core(hard_state=HardState(2, None, 0))
    c.step(AppendEntries("b", 1, 0, 0, tuple(entries(1)), 0))
    assert c.log.last_index == 0


def test_append_refused_without_a_matching_previous_entry() -> None:
    c = core(entries=entries(1))
    c.step(AppendEntries("b", 2, 1, 2, tuple(Entry(2, 2, 0, b"") for _ in range(1)), 0))
    [(_, answer)] = drain(c)
    assert isinstance(answer, AppendResponse) and not answer.success
    assert answer.hint_term == 1 and answer.hint_index == 1


def test_conflicting_entries_are_replaced_with_everything_after_them() -> None:
    c = core(entries=entries(1, 1, 1, 1))
    new = (Entry(2, 3, 0, b"x"),)
    c.step(AppendEntries("b", 2, 2, 1, new, 0))
    assert [e.term for e in c.log.entries] == [1, 1, 2]


def test_follower_commit_is_bounded_by_its_last_new_entry() -> None:
    c = core()
    c.step(AppendEntries("b", 1, 0, 0, tuple(entries(1, 1)), 10))
    assert c.commit == 2


def test_leader_does_not_commit_before_its_own_entry_is_persisted() -> None:
    c = RaftCore("a", ("a",), Random(0), NO_PREVOTE)
    c.campaign(pre=False)
    assert c.role is Role.LEADER
    c.propose(b"x")
    ready = c.ready()
    assert ready.committed == ()  # nothing is durable yet
    c.advance(ready)
    ready = c.ready()
    assert [e.data for e in ready.committed] == [b"", b"x"]


def test_cut_off_followers_mean_nothing_commits() -> None:
    net = Network(["a", "b", "c"], config=NO_PREVOTE)
    net.elect("a")
    commit = net.cores["a"].commit
    net.isolate("a")
    net.propose("a", b"lost")
    assert net.cores["a"].commit == commit


def figure_8_leader() -> RaftCore:
    """Paper Figure 8 (c): S1 leads term 4 holding its term-2 entry at index 2, which S5
    (term 3) could still overwrite; S1's own no-op of term 4 sits at index 3."""
    log = [Entry(1, 1, 0, b"a"), Entry(2, 2, 0, b"x2")]
    s1 = RaftCore("s1", FIVE, Random(0), NO_PREVOTE, HardState(3, None, 1), None, log)
    s1.campaign(pre=False)
    for voter in ("s2", "s3"):
        s1.step(VoteResponse(voter, 4, True, False))
    assert s1.role is Role.LEADER and s1.term == 4
    drain(s1)
    return s1


FIVE = ("s1", "s2", "s3", "s4", "s5")


def test_figure_8_an_old_term_entry_is_not_committed_by_counting() -> None:
    s1 = figure_8_leader()
    s1.step(AppendResponse("s2", 4, True, 2, 0, 0))
    s1.step(AppendResponse("s3", 4, True, 2, 0, 0))
    drain(s1)
    assert s1.commit == 1, "index 2 (term 2) is on a majority but must not count"
    s1.step(AppendResponse("s2", 4, True, 3, 0, 0))
    s1.step(AppendResponse("s3", 4, True, 3, 0, 0))
    drain(s1)
    assert s1.commit == 3, "the term-4 entry above it commits both"


# Paper Figure 7: the terms of each log when the top server becomes leader of term 8
FIGURE_7 = {
    "leader": (1, 1, 1, 4, 4, 5, 5, 6, 6, 6),
    "a": (1, 1, 1, 4, 4, 5, 5, 6, 6),  # missing an entry
    "b": (1, 1, 1, 4),  # missing many
    "c": (1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6),  # an extra uncommitted entry
    "d": (1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7),  # extra entries of a later term
    "e": (1, 1, 1, 4, 4, 4, 4),  # missing entries, and extra ones of term 4
    "f": (1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3),  # a leader of terms 2 and 3 that never committed
}


def figure_7_entries(node: str) -> list[Entry]:
    # data names the term and index, so equal entries are equal across servers
    return [Entry(t, i, EntryKind.NORMAL, b"%d@%d" % (t, i))
            for i, t in enumerate(FIGURE_7[node], 1)]  # fmt: skip


def test_figure_7_the_new_leader_brings_every_follower_to_its_log() -> None:
    net = Network(list(FIGURE_7), config=NO_PREVOTE)
    for node in FIGURE_7:
        net.disks[node].entries = figure_7_entries(node)
        net.disks[node].hard_state = HardState(7, None, 0)
        net.restart(node)
    net.elect("leader")
    leader = net.cores["leader"]
    assert leader.role is Role.LEADER and leader.term == 8
    # a, b, e and f voted for it; c (longer) and d (newer term) refused
    expected = [*figure_7_entries("leader"), Entry(8, 11, EntryKind.NOOP, b"")]
    for node, c in net.cores.items():
        assert c.log.slice(1, c.log.last_index) == expected, node
        assert c.commit == 11, node


def test_conf_change_waits_for_the_previous_one() -> None:
    net = Network(["a", "b", "c"], config=NO_PREVOTE)
    net.elect("a")
    a = net.cores["a"]
    a.propose_conf_change(ConfChange(ConfOp.ADD, "d"))
    with pytest.raises(ConfChangeRejected):
        a.propose_conf_change(ConfChange(ConfOp.REMOVE, "b"))


def test_added_master_catches_up_and_votes() -> None:
    net = Network(["a", "b", "c"], config=NO_PREVOTE)
    net.elect("a")
    net.propose("a", b"before")
    net.cores["a"].propose_conf_change(ConfChange(ConfOp.ADD, "d"))
    net.settle()
    net.add_node("d", ["a", "b", "c"])
    net.tick(times=3)
    d = net.cores["d"]
    assert "d" in net.cores["a"].voters
    assert b"before" in net.committed_data("d")
    assert "d" in d.voters


def test_removing_the_leader_makes_it_step_down() -> None:
    net = Network(["a", "b", "c"], config=NO_PREVOTE)
    net.elect("a")
    net.cores["a"].propose_conf_change(ConfChange(ConfOp.REMOVE, "a"))
    net.settle()
    assert net.cores["a"].role is Role.FOLLOWER
    assert "a" not in net.cores["b"].voters


def test_followers_refuse_proposals() -> None:
    net = Network(["a", "b", "c"], config=NO_PREVOTE)
    net.elect("a")
    with pytest.raises(NotLeader) as caught:
        net.cores["b"].propose(b"x")
    assert caught.value.leader_hint == "a"


def test_read_index_needs_a_heartbeat_quorum() -> None:
    net = Network(["a", "b", "c"], config=NO_PREVOTE)
    net.elect("a")
    net.isolate("a")
    net.cores["a"].read_index(7)
    net.settle()
    assert net.read_states["a"] == []
    net.heal()
    net.tick(["a"])
    assert [r.request for r in net.read_states["a"]] == [7]


def test_prevote_keeps_a_rejoining_node_from_bumping_terms() -> None:
    net = Network(["a", "b", "c"], config=RaftConfig())
    net.elect("a")
    term = net.cores["a"].term
    net.isolate("c")
    net.tick(["c"], times=50)
    net.heal()
    net.tick(times=2)
    assert net.cores["a"].role is Role.LEADER and net.cores["a"].term == term


def test_check_quorum_makes_an_isolated_leader_step_down() -> None:
    net = Network(["a", "b", "c"], config=RaftConfig())
    net.elect("a")
    net.isolate("a")
    net.tick(["a"], times=2 * net.config.election_ticks + 1)
    assert net.cores["a"].role is not Role.LEADER


def test_leadership_transfer_to_a_caught_up_follower() -> None:
    net = Network(["a", "b", "c"], config=RaftConfig())
    net.elect("a")
    net.propose("a", b"x")
    net.cores["a"].transfer_leadership("b")
    net.settle()
    assert net.leader() == "b"


def test_lagging_follower_gets_a_snapshot() -> None:
    net = Network(["a", "b", "c"], config=NO_PREVOTE)
    net.elect("a")
    net.isolate("c")
    for n in range(20):
        net.propose("a", b"%d" % n)
    net.compact("a")
    net.heal()
    net.tick(times=3)
    assert net.committed_data("c") == net.committed_data("a")
    assert net.cores["c"].log.offset > 0


def test_restart_keeps_term_vote_and_log() -> None:
    net = Network(["a", "b", "c"], config=NO_PREVOTE)
    net.elect("a")
    net.propose("a", b"kept")
    b = net.cores["b"]
    term, vote, last = b.term, b.vote, b.log.last_index
    net.crash("b")
    b2 = net.restart("b")
    assert (b2.term, b2.vote, b2.log.last_index) == (term, vote, last)
    net.tick(times=2)
    assert b"kept" in net.committed_data("b")


def test_conf_change_encodes_as_an_entry() -> None:
    assert encode(ConfChange(ConfOp.ADD, "x"))
