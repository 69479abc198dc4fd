"""``python -m sim``: a planted bug is caught and replayable, a sweep passes."""

import io
import os
import random
import subprocess
import sys

from sim import scenarios
from sim.cli import main
from sim.harness import Simulation
from sim.scenarios import Summary, scenario
from sim.scenarios.pingpong import NETWORK, Pinger, run_pingpong


class DoubleCountingPinger(Pinger):
    """The bug the invariant exists for: a duplicate pong is counted as another answer."""

    def on_pong(self, n: int) -> None:
        if n < self.ledger.sent:
            self.ledger.record_answer(n)


@scenario("test-pingpong-double-count", network=NETWORK)
async def double_count(sim: Simulation) -> Summary:
    """pingpong with a pinger that does not deduplicate pongs."""
    return await run_pingpong(sim, DoubleCountingPinger)


@scenario("test-nondeterministic")
async def nondeterministic(sim: Simulation) -> Summary:
    """Notes a draw from an unseeded source, which --check-determinism must notice."""
    sim.note("steady line")
    sim.note(f"unseeded draw {random.SystemRandom().random()}")
    return {}


def cli(*argv: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue().splitlines()


def test_list_names_the_scenarios() -> None:
    status, lines = cli("list")
    assert status == 0
    assert any(line.startswith("pingpong ") for line in lines)


def test_a_passing_run_ends_with_its_trace_fingerprint() -> None:
    status, lines = cli("run", "--scenario", "pingpong", "--seed", "2", "--check-determinism")
    assert status == 0
    assert lines[0].startswith("pingpong seed 2: ok, ")
    assert "deterministic: two runs of seed 2 produced the same trace" in lines
    assert lines[-1].startswith("trace: ") and len(lines[-1]) == len("trace: ") + 64


def test_verbose_prints_the_trace_first() -> None:
    status, lines = cli("run", "--scenario", "pingpong", "--seed", "2", "-v")
    assert status == 0
    assert lines[0] == "0.000000 s1 start n1 incarnation 1"
    assert any(" fault partition " in line for line in lines)
    assert lines[-1].startswith("trace: ")


def test_a_double_counting_pinger_is_caught_with_a_replay_command() -> None:
    status, lines = cli("run", "--scenario", "test-pingpong-double-count", "--seed", "0")
    assert status == 1
    assert lines[0] == "test-pingpong-double-count seed 0: FAILED"
    violation = next(line for line in lines if line.startswith("violation: "))
    assert violation.startswith("violation: seed 0, step ")
    assert "invariant 'answered-once' violated: the pinger on n" in violation
    assert "answered 2 times" in violation
    assert "replay: python -m sim run --scenario test-pingpong-double-count --seed 0 -v" in lines
    assert lines[-1].startswith("trace: ")


def test_check_determinism_points_at_the_first_differing_line() -> None:
    status, lines = cli("run", "--scenario", "test-nondeterministic", "--check-determinism")
    assert status == 1
    assert "NOT deterministic: the traces of seed 0 differ at line 2:" in lines
    assert lines[-1].startswith("trace: ")


def test_a_sweep_of_ten_seeds_passes() -> None:
    status, lines = cli("sweep", "--scenario", "pingpong", "--seeds", "10")
    assert status == 0
    assert lines == ["pingpong: 10/10 seeds passed"]


def test_a_sweep_lists_the_failing_seeds() -> None:
    status, lines = cli("sweep", "--scenario", "test-pingpong-double-count", "--seeds", "2")
    assert status == 1
    assert lines[-1] == "test-pingpong-double-count: 0/2 seeds passed; failing seeds: 0 1"
    assert "  replay: python -m sim run --scenario test-pingpong-double-count --seed 1 -v" in lines


def test_an_unknown_scenario_is_a_usage_error() -> None:
    status, lines = cli("run", "--scenario", "no-such-thing")
    assert status == 2
    assert lines == []


def test_list_shows_whole_descriptions_wrapped_to_the_terminal() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sim", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert done.returncode == 0, done.stderr
    entries: list[str] = []
    for line in done.stdout.splitlines():
        assert len(line) <= 80, line
        if line.startswith(" "):
            entries[-1] += " " + line.strip()
        else:
            entries.append(line)
    # (this module registers scenarios of its own, which a fresh process has not)
    listed = {entry.split()[0] for entry in entries}
    assert listed == {name for name in scenarios.names() if not name.startswith("test-")}
    for entry in entries:
        assert entry.endswith((".", ")")), f"cut mid-sentence: {entry}"
