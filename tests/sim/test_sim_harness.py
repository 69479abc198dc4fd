"""The simulation runner, driven by small scenarios built in the tests."""

from collections.abc import Awaitable, Callable

import trio

from runtime.actor import Actor, ActorRef
from runtime.supervisor import ChildSpec, Supervisor
from runtime.system import ActorSystem
from sim.harness import RunResult, Simulation, run_scenario
from sim.scenarios import Scenario, Summary
from tests.sim.messages import Boom, Ping, Pong
from transport.codec import Message


class Echo(Actor):
    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        if isinstance(msg, Boom):
            raise RuntimeError(msg.reason)
        assert isinstance(msg, Ping)
        return Pong(msg.n)


def echo_root(system: ActorSystem, starts: list[ActorSystem]) -> Supervisor:
    starts.append(system)
    return Supervisor("root", [ChildSpec("echo", Echo)], max_restarts=1, within_s=10)


def run(
    body: Callable[[Simulation], Awaitable[Summary]], converge_within: float = 1.0, seed: int = 0
) -> RunResult:
    return run_scenario(
        Scenario("test", body, converge_within=converge_within, time_limit=100.0), seed
    )


def test_a_restart_calls_the_factory_again_with_the_same_storage() -> None:
    starts: list[ActorSystem] = []

    async def body(sim: Simulation) -> Summary:
        sim.add_node("n1", echo_root, starts)
        sim.add_node("n2", echo_root, [])
        await sim.start_all()
        client = sim.node("n2").system
        assert client is not None
        assert await client.ref("n1", "echo").ask(Ping(1), timeout=1) == Pong(1)
        await sim.crash("n1")
        assert not sim.node("n1").up
        await sim.start("n1")
        assert await client.ref("n1", "echo").ask(Ping(2), timeout=1) == Pong(2)
        return {"incarnation": sim.node("n1").incarnation}

    result = run(body)
    assert result.ok, result.violation
    assert result.summary == {"incarnation": 2}
    assert len(starts) == 2 and starts[0] is not starts[1]
    assert any("fault crash n1" in line for line in result.trace)
    assert any("start n1 incarnation 2" in line for line in result.trace)


def test_a_crashed_node_misses_what_is_sent_to_it() -> None:
    async def body(sim: Simulation) -> Summary:
        sim.add_node("n1", echo_root, [])
        sim.add_node("n2", echo_root, [])
        await sim.start_all()
        await sim.crash("n1")
        client = sim.node("n2").system
        assert client is not None
        assert not client.ref("n1", "echo").try_send(Ping(1))
        return {}

    result = run(body)
    assert result.ok, result.violation
    assert result.net["down"] == 1


def test_an_invariant_is_checked_after_every_step_and_stops_the_run() -> None:
    async def body(sim: Simulation) -> Summary:
        sim.add_node("n1", echo_root, [])
        sim.invariant("no-partitions", lambda: "someone cut a cable" if sim.steps >= 3 else None)
        await sim.start_all()
        sim.partition(["n1"], ["n2"])  # step 2
        sim.heal()  # step 3: the invariant fails here and cancels the run
        await trio.sleep(1)
        raise AssertionError("the run should have been cancelled")

    result = run(body, seed=5)
    assert result.violation is not None
    assert (result.violation.invariant, result.violation.step) == ("no-partitions", 3)
    assert result.violation.seed == 5
    assert result.violation.replay == "python -m sim run --scenario test --seed 5 -v"
    assert result.trace[-1].endswith("VIOLATION at step 3: no-partitions: someone cut a cable")
    assert result.error is None


def test_the_final_phase_heals_and_restarts_before_checking_convergence() -> None:
    async def body(sim: Simulation) -> Summary:
        sim.add_node("n1", echo_root, [])
        sim.add_node("n2", echo_root, [])
        sim.converges("n1-up", lambda: None if sim.node("n1").up else "n1 is down")
        sim.converges("no-cut", lambda: "cut" if sim.net.blocked("n1", "n2") else None)
        await sim.start_all()
        sim.partition(["n1"], ["n2"])
        await sim.crash("n1")
        return {}

    result = run(body)
    assert result.ok, result.violation
    assert result.trace[-1].endswith("converged")


def test_a_cluster_that_does_not_converge_in_time_fails() -> None:
    async def body(sim: Simulation) -> Summary:
        sim.converges("never", lambda: "still waiting")
        return {}

    result = run(body, converge_within=2.5)
    assert result.violation is not None
    assert result.violation.invariant == "never"
    assert result.violation.message == "not converged 2.5s after the final heal: still waiting"
    assert result.end_time >= 2.5


def test_a_node_whose_root_supervisor_gives_up_is_a_violation() -> None:
    async def body(sim: Simulation) -> Summary:
        sim.add_node("n1", echo_root, [])
        sim.add_node("n2", echo_root, [])
        await sim.start_all()
        client = sim.node("n2").system
        assert client is not None
        for _ in range(2):
            client.ref("n1", "echo").try_send(Boom("bad handler"))
            await trio.sleep(1)
        return {}

    result = run(body)
    assert result.violation is not None
    assert result.violation.invariant == "node-alive"
    assert "node n1 died" in result.violation.message
    assert "Escalation" in result.violation.message
    assert any("n1 supervisor crash root/echo" in line for line in result.trace)


def test_an_exception_in_the_scenario_is_reported_with_its_seed() -> None:
    async def body(sim: Simulation) -> Summary:
        await trio.sleep(1)
        raise KeyError("missing")

    result = run(body, seed=9)
    assert result.violation is not None
    assert result.violation.invariant == "no-exception"
    assert "KeyError: 'missing'" in result.violation.message
    assert result.violation.seed == 9
    assert isinstance(result.error, BaseExceptionGroup)


def test_a_scenario_that_runs_forever_hits_the_time_limit() -> None:
    async def body(sim: Simulation) -> Summary:
        await trio.sleep_forever()
        return {}

    result = run(body)
    assert result.violation is not None
    assert result.violation.invariant == "time-limit"
    assert result.end_time == 100.0
