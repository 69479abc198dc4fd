"""Schedules under failures: leaders crash, are cut off or frozen right around ticks.

The checks (see :mod:`sim.schedule_cluster`) run after every step: no
(schedule, tick) fires twice, and every tick while a leader was in charge
fires; the final phase heals everything and requires the ``catch_up: all``
schedule to have a job for each of its ticks.
"""

from __future__ import annotations

import trio

from sim.harness import Simulation
from sim.scenarios import Summary, scenario
from sim.scenarios.jobs import LOSSY, MASTERS, PAUSE_S, WORKERS
from sim.schedule_cluster import ScheduleCluster

# faults, each at a drawn moment around a tick
FAULTS = 14
# how far a restarted master's clock may have stepped (back more than forward)
STEP_BACK_S, STEP_FORWARD_S = 3.0, 1.0
# how long the opening outage of two masters lasts: past two ticks at least
OUTAGE_S = (2.1, 3.0)


@scenario("schedules_chaos", network=LOSSY, converge_within=60.0)
async def schedules_chaos(sim: Simulation) -> Summary:
    """Three schedules (every second skipping missed ticks, every second catching all up,
    even seconds by cron catching up one), whose first ticks fall while a majority of
    masters is down, while, just before, at or just after a tick,
    the leader crashes (and restarts with its clock stepped), is cut off from the others,
    or freezes; the others restart and heal at random."""
    cluster = ScheduleCluster(sim, MASTERS, WORKERS)
    faults = sim.rng("faults")
    await cluster.start()
    await cluster.define()
    # the schedules' own jobs are the load from here on (the client's submits would pile
    # up behind them for the final phase to drain)
    cluster.stop_load()
    await _opening_outage(sim, cluster)
    counts = {"crash": 0, "partition": 0, "pause": 0}
    for _ in range(FAULTS):
        await trio.sleep(faults.uniform(1.0, 3.0))
        leader = await cluster.wait_for_leader()
        await cluster.near_a_tick(faults.uniform(-0.15, 0.1))
        leader = cluster.leader()
        kind = faults.choice(("crash", "crash", "partition", "pause"))
        down = [m for m in MASTERS if not sim.node(m).up]
        if down and faults.random() < 0.5:
            restarted = faults.choice(down)
            sim.node(restarted).clock_offset = faults.uniform(-STEP_BACK_S, STEP_FORWARD_S)
            await cluster.restart(restarted)
        if leader is None:
            continue
        counts[kind] += 1
        if kind == "crash" and len(cluster.up(MASTERS)) > 2:
            await cluster.crash(leader)
        elif kind == "partition":
            sim.partition([leader], [n for n in (*MASTERS, *WORKERS, "client") if n != leader])
            await trio.sleep(faults.uniform(0.5, 2.5))
            sim.heal()
        elif kind == "pause" and not sim.paused(leader):
            sim.pause(leader, faults.uniform(0.3, PAUSE_S))
        else:
            counts[kind] -= 1
    observed = cluster.schedules
    return {
        **cluster.summary(),
        **counts,
        "ticks_fired": len(observed.fired),
        "ticks_checked": observed.verified,
    }


async def _opening_outage(sim: Simulation, cluster: ScheduleCluster) -> None:
    """Right after the schedules are made, the leader and another master go down for two
    ticks or more: the first ticks fall while no leader can fire them, and whoever leads
    next must catch them up (the final check counts ticks from each schedule's create)."""
    opening = sim.rng("opening")
    first = cluster.leader() or MASTERS[0]
    down = (first, opening.choice([m for m in MASTERS if m != first]))
    for name in down:
        await cluster.crash(name)
    await trio.sleep(opening.uniform(*OUTAGE_S))
    for name in down:
        await cluster.restart(name)
