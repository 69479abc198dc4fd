"""``python -m bench limits`` as a user runs it (short): the JSON figure and the bound."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_limits_measures_a_limited_rate() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "limits", "--rate", "20", "--seconds", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["bound_held"] is True and result["succeeded"] == result["jobs"] == 100
    # 20 at once, then 20 a second: at most 60 starts in the first two seconds
    assert 20 <= result["started_in_window"] <= 60
    assert result["max_in_1s"] <= 40
