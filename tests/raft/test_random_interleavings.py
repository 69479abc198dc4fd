"""Random schedules of delivery, loss, duplication, ticks, crashes, partitions: always safe.

The same schedules run against pipelined members too (writes complete later, in
their own steps, and a crash loses those still pending or keeps some of them),
so the early sending of a leader's appends and the marking of stable entries by
index and term are checked under every interleaving the schedules reach.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.raft.core import NotLeader, RaftConfig, Role
from actors.raft.harness import Network
from tests.raft.invariants import SafetyChecker

ACTIONS = [
    "deliver",
    "deliver",
    "deliver",
    "drop",
    "dup",
    "tick",
    "propose",
    "crash",
    "partition",
    "heal",
    "compact",
]
# pipelined members also need their writes made durable, one step at a time
PIPELINED_ACTIONS = [*ACTIONS, "sync", "sync", "sync"]


@settings(max_examples=120, deadline=None)
@given(
    size=st.sampled_from([3, 5]),
    seed=st.integers(0, 2**16),
    steps=st.lists(
        st.tuples(st.sampled_from(ACTIONS), st.integers(0, 1000)), min_size=60, max_size=300
    ),
)
def test_safety_holds_under_any_schedule(
    size: int, seed: int, steps: list[tuple[str, int]]
) -> None:
    run_schedule(size, seed, steps, pipelined=False)


@settings(max_examples=200, deadline=None)
@given(
    size=st.sampled_from([3, 5]),
    seed=st.integers(0, 2**16),
    steps=st.lists(
        st.tuples(st.sampled_from(PIPELINED_ACTIONS), st.integers(0, 1000)),
        min_size=60,
        max_size=300,
    ),
)
def test_safety_holds_under_any_schedule_when_pipelined(
    size: int, seed: int, steps: list[tuple[str, int]]
) -> None:
    run_schedule(size, seed, steps, pipelined=True)


def run_schedule(size: int, seed: int, steps: list[tuple[str, int]], *, pipelined: bool) -> None:
    ids = [f"n{i}" for i in range(size)]
    net = Network(ids, seed=seed, config=RaftConfig(election_ticks=4), pipelined=pipelined)
    checker = SafetyChecker(net)
    proposals = 0
    for action, n in steps:
        node = ids[n % size]
        if action in ("deliver", "drop", "dup") and net.queue:
            item = net.queue[n % len(net.queue)]
            net.queue.remove(item)
            if action == "dup":
                net.queue.append(item)
            if action != "drop":
                net.deliver_one(item)
        elif action == "tick" and node not in net.down:
            net.cores[node].tick()
        elif action == "propose" and node not in net.down:
            try:
                net.cores[node].propose(b"p%d" % proposals)
                proposals += 1
            except NotLeader:
                pass
        elif action == "crash":
            if node in net.down:
                net.restart(node)
            elif len(net.down) < size // 2:
                net.crash(node, keep_writes=n % (len(net.unsynced[node]) + 1))
        elif action == "partition":
            net.partition(ids[: 1 + n % (size - 1)], ids[1 + n % (size - 1) :])
        elif action == "heal":
            net.heal()
        elif action == "compact" and node not in net.down and net.cores[node].applied > 0:
            net.compact(node)
        elif action == "sync":
            net.sync(node)
        for name in ids:
            net.process(name)
        assert (problem := checker.check()) is None, problem
    # liveness: heal everything, restart everyone, and the cluster must converge
    net.heal()
    for name in list(net.down):
        net.restart(name)
    for _ in range(200):
        net.tick()
        if net.leader() is not None:
            break
    leader = net.leader()
    assert leader is not None
    net.propose(leader, b"final")
    net.tick(times=3)
    assert (problem := checker.check()) is None, problem
    final = net.committed_data(leader)
    assert b"final" in final
    for name in ids:
        assert net.committed_data(name) == final, f"{name} did not converge"
    assert all(c.role is not Role.LEADER or c.id == leader for c in net.cores.values())
