"""The Raft failure scenarios: real RaftActors on the simulated network and disks.

Every scenario runs masters that keep proposing (see :mod:`sim.raft_cluster`
for the client and the checks, which run after every step), injects its
faults, and hands over to the final phase, which heals everything and
requires the cluster to converge on one log with every acknowledged entry.
"""

from __future__ import annotations

import trio

from actors.raft.core import RaftConfig, Role
from sim.disk_faults import fill_disks
from sim.faults import random_pause, random_skew, random_slow_disk
from sim.harness import Simulation
from sim.raft_cluster import RaftCluster, random_pick
from sim.scenarios import Summary, scenario
from transport.simnet import LinkConfig, NetConfig

THREE = ("m1", "m2", "m3")
FOUR = ("m1", "m2", "m3", "m4")
FIVE = ("m1", "m2", "m3", "m4", "m5")
LAN = NetConfig(link=LinkConfig(latency=0.001, jitter=0.002))
LOSSY = NetConfig(
    link=LinkConfig(
        latency=0.001, jitter=0.004, loss=0.05, duplicate=0.03, reorder=0.05, reorder_delay=0.02
    )
)


@scenario("split_vote", network=NetConfig(link=LinkConfig(latency=0.004, jitter=0.004)))
async def split_vote(sim: Simulation) -> Summary:
    """Four masters with barely jittered election timers split their votes, and still elect."""
    cluster = RaftCluster(sim, FOUR, config=RaftConfig(election_ticks=2))
    await cluster.start()
    faults = sim.rng("faults")
    for _ in range(4):
        leader = await cluster.wait_for_leader(within=10.0)
        await trio.sleep(faults.uniform(0.1, 0.4))
        if leader is not None:
            # every restart elects again from scratch, with every timer nearly equal
            for name in FOUR:
                await cluster.crash(name)
            for name in FOUR:
                await cluster.restart(name)
    await trio.sleep(1.0)
    cluster.heal_all()
    return cluster.summary()


@scenario("leader_partition", network=LAN)
async def leader_partition(sim: Simulation) -> Summary:
    """The leader is cut off: a new one is elected; on heal the old one steps down and its
    uncommitted entries are replaced."""
    cluster = RaftCluster(sim, FIVE)
    await cluster.start()
    old = await cluster.wait_for_leader()
    assert old is not None, "no first leader"
    await trio.sleep(0.5)
    sim.isolate(old)
    old_member = cluster.members[old]
    old_core = old_member.core
    assert old_core is not None
    stuck_from = old_core.commit
    new = None
    with trio.move_on_after(5.0):
        while new is None or new == old:
            await trio.sleep(0.01)
            new = cluster.leader()
    # the old leader keeps proposing into its own log meanwhile; nothing of it commits
    await trio.sleep(0.5)
    sim.note(f"old leader {old} stuck at commit {stuck_from}, log {old_core.log.last_index}")
    if old_core.commit != stuck_from:
        cluster.observer.problems.append(f"isolated leader {old} advanced its commit")
    sim.heal()
    await trio.sleep(1.0)
    core = old_member.core
    if core is not None and core.role is Role.LEADER and core.term <= old_core.term:
        cluster.observer.problems.append(f"{old} still leads its old term after the heal")
    cluster.heal_all()
    return {**cluster.summary(), "old": old, "new": new or "-"}


@scenario("figure8", network=LOSSY)
async def figure8(sim: Simulation) -> Summary:
    """Leaders crash right after appending, again and again (the paper's Figure 8 hazards)."""
    cluster = RaftCluster(sim, FIVE)
    await cluster.start()
    faults = sim.rng("faults")
    for _ in range(25):
        leader = await cluster.wait_for_leader(within=3.0)
        if faults.random() < 0.5:
            await trio.sleep(faults.uniform(0.0, 0.03))
        else:
            await trio.sleep(faults.uniform(0.1, 0.3))
        if leader is not None and leader in cluster.up():
            await cluster.crash(leader)
        up = cluster.up()
        if len(up) < 3:
            down = [n for n in FIVE if n not in up]
            await cluster.restart(faults.choice(down))
    for name in FIVE:
        if name not in cluster.up():
            await cluster.restart(name)
    await trio.sleep(1.0)
    cluster.heal_all()
    return cluster.summary()


@scenario("crash_restart", network=LAN)
async def crash_restart(sim: Simulation) -> Summary:
    """Masters killed at random (mid-fsync too), then all at once: nothing acknowledged is lost."""
    cluster = RaftCluster(sim, THREE, snapshot_every=150, fsync_s=0.004)
    await cluster.start()
    faults = sim.rng("faults")
    for _ in range(12):
        await trio.sleep(faults.uniform(0.05, 0.5))
        up = cluster.up()
        if up and (len(up) == len(THREE) or faults.random() < 0.4):
            await cluster.crash(faults.choice(up))
        else:
            down = [n for n in THREE if n not in up]
            await cluster.restart(faults.choice(down))
    for name in THREE:
        if name not in cluster.up():
            await cluster.restart(name)
    await cluster.wait_for_leader()
    await trio.sleep(0.5)
    acked_before = len(cluster.observer.acked)
    sim.note(f"whole cluster killed with {acked_before} entries acknowledged")
    for name in THREE:
        await cluster.crash(name)
    await trio.sleep(0.2)
    for name in THREE:
        await cluster.restart(name)
    await trio.sleep(1.0)
    cluster.heal_all()
    return cluster.summary()


@scenario("minority_partition", network=LAN)
async def minority_partition(sim: Simulation) -> Summary:
    """The leader and one follower are cut from the other three: that side never commits."""
    cluster = RaftCluster(sim, FIVE)
    await cluster.start()
    leader = await cluster.wait_for_leader()
    assert leader is not None, "no first leader"
    await trio.sleep(0.3)
    faults = sim.rng("faults")
    others = [n for n in FIVE if n != leader]
    minority = sorted([leader, faults.choice(others)])
    majority = [n for n in FIVE if n not in minority]
    sim.partition(minority, majority)
    # entries already in the minority's logs may still learn their commit; nothing newer may
    partitioned = [True]
    cores = [cluster.members[name].core for name in minority]
    bound = max(core.log.last_index for core in cores if core is not None)
    frozen = dict.fromkeys(minority, bound)

    def minority_stuck() -> str | None:
        for name, commit in frozen.items():
            core = cluster.members[name].core
            if partitioned[0] and core is not None and core.commit > commit:
                return f"{name} on the minority side committed up to {core.commit}"
        return None

    sim.invariant("minority-never-commits", minority_stuck)
    await trio.sleep(faults.uniform(1.0, 2.0))
    partitioned[0] = False
    sim.heal()
    await trio.sleep(0.5)
    cluster.heal_all()
    return {**cluster.summary(), "minority": ",".join(minority)}


@scenario("raft_chaos", network=LOSSY, converge_within=40.0)
async def raft_chaos(sim: Simulation) -> Summary:
    """Every fault at random over 3 or 5 masters with a steady stream of proposals
    (crashes, partitions, one-way cuts, isolation, a disk full for a while, pauses, slow
    disks, skewed clocks)."""
    faults = sim.rng("faults")
    names = THREE if faults.random() < 0.5 else FIVE
    cluster = RaftCluster(sim, names, snapshot_every=200)
    # Raft counts time in ticks and reads no wall clock: skew must change nothing
    random_skew(sim, faults, names, lease_s=1.0)
    await cluster.start()
    for _ in range(30):
        await trio.sleep(faults.uniform(0.02, 0.4))
        up = cluster.up()
        kind = faults.choice(
            (
                "crash", "restart", "partition", "oneway", "isolate", "heal", "disk_full",
                "pause", "slow_disk",
            )
        )  # fmt: skip
        if kind == "crash" and len(up) > 1:
            await cluster.crash(faults.choice(up))
        elif kind == "restart" and len(up) < len(names):
            await cluster.restart(faults.choice([n for n in names if n not in up]))
        elif kind == "partition":
            side = random_pick(faults, names, faults.randint(1, len(names) // 2))
            sim.partition(side, [n for n in names if n not in side])
        elif kind == "oneway":
            a, b = random_pick(faults, names, 2)
            sim.partition_oneway(a, b)
        elif kind == "isolate":
            sim.isolate(faults.choice(names))
        elif kind == "disk_full":
            name = faults.choice(names)
            fill_disks(sim, name, (cluster.members[name].disk.space,), faults)
        elif kind == "pause":
            random_pause(sim, faults, names, longest_s=2.0)
        elif kind == "slow_disk":
            random_slow_disk(sim, faults, {n: m.latency for n, m in cluster.members.items()})
        else:
            sim.heal()
    cluster.heal_all()
    return {**cluster.summary(), "masters": len(names)}
