"""The simulator's pause, slow-disk and clock-skew faults, on small scenarios."""

from __future__ import annotations

import random

import pytest
import trio

from runtime.clock import sim_wall_clock
from runtime.errors import AskTimeout
from runtime.storage import MemoryDisk
from sim.faults import MAX_SKEW_LEASES, DiskLatency, SlowStorage, random_skew
from sim.harness import RunResult, Simulation, run_scenario
from sim.scenarios import Scenario, Summary
from tests.sim.messages import Ping, Pong
from tests.sim.recorders import recorder_root


def run(body: Scenario, seed: int = 0) -> RunResult:
    return run_scenario(body, seed)


def scenario(body: object) -> Scenario:
    return Scenario("test-faults", body, converge_within=2.0, time_limit=100.0)  # type: ignore[arg-type]


def test_a_paused_node_handles_nothing_and_sends_nothing_until_it_resumes() -> None:
    on_a: list[tuple[int, float]] = []
    on_b: list[tuple[int, float]] = []

    async def body(sim: Simulation) -> Summary:
        sim.add_node("a", recorder_root, on_a)
        sim.add_node("b", recorder_root, on_b)
        await sim.start_all()
        a, b = sim.node("a").system, sim.node("b").system
        assert a is not None and b is not None
        sim.pause("a", 1.0)
        paused_at = sim.now()
        assert sim.paused("a")
        # what reaches a waits: an ask shorter than the pause times out
        with pytest.raises(AskTimeout):
            await b.ref("a", "rec").ask(Ping(1), timeout=0.5)
        # what a sends (from a task beside its mailboxes) leaves only on resume
        assert a.ref("b", "rec").try_send(Ping(2))
        await trio.sleep(0.3)
        assert on_a == [] and on_b == []
        answer = await b.ref("a", "rec").ask(Ping(3), timeout=2.0)
        assert answer == Pong(3)
        resumed_at = paused_at + 1.0
        assert not sim.paused("a")
        assert [n for n, _ in on_a] == [1, 3]  # the queued ping is handled too, first
        assert all(at >= resumed_at for _, at in on_a)
        await trio.sleep(0.1)
        assert [n for n, _ in on_b] == [2] and on_b[0][1] >= resumed_at
        return {}

    result = run(scenario(body))
    assert result.ok, result.violation
    assert any("fault pause a for 1.000s" in line for line in result.trace)
    assert any("fault resume a" in line for line in result.trace)


def test_the_final_heal_resumes_a_paused_node() -> None:
    handled: list[tuple[int, float]] = []

    async def body(sim: Simulation) -> Summary:
        sim.add_node("a", recorder_root, handled)
        sim.converges("a runs", lambda: "a is paused" if sim.paused("a") else None)
        await sim.start_all()
        sim.pause("a", 1000.0)
        return {}

    result = run(scenario(body))
    assert result.ok, result.violation
    assert result.end_time < 10.0


def test_pausing_a_node_that_is_down_is_an_error() -> None:
    async def body(sim: Simulation) -> Summary:
        sim.add_node("a", recorder_root, [])
        await sim.start_all()
        await sim.crash("a")
        with pytest.raises(ValueError, match="not running"):
            sim.pause("a", 1.0)
        return {}

    assert run(scenario(body)).ok


def test_a_skewed_node_reads_its_offset_on_the_wall_clock_and_keeps_it_across_restarts() -> None:
    seen: list[float] = []

    async def body(sim: Simulation) -> Summary:
        sim.add_node("a", recorder_root, [])
        sim.add_node("b", recorder_root, [])
        random_skew(sim, sim.rng("skew"), ["a"], lease_s=1.0)
        offset = sim.node("a").clock_offset
        assert 0 < abs(offset) <= MAX_SKEW_LEASES
        await sim.start_all()
        for _ in range(2):
            a, b = sim.node("a").system, sim.node("b").system
            assert a is not None and b is not None
            seen.append(a.wall_clock() - sim_wall_clock() - offset)
            seen.append(b.wall_clock() - sim_wall_clock())
            await sim.crash("a")
            await sim.start("a")
        return {}

    assert run(scenario(body)).ok
    assert seen == pytest.approx([0.0] * 4, abs=1e-6)


def test_a_slow_disk_draws_a_latency_per_write_and_only_during_a_spell() -> None:
    latency = DiskLatency(random.Random(7), base_s=0.002, stall_s=0.3)
    assert {latency.draw() for _ in range(100)} == {0.002}
    latency.slow = True
    draws = [latency.draw() for _ in range(400)]
    stalled = [d for d in draws if d > 0.002]
    assert 50 < len(stalled) < 150  # one write in four
    assert all(0.002 < d <= 0.302 for d in stalled)
    again = DiskLatency(random.Random(7), base_s=0.002, stall_s=0.3)
    for _ in range(100):
        again.draw()
    again.slow = True
    assert [again.draw() for _ in range(400)] == draws


def test_a_slow_storage_write_takes_the_drawn_time() -> None:
    async def body(sim: Simulation) -> Summary:
        latency = DiskLatency(sim.rng("disk"), base_s=0.002, stall_s=5.0)
        latency.slow = True
        storage = SlowStorage(MemoryDisk(), latency)
        took = []
        for _ in range(20):
            start = sim.now()
            await storage.save(None, (), None)
            took.append(sim.now() - start)
        assert min(took) == pytest.approx(0.002)
        assert max(took) > 0.5
        assert storage.disk.syncs == 20
        return {}

    assert run(scenario(body)).ok


@pytest.mark.parametrize(
    "name", ["jobs_chaos", "raft_chaos", "leader_pause", "leader_disk_full", "schedules_chaos"]
)
def test_chaos_with_the_new_faults_replays_identically(name: str) -> None:
    first = run_scenario(name, 4)
    assert first.ok, first.violation
    assert any(" fault pause " in line for line in first.trace) or name in (
        "raft_chaos",
        "leader_disk_full",
    )
    if name == "leader_disk_full":
        assert any(" fault disk full " in line for line in first.trace)
    assert run_scenario(name, 4).fingerprint == first.fingerprint
