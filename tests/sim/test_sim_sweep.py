"""``python -m sim sweep``: --from-seed picks where a sweep starts, progress goes to stderr."""

from __future__ import annotations

import io

import pytest

from sim.cli import main
from sim.harness import Simulation
from sim.scenarios import Summary, scenario


@scenario("test-sweep-odd-seeds-fail")
async def odd_seeds_fail(sim: Simulation) -> Summary:
    """Fails on every odd seed, so a sweep has something to list."""
    sim.invariant("even-seed", lambda: "the seed is odd" if sim.seed % 2 else None)
    sim.note("checked")
    return {}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def sweep(*argv: str, progress: io.StringIO) -> tuple[int, list[str]]:
    out = io.StringIO()
    status = main(["sweep", *argv], out=out, progress=progress)
    return status, out.getvalue().splitlines()


def test_from_seed_runs_the_seeds_after_it_and_says_which() -> None:
    progress = io.StringIO()
    status, lines = sweep(
        "--scenario", "test-sweep-odd-seeds-fail", "--seeds", "4", "--from-seed", "5",
        progress=progress,
    )  # fmt: skip
    assert status == 1
    assert "  replay: python -m sim run --scenario test-sweep-odd-seeds-fail --seed 7 -v" in lines
    assert lines[-1] == (
        "test-sweep-odd-seeds-fail: 2/4 seeds passed (seeds 5..8); failing seeds: 5 7"
    )
    shown = progress.getvalue().splitlines()
    assert len(shown) == 1  # fewer than ten seeds: only the last
    assert shown[0].startswith("test-sweep-odd-seeds-fail: 4/4 seeds run, 2 failing, ")


def test_progress_is_a_line_every_ten_seeds_off_a_terminal() -> None:
    progress = io.StringIO()
    status, lines = sweep("--scenario", "pingpong", "--seeds", "12", progress=progress)
    assert status == 0 and lines == ["pingpong: 12/12 seeds passed"]
    shown = progress.getvalue().splitlines()
    assert [line.split(",")[0] for line in shown] == [
        "pingpong: 10/12 seeds run",
        "pingpong: 12/12 seeds run",
    ]
    assert all(" 0 failing, " in line and line.endswith(" min left") for line in shown)


def test_progress_rewrites_one_line_on_a_terminal() -> None:
    progress = Terminal()
    status, _ = sweep(
        "--scenario", "pingpong", "--seeds", "3", "--from-seed", "7", progress=progress
    )
    assert status == 0
    text = progress.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert "pingpong: 3/3 seeds run, 0 failing" in text


@pytest.mark.parametrize("seeds", ["0", "-1", "three"])
def test_a_sweep_of_no_seeds_is_refused_in_one_line(
    seeds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sweep that ran nothing must not pass: argparse's usage error, status 2."""
    with pytest.raises(SystemExit) as exited:
        sweep("--scenario", "pingpong", "--seeds", seeds, progress=io.StringIO())
    assert exited.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "argument --seeds" in errors[0], errors
