"""A rate and concurrency limit through leader failures: the limit holds across leaders.

The client sets a limit on the ``other`` job type through the log before any
load, then submits more of it than the limit lets through, while the leader
is crashed, paused and cut off, and a worker crashes. :class:`~sim.limit_check.LimitCheck`
runs its own token bucket over what every master applied and fails the run
as soon as a master admits more starts of the type than ``rate * window +
burst`` in some window of log time, or more running at once than
``max_running``. Meanwhile the client pauses and resumes one type or the
other (``POST /api/v1/types/{type}/pause|resume``), and
:class:`~sim.pause_check.PauseCheck` fails the run if an assignment of a
paused type's job commits while it is paused.
"""

from __future__ import annotations

import trio

from sim.harness import Simulation
from sim.job_cluster import JobCluster
from sim.limit_check import LimitCheck
from sim.pause_check import PauseCheck
from sim.scenarios import Summary, scenario
from sim.scenarios.jobs import LAN, MASTERS, PAUSE_S, WORKERS
from transport.queue_control import PauseType, SetTypeLimit

__all__ = ["LIMITED", "MAX_RUNNING", "PAUSED_TYPES", "RATE", "limits_chaos"]

# a third of the load is of this type (about 17 jobs a second): more than the limit passes
LIMITED = "other"
RATE, BURST, MAX_RUNNING = 4.0, 3.0, 3
# the types the client pauses now and then: the limited one, and one with no limit
PAUSED_TYPES = (LIMITED, "work")
# how long between pauses, and how long one lasts
PAUSE_GAP_S, PAUSED_FOR_S = (0.3, 1.5), (0.3, 1.5)


@scenario("limits_chaos", network=LAN, converge_within=90.0)
async def limits_chaos(sim: Simulation) -> Summary:
    """A type limited to 4/s (burst 3, at most 3 running) under load that wants far more, while
    the leader crashes, freezes and is cut off and the client pauses and resumes a type: no
    master ever admits more than rate * window + burst starts, or more than 3 running, and no
    assignment of a paused type commits while it is paused."""
    cluster = JobCluster(sim, MASTERS, WORKERS)
    check = LimitCheck(LIMITED, RATE, BURST, MAX_RUNNING)
    observer = cluster.observer
    pauses = PauseCheck(lambda cmd: d.seen if (d := observer.decision(cmd)) is not None else None)
    cluster.observer.table_checks.extend((check, pauses))
    sim.invariant("type-limit", check.check)
    sim.invariant("type-pause", pauses.check)
    cluster.stop_load()
    await cluster.start()
    await cluster.send_until_accepted(SetTypeLimit(LIMITED, RATE, BURST, MAX_RUNNING))
    cluster.observer.submitting = True
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_pause_now_and_then, sim, cluster, stop)
        leader_changes = await _faults(sim, cluster)
        stop.set()
    cluster.stop_load()
    await trio.sleep(0.1)
    return {
        **cluster.summary(),
        "leader_faults": leader_changes,
        "limited_starts": check.counted,
        "pauses": sum(paused for _, paused in pauses.pauses.values()),
        "assigns_while_paused": pauses.while_paused,
    }


async def _pause_now_and_then(sim: Simulation, cluster: JobCluster, stop: trio.Event) -> None:
    """Pause a drawn type for a while and resume it, until ``stop``; each pause is resumed
    before this returns."""
    rng = sim.rng("pauses")
    while not stop.is_set():
        with trio.move_on_after(rng.uniform(*PAUSE_GAP_S)):
            await stop.wait()
        if stop.is_set():
            return
        job_type = rng.choice(PAUSED_TYPES)
        await cluster.send_until_accepted(PauseType(job_type, True))
        await trio.sleep(rng.uniform(*PAUSED_FOR_S))
        await cluster.send_until_accepted(PauseType(job_type, False))


async def _faults(sim: Simulation, cluster: JobCluster) -> int:
    """The leader crashed, frozen or cut off, or a worker crashed, eight times; the number
    of leader faults."""
    faults = sim.rng("faults")
    leader_changes = 0
    for _ in range(8):
        await trio.sleep(faults.uniform(0.4, 1.0))
        leader = await cluster.wait_for_leader()
        kind = faults.choice(("crash", "crash", "pause", "isolate", "worker"))
        if kind == "worker":
            up = cluster.up(WORKERS)
            if len(up) > 1:
                victim = faults.choice(up)
                await cluster.crash(victim)
                await trio.sleep(faults.uniform(0.2, 1.0))
                await cluster.restart(victim)
            continue
        if leader is None:
            continue
        leader_changes += 1
        if kind == "crash":
            await cluster.crash(leader)
            await cluster.wait_for_leader()
            await trio.sleep(faults.uniform(0.0, 0.5))
            await cluster.restart(leader)
        elif kind == "pause":
            seconds = faults.uniform(0.5, PAUSE_S)
            sim.pause(leader, seconds)
            await trio.sleep(seconds)
        else:
            sim.isolate(leader)
            await trio.sleep(faults.uniform(1.0, 2.0))
            sim.heal()
    return leader_changes
