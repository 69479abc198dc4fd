"""``python -m bench submit`` runs both protocols against a dev node and prints JSON."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_submit_prints_a_figure_for_each_protocol() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "submit", "--jobs", "100", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert set(result) == {"native", "http"}
    assert result["native"]["inflight"] == 64 and result["native"]["connections"] == 1
    assert result["http"]["connections"] == 32
    for figure in result.values():
        assert figure["submits"] == 100 and figure["submits_per_s"] > 0
