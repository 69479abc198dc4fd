"""The safety checks must catch a core that breaks the Figure 8 commit rule.

The scenario is the paper's Figure 8: S1 re-leads in term 4 and brings its
term-2 entry to a majority, but not its own term-4 entry; S1 dies; S5, whose
log ends with a term-3 entry, is elected by S3 and S4 and overwrites index 2.
A core that commits by counting old-term entries applies the term-2 entry on
S1 before that happens, and the checker must report it; the real core must
not commit it at all, and the checker must stay quiet.
"""

from __future__ import annotations

import pytest

from actors.raft.core import RaftConfig, RaftCore, Role
from actors.raft.harness import Disk, Network
from tests.raft.invariants import SafetyChecker
from transport.raft import Entry, HardState

FIVE = ["s1", "s2", "s3", "s4", "s5"]


def commit_by_counting_any_term(self: RaftCore) -> bool:
    """The mutation: the Figure 8 rule (only current-term entries count) removed."""
    matches = sorted((self.progress[v].match for v in self.voters), reverse=True)
    index = matches[self.quorum - 1]
    if index > self.commit:
        self.commit = index
        return True
    return False


def run_figure_8() -> str | None:
    net = Network(FIVE, config=RaftConfig(pre_vote=False, check_quorum=False, max_msg_entries=1))
    a, x2, y2 = Entry(1, 1, 0, b"a"), Entry(2, 2, 0, b"x2"), Entry(3, 2, 0, b"y2")
    logs = {"s1": [a, x2], "s2": [a, x2], "s3": [a], "s4": [a], "s5": [a, y2]}
    for node, log in logs.items():
        net.disks[node] = Disk(HardState(3, None, 1), None, list(log))
        net.restart(node)
    checker = SafetyChecker(net)
    net.partition(["s1", "s2", "s3"], ["s4", "s5"])
    net.cores["s1"].campaign(pre=False)
    while True:
        while any(net.process(n) for n in FIVE):
            pass
        if not net.queue:
            break
        net.deliver_one(net.queue.popleft())
        if net.cores["s3"].log.last_index >= 2:
            net.cut.add(("s1", "s3"))  # S3 never gets S1's term-4 entry
        if problem := checker.check():
            return problem
    assert net.cores["s1"].role is Role.LEADER and net.cores["s1"].term == 4
    net.crash("s1")
    net.heal()
    for _ in range(3):
        if net.leader() == "s5":
            break
        net.cores["s5"].campaign(pre=False)
        net.settle()
        if problem := checker.check():
            return problem
    assert net.leader() == "s5", "S5 should win with S3 and S4"
    net.tick(times=3)
    return checker.check()


def test_the_real_core_is_safe_in_figure_8() -> None:
    assert run_figure_8() is None


def test_a_core_counting_old_terms_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RaftCore, "_maybe_commit", commit_by_counting_any_term)
    problem = run_figure_8()
    assert problem is not None and "state machine safety" in problem
