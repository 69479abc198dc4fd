"""The scheduler's failure scenarios: masters, workers and a client on the simulator.

The checks (see :mod:`sim.job_cluster`) run after every step; the final
phase heals everything, stops the load, and requires every acknowledged job
to end final on one agreed job table.
"""

from __future__ import annotations

import random

import trio

from actors.raft.core import RaftConfig
from runtime.config import RaftConfig as NodeRaftConfig
from sim.disk_faults import COMMIT_WITHIN_TIMEOUTS, KeepsCommitting, fill_disks, fill_disks_for
from sim.faults import random_pause, random_skew, random_slow_disk
from sim.harness import Simulation
from sim.job_cluster import LEASE_S, JobCluster
from sim.raft_cluster import random_pick
from sim.scenarios import Summary, scenario
from transport.simnet import LinkConfig, NetConfig

MASTERS = ("m1", "m2", "m3")
WORKERS = ("w1", "w2", "w3")
# the longest pause of a chaos scenario: long enough for a leader to be replaced
PAUSE_S = 3.0
# a link that sometimes delivers a message twice, the copies up to 0.3 s apart (a
# connection re-established and a frame sent again)
LATE_COPIES = LinkConfig(
    latency=0.001, jitter=0.002, duplicate=0.05, reorder=0.3, reorder_delay=0.3
)
LAN = NetConfig(link=LinkConfig(latency=0.001, jitter=0.002))
LOSSY = NetConfig(
    link=LinkConfig(
        latency=0.001, jitter=0.004, loss=0.03, duplicate=0.02, reorder=0.05, reorder_delay=0.02
    )
)


async def _wind_down(sim: Simulation, cluster: JobCluster) -> None:
    """Stop submitting; the final phase then lets every job finish."""
    cluster.stop_load()
    await trio.sleep(0.1)


@scenario("worker_crash", network=LAN, converge_within=60.0)
async def worker_crash(sim: Simulation) -> Summary:
    """Workers die mid-job, again and again: their jobs move on once the lease runs out."""
    cluster = JobCluster(sim, MASTERS, WORKERS)
    await cluster.start()
    faults = sim.rng("faults")
    crashed = 0
    for _ in range(6):
        await trio.sleep(faults.uniform(0.3, 0.8))
        victim = cluster.busiest_worker()
        if victim is not None and victim in cluster.up(WORKERS):
            await cluster.crash(victim)
            crashed += 1
            await trio.sleep(faults.uniform(0.1, LEASE_S * 2))
            await cluster.restart(victim)
    await _wind_down(sim, cluster)
    return {**cluster.summary(), "worker_crashes": crashed}


async def _just_after_an_assignment(cluster: JobCluster, faults: random.Random) -> str | None:
    """Wait for a leader to propose an assignment, then a drawn moment more (0: before
    the batch can commit; later: committed, perhaps sent and running); the leader then."""
    await cluster.wait_for_leader()
    await trio.sleep(faults.uniform(0.2, 0.5))
    cluster.observer.assign_proposed = event = trio.Event()
    with trio.move_on_after(2.0):
        await event.wait()
    await trio.sleep(faults.choice((0.0, 0.0, 0.003, 0.01, 0.05)))
    return cluster.leader()


@scenario("leader_crash_assign", network=LAN, converge_within=60.0)
async def leader_crash_assign(sim: Simulation) -> Summary:
    """The leader dies right after proposing an assignment: before it commits, or after it
    commits and before the worker's report."""
    cluster = JobCluster(sim, MASTERS, WORKERS)
    await cluster.start()
    faults = sim.rng("faults")
    crashed = 0
    for _ in range(6):
        leader = await _just_after_an_assignment(cluster, faults)
        if leader is not None:
            await cluster.crash(leader)
            crashed += 1
            await cluster.wait_for_leader()
            await trio.sleep(faults.uniform(0.0, 0.5))
            await cluster.restart(leader)
    await _wind_down(sim, cluster)
    return {**cluster.summary(), "leader_crashes": crashed}


async def _started_with_late_copies(sim: Simulation) -> JobCluster:
    """A started cluster whose links from masters to workers now and then deliver a
    message twice, far apart."""
    cluster = JobCluster(sim, MASTERS, WORKERS)
    for master in MASTERS:
        for worker in WORKERS:
            sim.net.set_link(master, worker, LATE_COPIES)
    await cluster.start()
    return cluster


@scenario("leader_pause", network=LAN, converge_within=60.0)
async def leader_pause(sim: Simulation) -> Summary:
    """The leader is paused (SIGSTOP) right after proposing an assignment, long enough to
    be replaced, and resumes with its stale view while the workers run on; meanwhile
    the links to workers now and then deliver a message twice, far apart."""
    cluster = await _started_with_late_copies(sim)
    faults = sim.rng("faults")
    paused = 0
    for _ in range(6):
        leader = await _just_after_an_assignment(cluster, faults)
        if leader is not None:
            seconds = faults.uniform(0.5, PAUSE_S)
            sim.pause(leader, seconds)
            paused += 1
            await trio.sleep(seconds + faults.uniform(0.0, 0.5))
    await _wind_down(sim, cluster)
    return {**cluster.summary(), "leader_pauses": paused}


@scenario("leader_follower_pause", network=LAN, converge_within=60.0)
async def leader_follower_pause(sim: Simulation) -> Summary:
    """The leader and one follower are paused together right after an assignment is
    proposed, past every lease: the master left cannot be elected alone, so the leader
    wakes in its own term, with the assignment still to commit and every worker silent
    by its clock, while messages to workers now and then arrive late and out of order."""
    cluster = await _started_with_late_copies(sim)
    faults = sim.rng("faults")
    paused = 0
    for _ in range(6):
        leader = await _just_after_an_assignment(cluster, faults)
        if leader is None:
            continue
        # nothing crashes here, and each pause is over before the next one starts
        follower = faults.choice([m for m in MASTERS if m != leader])
        seconds = faults.uniform(LEASE_S * 1.5, PAUSE_S)
        for name in sorted((leader, follower)):
            sim.pause(name, seconds + faults.uniform(0.0, 0.05))
        paused += 1
        await trio.sleep(seconds + faults.uniform(0.1, 0.6))
    await _wind_down(sim, cluster)
    return {**cluster.summary(), "paired_pauses": paused}


@scenario("jobs_chaos", network=LOSSY, converge_within=90.0)
async def jobs_chaos(sim: Simulation) -> Summary:
    """Every fault at random (crashes of masters and workers, a worker drained and started
    again, every master losing power at once, partitions, one-way cuts, isolation, pauses,
    slow disks, skewed master clocks, a master's disk full for a while) under a steady load
    of jobs that sleep, fail, report progress, get cancelled and depend on others."""
    cluster = JobCluster(sim, MASTERS, WORKERS, dependencies=True)
    nodes = (*MASTERS, *WORKERS)
    faults = sim.rng("faults")
    random_skew(sim, faults, MASTERS, LEASE_S)
    await cluster.start()
    counts = {"drains": 0, "power_outs": 0}
    for _ in range(20):
        await trio.sleep(faults.uniform(0.05, 0.6))
        kind = faults.choice(
            (
                "crash_master", "crash_worker", "restart", "partition", "oneway", "isolate",
                "heal", "disk_full", "pause", "slow_disk", "drain", "power_out",
            )
        )  # fmt: skip
        up_masters, up_workers = cluster.up(MASTERS), cluster.up(WORKERS)
        if kind == "crash_master" and len(up_masters) > 1:
            await cluster.crash(faults.choice(up_masters))
        elif kind == "crash_worker" and len(up_workers) > 1:
            await cluster.crash(faults.choice(up_workers))
        elif kind == "drain" and up_workers:
            await cluster.drain(faults.choice(up_workers))
            counts["drains"] += 1
        elif kind == "power_out":
            await cluster.power_out(faults.uniform(0.05, 1.0))
            counts["power_outs"] += 1
        elif kind == "restart":
            down = [n for n in nodes if not sim.node(n).up]
            if down:
                await cluster.restart(faults.choice(down))
        elif kind == "partition":
            side = random_pick(faults, nodes, faults.randint(1, 3))
            sim.partition(side, [n for n in nodes if n not in side])
        elif kind == "oneway":
            a, b = random_pick(faults, nodes, 2)
            sim.partition_oneway(a, b)
        elif kind == "isolate":
            sim.isolate(faults.choice(nodes))
        elif kind == "disk_full":
            if up_masters:
                member = cluster.masters[faults.choice(up_masters)]
                fill_disks(sim, member.name, (member.disk.space, member.history.space), faults)
        elif kind == "pause":
            random_pause(sim, faults, nodes, PAUSE_S)
        elif kind == "slow_disk":
            random_slow_disk(sim, faults, {m: cluster.masters[m].latency for m in MASTERS})
        else:
            sim.heal()
    await _wind_down(sim, cluster)
    return {**cluster.summary(), **counts}


# Raft's timing as a node runs by default: a 0.05 s tick, elections after 0.5-1 s. It
# matters here. A replica that found its disk full sends nothing for ``full_retry_s``
# (0.2 s), which outlasts the simulator's own election timeouts (0.1-0.2 s): there, even a
# leader that sent its heartbeats ahead of its failing writes fell silent long enough to
# be replaced, and the bug it had in production went unseen.
NODE_RAFT = NodeRaftConfig()
PRODUCTION_TIMING = RaftConfig(
    election_ticks=NODE_RAFT.election_ticks, heartbeat_ticks=NODE_RAFT.heartbeat_ticks
)
# how long the leader's disks stay full: several of the longest election timeouts, and
# longer than the check's bound, so a leader that clings on is caught while it does
LEADER_FULL_TIMEOUTS = (4.0, 6.0)
# a batch every 0.2 s keeps proposals coming (what makes a full leader's writes fail)
# and stays within what the workers run, so the final phase has no backlog to drain
LEADER_FULL_SUBMIT_EVERY_S = 0.2


@scenario("leader_disk_full", network=LAN, converge_within=60.0)
async def leader_disk_full(sim: Simulation) -> Summary:
    """The leader's disks (Raft log and history) fill for several election timeouts, three
    times, under load and with production's Raft timing: it must fall silent, and the two
    masters that can write must go on committing within a few election timeouts (a leader
    that kept heartbeating stayed leader and refused every write with 507)."""
    cluster = JobCluster(
        sim,
        MASTERS,
        WORKERS,
        tick_s=NODE_RAFT.tick_s,
        raft_config=PRODUCTION_TIMING,
        submit_every_s=LEADER_FULL_SUBMIT_EVERY_S,
    )
    disks = {name: (m.disk.space, m.history.space) for name, m in cluster.masters.items()}
    timeout_s = 2 * PRODUCTION_TIMING.election_ticks * NODE_RAFT.tick_s
    keeps = KeepsCommitting(sim, cluster.raft_cores, disks, COMMIT_WITHIN_TIMEOUTS * timeout_s)
    sim.invariant("keeps-committing", keeps.check)
    await cluster.start()
    faults = sim.rng("faults")
    fills = 0
    for _ in range(3):
        await cluster.wait_for_leader()
        await trio.sleep(faults.uniform(0.1, 0.5))
        leader = cluster.leader()
        if leader is None:
            continue
        seconds = faults.uniform(*LEADER_FULL_TIMEOUTS) * timeout_s
        until = fill_disks_for(sim, leader, disks[leader], seconds)
        fills += 1
        # the disk has room again before the next fill, and the load goes on throughout
        await trio.sleep(until - sim.now() + faults.uniform(0.2, 0.5))
    await _wind_down(sim, cluster)
    return {
        **cluster.summary(),
        "fills": fills,
        "recovered": len(keeps.recoveries),
        "slowest_s": round(max(keeps.recoveries, default=-1.0), 3),
    }


@scenario("wiped_follower", network=LAN, converge_within=60.0)
async def wiped_follower(sim: Simulation) -> Summary:
    """A follower's data directory is wiped while the leader compacts its log: it comes
    back empty and catches up from a streamed snapshot (live state and history)."""
    cluster = JobCluster(sim, MASTERS, WORKERS)
    await cluster.start()
    faults = sim.rng("faults")
    wiped = 0
    for _ in range(2):
        await trio.sleep(faults.uniform(1.0, 2.0))
        leader = await cluster.wait_for_leader()
        followers = [m for m in cluster.up(MASTERS) if m != leader]
        if not followers:
            continue
        victim = faults.choice(followers)
        await cluster.wipe(victim)
        wiped += 1
        # long enough for the leader to compact past everything the victim had
        await trio.sleep(faults.uniform(6.0, 9.0))
        await cluster.restart(victim)
    await trio.sleep(3.0)
    await _wind_down(sim, cluster)
    return {**cluster.summary(), "wiped": wiped}


@scenario("retention_chaos", network=LOSSY, converge_within=90.0)
async def retention_chaos(sim: Simulation) -> Summary:
    """Jobs finish and are removed two seconds later through the log, while masters crash
    and restart: every master keeps the same history, and nothing outlives its time."""
    cluster = JobCluster(sim, MASTERS, WORKERS, keep_finished_s=2.0)
    await cluster.start()
    faults = sim.rng("faults")
    for _ in range(10):
        await trio.sleep(faults.uniform(0.3, 1.2))
        up, down = cluster.up(MASTERS), [m for m in MASTERS if not sim.node(m).up]
        if down and faults.random() < 0.6:
            await cluster.restart(faults.choice(down))
        elif len(up) > 2:
            await cluster.crash(faults.choice(up))
    await _wind_down(sim, cluster)
    return cluster.summary()


@scenario("idle", network=LAN, converge_within=30.0)
async def idle(sim: Simulation) -> Summary:
    """Three masters and two workers with nothing to do: workers heartbeat, and the log
    does not grow (leases are the leader's soft state, not entries)."""
    cluster = JobCluster(sim, MASTERS, WORKERS[:2])
    cluster.stop_load()
    await cluster.start()
    await cluster.wait_for_leader()
    await trio.sleep(2.0)  # workers register: those are entries
    before = {m: cluster.masters[m].actor.raft.core.log.last_index for m in cluster.up(MASTERS)}  # type: ignore[union-attr]
    await trio.sleep(10.0)
    after = {m: cluster.masters[m].actor.raft.core.log.last_index for m in cluster.up(MASTERS)}  # type: ignore[union-attr]
    return {
        **cluster.summary(),
        "entries_in_10s": max(after[m] - before[m] for m in before),
        "heartbeats": cluster.heartbeats(),
    }
