"""``python -m bench soak`` as a user runs it: a short soak on a real cluster is healthy."""

from __future__ import annotations

import json
import subprocess
import sys

LIST_QUERIES = {
    "newest",
    "status_dead",
    "type_nosuch",
    "succeeded_noop",
    "oldest",
    "since_middle",
    "after_10_cursors",
    "get_first_job",
}


def test_soak_is_healthy_and_reports_every_figure() -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "bench", "soak",
            "--masters", "3", "--workers", "2", "--jobs", "20000", "--sample-at", "5000",
            "--restart-check", "--json",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["jobs"] == result["finished"] == 20_000
    assert result["sample_at"] == 5_000 and result["masters"] == 3 and result["workers"] == 2
    assert result["seconds"] > 0 and result["jobs_per_s"] > 0
    assert result["leader_changes"] == 0 and result["failed_requests"] == 0
    assert 0 < result["max_request_ms"] < 1000
    assert result["max_health_ms"] > 0
    assert set(result["rss_mib"]) == {"m1", "m2", "m3", "w1", "w2"}
    for rss in result["rss_mib"].values():
        assert rss["at_sample"] > 0 and rss["end"] > 0
        assert isinstance(rss["growth_pct"], float)
    assert result["snapshot_ms_max"] >= 0 and result["snapshot_step_ms_max"] >= 0
    # the leader's history holds every job (a follower may be a moment behind), and no
    # finished job is still held in memory
    assert set(result["history_jobs"]) == set(result["live_jobs"]) == {"m1", "m2", "m3"}
    assert any(
        result["history_jobs"][m] == 20_000 and result["live_jobs"][m] == 0
        for m in result["history_jobs"]
    )
    assert set(result["list_ms"]) == LIST_QUERIES and result["list_failed"] == {}
    assert all(ms > 0 for ms in result["list_ms"].values())
    assert 0 < result["restart_ready_s"] < 60
