"""podium's deterministic simulator: a whole cluster in one trio run, replayable from a seed.

The real actors run unchanged on :class:`~transport.simnet.SimNetwork` (seeded
latency, loss, duplication, reordering, partitions), a mock clock and seeded
randomness. Every draw derives from one seed, so a run, its trace and its
fingerprint (the sha256 of the trace) are a function of ``(scenario, seed)``.
Run it with ``python -m sim list | run --scenario NAME --seed N | sweep``.

Writing a scenario
------------------
A scenario is an async function registered by name in a module of
``sim/scenarios/`` (every module there is imported on lookup). It builds the
nodes, declares invariants and convergence checks, drives load and faults,
and returns a few figures for the report line::

    from runtime.supervisor import ChildSpec, Supervisor
    from sim.harness import Simulation
    from sim.scenarios import Summary, scenario
    from transport.simnet import LinkConfig, NetConfig

    @scenario("echo", converge_within=10.0, network=NetConfig(link=LinkConfig(loss=0.1)))
    async def echo(sim: Simulation) -> Summary:
        \"\"\"One line for `python -m sim list`.\"\"\"
        store = MemoryStorage()          # any object; it survives crashes
        sim.add_node("n1", lambda system, storage: Supervisor(
            "root", [ChildSpec("echo", lambda: Echo(storage))]), store)
        sim.add_node("n2", ...)
        sim.invariant("no-double-apply", lambda: None if ok() else "what is wrong")
        sim.converges("all-done", lambda: None if done() else "what is missing")
        await sim.start_all()
        faults = sim.rng("faults")       # a named stream of this seed
        await trio.sleep(faults.uniform(1, 2))
        sim.partition(["n1"], ["n2"])    # also partition_oneway, isolate, heal
        sim.pause("n1", 1.5)             # SIGSTOP for 1.5 s (see sim.faults)
        await sim.crash("n2")            # cancel its tasks, lose its messages
        await sim.start("n2")            # factory called again, same storage
        return {"sent": 42}

What the harness guarantees:

- invariants run after every step (a network arrival or a fault), when every
  actor is parked at an await; the first one returning a message stops the
  run with a :class:`~sim.harness.Violation` (seed, step, invariant, message)
  and its replay command.
- after the body returns, the final phase heals every partition, restarts
  every crashed node, and requires every ``converges`` check to hold within
  ``converge_within`` simulated seconds.
- a node whose root supervisor gives up, or an exception escaping the actors
  or the body, is a violation too (``node-alive``, ``no-exception``).

From a test (not inside a trio run: the simulator owns its own)::

    result = run_scenario("echo", seed=3)
    assert result.ok, result.violation   # result.trace, result.fingerprint

Each node's ``ActorSystem`` (a :class:`~sim.faults.SimSystem`, which can be
paused) gets a seeded ``rng`` and wall time that follows the mock clock, off
by ``sim.node(name).clock_offset`` (set it before the node starts to skew its
clock); ``sim.note(text)`` adds a line of your own to the trace.

Rules for deterministic scenarios: take time from ``trio.current_time()`` or
``sim.now()``, randomness from ``sim.rng(label)`` or an actor's ``ctx.rng``,
and do not let iteration order over sets of strings matter (the CLI pins
``PYTHONHASHSEED``, in-process runs do not).
"""

from __future__ import annotations

from sim.harness import Check, RunResult, SimNode, Simulation, Violation, run_scenario
from sim.scenarios import Scenario, Summary, scenario

__all__ = [
    "Check",
    "RunResult",
    "Scenario",
    "SimNode",
    "Simulation",
    "Summary",
    "Violation",
    "run_scenario",
    "scenario",
]
