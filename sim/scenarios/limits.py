"""A rate and concurrency limit through leader failures: the limit holds across leaders.

The client sets a limit on the ``other`` job type through the log before any
load, then submits more of it than the limit lets through, while the leader
is crashed, paused and cut off, and a worker crashes. :class:`~sim.limit_check.LimitCheck`
runs its own token bucket over what every master applied and fails the run
as soon as a master admits more starts of the type than ``rate * window +
burst`` in some window of log time, or more running at once than
``max_running``.
"""

from __future__ import annotations

import trio

from actors.gateway.app import Gateway
from actors.gateway.http_common import ApiError
from sim.harness import Simulation
from sim.job_cluster import JobCluster
from sim.limit_check import LimitCheck
from sim.scenarios import Summary, scenario
from sim.scenarios.jobs import LAN, MASTERS, PAUSE_S, WORKERS
from transport.queue_control import SetTypeLimit

__all__ = ["LIMITED", "MAX_RUNNING", "RATE", "limits_chaos"]

# a third of the load is of this type (about 17 jobs a second): more than the limit passes
LIMITED = "other"
RATE, BURST, MAX_RUNNING = 4.0, 3.0, 3


async def set_limit(sim: Simulation, cluster: JobCluster) -> None:
    """Set the limit through the client's gateway (forwarded to the leader), retrying
    until a leader answers."""
    system = sim.node("client").system
    assert system is not None
    request = SetTypeLimit(LIMITED, RATE, BURST, MAX_RUNNING)
    while True:
        leader = await cluster.wait_for_leader()
        try:
            await Gateway(system, timeout_s=2.0, home=leader or MASTERS[0]).call(request)
            return
        except ApiError:
            await trio.sleep(0.1)


@scenario("limits_chaos", network=LAN, converge_within=90.0)
async def limits_chaos(sim: Simulation) -> Summary:
    """A type limited to 4/s (burst 3, at most 3 running) under load that wants far more, while
    the leader crashes, freezes and is cut off: no master ever admits more than
    rate * window + burst starts, or more than 3 running."""
    cluster = JobCluster(sim, MASTERS, WORKERS)
    check = LimitCheck(LIMITED, RATE, BURST, MAX_RUNNING)
    cluster.observer.table_checks.append(check)
    sim.invariant("type-limit", check.check)
    cluster.stop_load()
    await cluster.start()
    await set_limit(sim, cluster)
    cluster.observer.submitting = True
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
    cluster.stop_load()
    await trio.sleep(0.1)
    return {**cluster.summary(), "leader_faults": leader_changes, "limited_starts": check.counted}
