"""How the simulator's checks watch a cluster: one way to watch a master's table, one
way to ask whether a node runs and two nodes reach each other, one way to send a request
through the client's gateway until it takes."""

from __future__ import annotations

from sim.dependent_load import ParentWatch
from sim.harness import Simulation, run_scenario
from sim.job_cluster import Decision, JobCluster
from sim.scenarios import Scenario, Summary
from sim.scenarios.jobs import MASTERS, WORKERS
from sim.schedule_cluster import ScheduleCluster
from tests.sim.recorders import recorder_root
from transport.codec import Message, encode
from transport.commands import AssignCmd, AssignmentCmd
from transport.queue_control import SetTypeLimit


def test_parents_are_watched_only_with_dependent_load() -> None:
    plain = JobCluster(Simulation("test-observers", 0), MASTERS, WORKERS)
    assert plain.observer.parents is None
    assert not any(isinstance(c, ParentWatch) for c in plain.observer.table_checks)
    deps = JobCluster(Simulation("test-observers", 0), MASTERS, WORKERS, dependencies=True)
    assert deps.observer.parents is not None
    assert deps.observer.parents in deps.observer.table_checks


def test_every_table_watcher_is_a_table_check() -> None:
    cluster = ScheduleCluster(Simulation("test-observers", 0), MASTERS, WORKERS)
    assert cluster.schedules in cluster.observer.table_checks


def test_the_observer_says_what_the_leader_knew_when_it_chose() -> None:
    cluster = JobCluster(Simulation("test-observers", 0), MASTERS, WORKERS)
    cmd = AssignCmd(1.0, (AssignmentCmd("j1", "w1", 1, 2.0),))
    assert cluster.observer.decision(cmd) is None
    chosen = Decision(7, frozenset({"j2"}))
    cluster.observer.decisions[encode(cmd)] = chosen
    assert cluster.observer.decision(AssignCmd(1.0, (AssignmentCmd("j1", "w1", 1, 2.0),))) is chosen


def test_running_and_connected() -> None:
    async def body(sim: Simulation) -> Summary:
        for name in ("a", "b", "c"):
            sim.add_node(name, recorder_root, [])
        await sim.start_all()
        assert sim.running("a") and sim.connected("a", "b")
        sim.pause("a", 1.0)
        assert not sim.running("a") and sim.running("b")
        await sim.crash("c")
        assert not sim.running("c")
        sim.partition_oneway("b", "c")
        assert not sim.connected("b", "c") and not sim.connected("c", "b")
        assert sim.connected("a", "b") and sim.connected("a", "a")
        return {}

    body.__doc__ = "running and connected"
    result = run_scenario(Scenario("test-observers", body, 2.0, 100.0), 0)
    assert result.ok, result.violation


def test_a_request_is_sent_again_until_an_answer_is_accepted() -> None:
    answers: list[Message] = []

    async def body(sim: Simulation) -> Summary:
        cluster = JobCluster(sim, MASTERS, WORKERS)
        cluster.stop_load()
        await cluster.start()

        def second(answer: Message) -> bool:
            answers.append(answer)
            return len(answers) == 2

        final = await cluster.send_until_accepted(SetTypeLimit("work", 5.0, 2.0, 3), second)
        assert final is answers[-1]
        return {}

    result = run_scenario(Scenario("test-observers", body, 30.0, 100.0), 0)
    assert result.ok, result.violation
    assert len(answers) == 2 and type(answers[0]) is type(answers[1]), answers
