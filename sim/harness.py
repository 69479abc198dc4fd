"""The simulator runner: whole actor systems of several nodes in one trio run on a mock clock.

A :class:`Simulation` is what a scenario body drives. It owns the
:class:`~transport.simnet.SimNetwork`, the nodes, the trace and the checks:

- a node is an :class:`~runtime.system.ActorSystem` plus the root
  :class:`~runtime.supervisor.Supervisor` its factory builds, running in its
  own cancel scope. A crash cancels that scope and disconnects the node from
  the network; a restart calls the factory again with a new system and the
  same storage object, which is how state survives a crash.
- a step is a network arrival (delivery or drop) or a fault. After every
  step each invariant is checked; the first one that fails stops the run.
  Arrivals are reported by the network's delivery task, so every actor is
  parked at an await when the checks run, never halfway through a handler.
- when the body returns, the final phase heals every partition, restarts
  every crashed node and gives the cluster ``converge_within`` seconds of
  simulated time to satisfy every convergence check.

:func:`run_scenario` wraps that in ``trio.run`` with
``MockClock(autojump_threshold=0)`` and trio's scheduler seeded from the
same seed, so the returned trace (and its fingerprint) is a function of the
seed alone.
"""

from __future__ import annotations

import logging
import random
import traceback
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import attrs
import trio
import trio.testing

from runtime.supervisor import Supervisor
from runtime.system import ActorSystem
from sim import scenarios
from sim.faults import SimSystem
from sim.scenarios import Scenario, Summary
from sim.seeds import derive_seed, deterministic_scheduling, stream
from sim.trace import SupervisorLogBridge, Trace, current_node, describe
from transport.simnet import NetConfig, NetEvent, SimNetwork

__all__ = [
    "Check",
    "RunResult",
    "SimNode",
    "Simulation",
    "Violation",
    "run_scenario",
    "wait_until",
]

S = TypeVar("S")

# an invariant or convergence check: None when it holds, otherwise what is wrong
Check = Callable[[], str | None]

T = TypeVar("T")


async def wait_until(value: Callable[[], T | None], within: float, poll_s: float) -> T | None:
    """Poll ``value()`` every ``poll_s`` of (mock) time until it is not None, or give up."""
    with trio.move_on_after(within):
        while (found := value()) is None:
            await trio.sleep(poll_s)
        return found
    return None


# how often the final phase looks at the convergence checks, in simulated seconds
_CONVERGENCE_POLL_S = 0.01


@attrs.frozen
class Violation:
    scenario: str
    seed: int
    step: int
    time: float
    invariant: str
    message: str

    @property
    def replay(self) -> str:
        return f"python -m sim run --scenario {self.scenario} --seed {self.seed} -v"

    def __str__(self) -> str:
        return (
            f"seed {self.seed}, step {self.step} (t={self.time:.6f}): "
            f"invariant {self.invariant!r} violated: {self.message}"
        )


@attrs.frozen
class RunResult:
    scenario: str
    seed: int
    violation: Violation | None
    trace: list[str]
    fingerprint: str
    steps: int
    end_time: float
    summary: Summary
    net: dict[str, int]
    # an exception that escaped the actors or the scenario (also reported as a violation)
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.violation is None


class SimNode(Generic[S]):
    """One simulated node; ``storage`` outlives its incarnations, everything else does not."""

    def __init__(self, name: str, root: Callable[[ActorSystem, S], Supervisor], storage: S) -> None:
        self.name = name
        self.root = root
        self.storage = storage
        self.incarnation = 0
        self.system: SimSystem | None = None
        # seconds added to this node's wall clock from its next start on (clock skew)
        self.clock_offset = 0.0
        self._scope = trio.CancelScope()
        self._stopped = trio.Event()

    @property
    def up(self) -> bool:
        return self.system is not None


class Simulation:
    def __init__(
        self,
        scenario: str,
        seed: int,
        *,
        net_config: NetConfig | None = None,
        converge_within: float = 30.0,
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.converge_within = converge_within
        self.clock = trio.testing.MockClock(autojump_threshold=0)
        self.trace = Trace(self.clock.current_time)
        self.net = SimNetwork(stream(seed, "network"), net_config, observer=self._on_net_event)
        self.nodes: dict[str, SimNode[Any]] = {}
        self.steps = 0
        self.violation: Violation | None = None
        self._invariants: list[tuple[str, Check]] = []
        self._convergence: list[tuple[str, Check]] = []
        self._nursery: trio.Nursery | None = None
        self._run_scope = trio.CancelScope()

    # -- for scenario bodies ---------------------------------------------------

    def rng(self, label: str) -> random.Random:
        """A random stream of this seed for the scenario's own draws (load, fault times)."""
        return stream(self.seed, f"scenario/{label}")

    def now(self) -> float:
        return self.clock.current_time()

    def note(self, text: str) -> None:
        self.trace.add(text)

    def add_node(
        self, name: str, root: Callable[[ActorSystem, S], Supervisor], storage: S
    ) -> SimNode[S]:
        """Declare a node; ``root(system, storage)`` builds its supervisor at every (re)start."""
        if name in self.nodes:
            raise ValueError(f"node {name!r} already exists")
        node = SimNode(name, root, storage)
        self.nodes[name] = node
        return node

    def node(self, name: str) -> SimNode[Any]:
        return self.nodes[name]

    def invariant(self, name: str, check: Check) -> None:
        """Check ``check`` after every step; the first message it returns fails the run."""
        self._invariants.append((name, check))

    def converges(self, name: str, check: Check) -> None:
        """Require ``check`` to hold within ``converge_within`` seconds of the final heal."""
        self._convergence.append((name, check))

    async def start(self, name: str) -> None:
        """Start ``name`` (its first start, or a restart after a crash)."""
        node = self.nodes[name]
        if node.up:
            raise ValueError(f"node {name!r} is already up")
        if self._nursery is None:
            raise RuntimeError("nodes start inside a running simulation")
        await self._nursery.start(self._run_node, node)

    async def start_all(self) -> None:
        for name in self.nodes:
            await self.start(name)

    async def crash(self, name: str) -> None:
        """Kill ``name`` at once: its tasks are cancelled, its messages in flight lost."""
        node = self.nodes[name]
        if not node.up:
            raise ValueError(f"node {name!r} is not up")
        lost = self.net.disconnect(name)
        node._scope.cancel()
        node.system = None
        self._step(f"fault crash {name} ({lost} queued messages lost)")
        await node._stopped.wait()

    def pause(self, name: str, seconds: float) -> None:
        """Stop ``name`` for ``seconds`` as SIGSTOP would (see :mod:`sim.faults`), then
        let it carry on with the view it had; the final heal resumes it sooner."""
        system = self.nodes[name].system
        if system is None or system.paused:
            raise ValueError(f"node {name!r} is not running")
        if self._nursery is None:
            raise RuntimeError("nodes pause inside a running simulation")
        system.pause()
        self._step(f"fault pause {name} for {seconds:.3f}s")
        self._nursery.start_soon(self._resume_after, name, system, seconds)

    def paused(self, name: str) -> bool:
        system = self.nodes[name].system
        return system is not None and system.paused

    def running(self, name: str) -> bool:
        """Whether ``name`` handles messages now: up and not paused."""
        return self.nodes[name].up and not self.paused(name)

    def connected(self, a: str, b: str) -> bool:
        """Whether messages between ``a`` and ``b`` get through both ways (no cut either way;
        loss and delay aside)."""
        return not self.net.blocked(a, b) and not self.net.blocked(b, a)

    def resume(self, name: str) -> None:
        system = self.nodes[name].system
        if system is not None and system.paused:
            system.resume()
            self._step(f"fault resume {name}")

    async def _resume_after(self, name: str, system: SimSystem, seconds: float) -> None:
        await trio.sleep(seconds)
        if self.nodes[name].system is system:
            self.resume(name)

    def partition(self, group_a: Iterable[str], group_b: Iterable[str]) -> None:
        side_a, side_b = sorted(group_a), sorted(group_b)
        self.net.partition(side_a, side_b)
        self._step(f"fault partition {','.join(side_a)} | {','.join(side_b)}")

    def partition_oneway(self, src: str, dst: str) -> None:
        self.net.partition_oneway(src, dst)
        self._step(f"fault partition {src} -> {dst}")

    def isolate(self, name: str) -> None:
        self.net.isolate(name)
        self._step(f"fault isolate {name}")

    def heal(self) -> None:
        self.net.heal()
        self._step("fault heal")

    def check_invariants(self) -> None:
        for name, check in self._invariants:
            problem = check()
            if problem is not None:
                self._violate(name, problem)
                return

    # -- the run ---------------------------------------------------------------

    def _on_net_event(self, event: NetEvent) -> None:
        if self.violation is not None:
            return
        if event.arrival:
            self._step(describe(event))
        else:
            self.trace.add(describe(event))

    def _step(self, text: str) -> None:
        if self.violation is not None:
            return
        self.steps += 1
        self.trace.add(f"s{self.steps} {text}")
        self.check_invariants()

    def _violate(self, invariant: str, message: str) -> None:
        if self.violation is not None:
            return
        self.violation = Violation(
            self.scenario, self.seed, self.steps, self.now(), invariant, message
        )
        self.trace.add(f"VIOLATION at step {self.steps}: {invariant}: {message}")
        self._run_scope.cancel()

    async def _run_node(
        self, node: SimNode[Any], *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        current_node.set(node.name)
        node.incarnation += 1
        node._scope = trio.CancelScope()
        node._stopped = stopped = trio.Event()
        system = SimSystem(
            node.name,
            self.net.endpoint(node.name),
            stream(self.seed, f"node/{node.name}/{node.incarnation}"),
            node.clock_offset,
        )
        node.system = system
        self._step(f"start {node.name} incarnation {node.incarnation}")
        started = False
        try:
            with node._scope:
                async with trio.open_nursery() as nursery:
                    await nursery.start(system.serve)
                    await nursery.start(node.root(system, node.storage).run, system)
                    started = True
                    task_status.started()
        except* Exception as group:
            self._violate("node-alive", f"node {node.name} died: {_summarize(group)}")
        finally:
            if node.system is system:
                node.system = None
                self.net.disconnect(node.name)
            stopped.set()
            if not started:
                task_status.started()

    async def _settle(self) -> None:
        """The final phase: heal everything, then wait (bounded) for every convergence check."""
        self.note("final phase: heal every partition, restart every crashed node")
        self.heal()
        for name in self.nodes:
            self.resume(name)
        for node in self.nodes.values():
            if not node.up:
                await self.start(node.name)
        deadline = self.now() + self.converge_within
        while True:
            unmet = self._first_unconverged()
            if unmet is None:
                break
            if self.now() >= deadline:
                name, problem = unmet
                self._violate(
                    name, f"not converged {self.converge_within:g}s after the final heal: {problem}"
                )
                return
            await trio.sleep(_CONVERGENCE_POLL_S)
        self.trace.add("converged")
        self.check_invariants()

    def _first_unconverged(self) -> tuple[str, str] | None:
        for name, check in self._convergence:
            problem = check()
            if problem is not None:
                return name, problem
        return None

    async def _main(self, scenario: Scenario) -> Summary:
        summary: Summary = {}
        with self._run_scope:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                await nursery.start(self.net.run)
                with trio.move_on_after(scenario.time_limit) as limit:
                    summary = await scenario.body(self)
                if limit.cancelled_caught:
                    self._violate(
                        "time-limit",
                        f"the scenario ran past {scenario.time_limit:g}s of simulated time",
                    )
                else:
                    await self._settle()
                nursery.cancel_scope.cancel()
        return summary

    def _result(self, summary: Summary, error: BaseException | None) -> RunResult:
        return RunResult(
            scenario=self.scenario,
            seed=self.seed,
            violation=self.violation,
            trace=self.trace.lines,
            fingerprint=self.trace.fingerprint(),
            steps=self.steps,
            end_time=self.now(),
            summary=summary,
            net=self.net.stats.as_dict(),
            error=error,
        )


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _summarize(exc: BaseException) -> str:
    leaves = _leaves(exc)
    first = "".join(traceback.format_exception_only(leaves[0])).strip()
    return first if len(leaves) == 1 else f"{first} (and {len(leaves) - 1} more)"


def run_scenario(scenario: Scenario | str, seed: int) -> RunResult:
    """Run one scenario for one seed; the result is a function of ``(scenario, seed)``."""
    if isinstance(scenario, str):
        scenario = scenarios.get(scenario)
    sim = Simulation(
        scenario.name, seed, net_config=scenario.network, converge_within=scenario.converge_within
    )
    # podium's logs go into the trace, not to the terminal, for the length of the run
    logger = logging.getLogger("podium")
    bridge = SupervisorLogBridge(sim.trace)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(bridge)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    summary: Summary = {}
    error: BaseException | None = None
    try:
        with deterministic_scheduling(derive_seed(seed, "trio")):
            summary = trio.run(sim._main, scenario, clock=sim.clock)
    except Exception as exc:  # a bug in an actor or the scenario: report it with its seed
        error = exc
        sim._violate("no-exception", _summarize(exc))
    finally:
        logger.removeHandler(bridge)
        logger.setLevel(level)
        logger.propagate = propagate
    return sim._result(summary, error)
