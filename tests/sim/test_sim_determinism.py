"""A run is a function of its seed: same seed, same trace; another seed, another trace."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

from sim.harness import run_scenario

REPO = Path(__file__).resolve().parents[2]


def test_the_same_seed_replays_the_same_trace() -> None:
    first = run_scenario("pingpong", 3)
    second = run_scenario("pingpong", 3)
    assert first.ok, first.violation
    assert first.trace == second.trace
    assert first.fingerprint == second.fingerprint


def test_different_seeds_give_different_traces() -> None:
    assert run_scenario("pingpong", 3).fingerprint != run_scenario("pingpong", 4).fingerprint


def test_trios_scheduler_is_left_as_it_was_found() -> None:
    namespace = vars(importlib.import_module("trio._core._run"))
    flag, state = namespace["_ALLOW_DETERMINISTIC_SCHEDULING"], namespace["_r"].getstate()
    run_scenario("pingpong", 1)
    assert namespace["_ALLOW_DETERMINISTIC_SCHEDULING"] == flag
    assert namespace["_r"].getstate() == state


def test_the_cli_prints_the_same_fingerprint_in_another_process() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", "--scenario", "pingpong", "--seed", "3"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.splitlines()[-1]
    assert last == f"trace: {run_scenario('pingpong', 3).fingerprint}"
