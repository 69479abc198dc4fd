"""``python -m bench`` as a user runs it: JSON shapes, plots, and a real cluster run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def bench(*args: str, timeout: float = 300) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_micro_suites_print_only_json_and_draw_a_plot(tmp_path: Path) -> None:
    plot = tmp_path / "hot.png"
    results = bench("hotpath", "--quick", "-k", "@10", "--plot", str(plot))
    names = {r["name"] for r in results}
    assert {"policy.round_robin@10", "policy.least_loaded@10", "schedule.cycle@10"} <= names
    for r in results:
        assert set(r) == {"name", "ns_per_op", "ops_per_s"} and r["ns_per_op"] > 0
    assert plot.read_bytes().startswith(PNG_MAGIC)
    raft = bench("raft", "--quick", "-k", "core.commit@batch64")
    assert [r["name"] for r in raft] == ["raft.core.commit@batch64"]


def test_cluster_single_node_runs_every_job(tmp_path: Path) -> None:
    plot = tmp_path / "cluster.png"
    result = bench("cluster", "--single", "--jobs", "300", "--batch", "100", "--plot", str(plot))
    assert result["jobs"] == 300 and result["jobs_per_s"] > 0
    assert result["lost"] == 0 and result["not_succeeded"] == 0
    assert set(result["latency_ms"]) == {"p50", "p90", "p99"}
    assert result["latency_ms"]["p50"] <= result["latency_ms"]["p99"]
    assert set(result["rss_mib"]) == {"m1"}
    # the node worked for the run: some CPU per job, and less than a second of it
    assert set(result["cpu_us_per_job"]) == {"m1"} and 0 < result["cpu_us_per_job"]["m1"] < 1e6
    assert plot.read_bytes().startswith(PNG_MAGIC)


def test_cluster_failover_kills_the_leader_and_loses_nothing() -> None:
    result = bench(
        "cluster",
        "--masters", "3", "--workers", "1", "--jobs", "600", "--batch", "50",
        "--type", "sleep", "--sleep", "0.001", "--failover",
    )  # fmt: skip
    assert result["failover"]["kills"] == 1
    assert result["failover"]["median_resume_s"] < 10
    assert result["lost"] == 0 and result["not_succeeded"] == 0 and result["duplicates"] == 0
    assert set(result["rss_mib"]) == {"m1", "m2", "m3", "w1"}


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["submit", "--jobs", "0"], "argument --jobs: 0 is not above zero"),
        (["submit", "--inflight", "-1"], "argument --inflight: -1 is not above zero"),
        (["submit", "--connections", "x"], "argument --connections: 'x' is not a whole number"),
        (["pool", "--jobs", "0"], "argument --jobs: 0 is not above zero"),
        (["pool", "--work", "1.5"], "argument --work: '1.5' is not a whole number"),
        (["pool", "--repeats", "0"], "argument --repeats: 0 is not above zero"),
        (["limits", "--seconds", "0"], "argument --seconds: 0 is not above zero"),
    ],
)
def test_a_count_or_amount_not_above_zero_is_refused_before_anything_starts(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert said in capsys.readouterr().err
