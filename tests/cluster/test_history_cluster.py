"""The history on real processes: retention through the log, a wiped follower catching up
by a streamed snapshot, and an idle cluster whose log does not grow.

Three masters and two workers on 127.0.0.1, started as the README says, with SQLite
and fsync, configured through ``PODIUM_*`` variables as a user would.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from pathlib import Path

from bench.loopback import FAST_FAILURE_DETECTION, LoopbackCluster
from tests.waits import wait_for


def metric(cluster: LoopbackCluster, master: str, name: str) -> float:
    text = cluster.get("/metrics", master=master).text
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not served by {master}")


def test_finished_jobs_go_after_keep_finished_s_on_every_master(tmp_path: Path) -> None:
    env = {**FAST_FAILURE_DETECTION, "PODIUM_RETENTION__KEEP_FINISHED_S": "5"}
    with LoopbackCluster(tmp_path, masters=3, workers=2, capacity=4, env=env) as cluster:
        cluster.start(timeout=60)
        ids = cluster.submit_batch([{"type": "noop"} for _ in range(200)])
        assert set(cluster.wait_finished(ids, 60).values()) == {"succeeded"}
        before = cluster.get("/api/v1/stats").json()
        assert before["jobs"]["succeeded"] == 200 and before["live_jobs"] == 0
        assert before["retention"]["keep_finished_s"] == 5
        for name in cluster.masters:
            assert cluster.get(f"/api/v1/jobs/{ids[0]}?stale=true", master=name).status_code == 200

        def gone_everywhere() -> bool:
            return all(metric(cluster, m, "podium_history_jobs") == 0 for m in cluster.masters)

        wait_for(gone_everywhere, 30, "retention on every master", cluster.describe)
        for name in cluster.masters:
            for job_id in (ids[0], ids[-1]):
                answer = cluster.get(f"/api/v1/jobs/{job_id}?stale=true", master=name)
                assert answer.status_code == 404, (name, answer.text)
            assert cluster.get("/api/v1/jobs?stale=true", master=name).json()["jobs"] == []
            assert metric(cluster, name, "podium_live_jobs") == 0
        after = cluster.get("/api/v1/stats").json()
        assert after["jobs"] == before["jobs"], "counters stay as they were"
        assert 'podium_jobs_total{status="succeeded",type="noop"} 200.0' in (
            cluster.get("/metrics").text
        )


def test_a_wiped_follower_catches_up_from_a_streamed_snapshot(tmp_path: Path) -> None:
    env = {**FAST_FAILURE_DETECTION, "PODIUM_RAFT__SNAPSHOT_EVERY": "200"}
    with LoopbackCluster(tmp_path, masters=3, workers=2, capacity=8, env=env) as cluster:
        cluster.start(timeout=60)
        first: list[str] = []
        for _ in range(20):
            first += cluster.submit_batch([{"type": "noop"} for _ in range(20)])
        assert set(cluster.wait_finished(first, 60).values()) == {"succeeded"}
        leader = cluster.wait_ready(30)
        victim = next(m for m in cluster.masters if m != leader)
        cluster.masters[victim].kill()
        shutil.rmtree(tmp_path / victim)
        # enough entries for the leader to compact well past everything the victim had
        later: list[str] = []
        for _ in range(40):
            later += cluster.submit_batch([{"type": "noop"} for _ in range(10)])
        [waiting] = cluster.submit_batch([{"type": "noop", "delay_s": 600}])
        assert set(cluster.wait_finished(later, 60).values()) == {"succeeded"}
        cluster.masters[victim].start()

        def caught_up() -> bool:
            try:
                ours = cluster.get("/api/v1/cluster", master=victim).json()
            except ConnectionError:
                return False  # still starting
            theirs = cluster.get("/api/v1/cluster", master=leader).json()
            return bool(ours["applied_index"] >= theirs["commit_index"] > 0)

        wait_for(caught_up, 60, f"{victim} catching up", cluster.describe)
        log = cluster.masters[victim].log_path.read_text()
        assert "snapshot installed" in log, "it caught up from the log, not a snapshot"
        assert "snapshot transferred" in cluster.masters[leader].log_path.read_text()
        stale = cluster.get("/api/v1/stats?stale=true", master=victim).json()
        assert stale["jobs"] == cluster.get("/api/v1/stats", master=leader).json()["jobs"]
        for job_id in (first[0], later[-1], waiting):
            mine = cluster.get(f"/api/v1/jobs/{job_id}?stale=true", master=victim).json()
            assert mine == cluster.get(f"/api/v1/jobs/{job_id}", master=leader).json()
        wait_for(
            lambda: (
                metric(cluster, victim, "podium_history_jobs")
                == metric(cluster, leader, "podium_history_jobs")
                == len(first) + len(later)
            ),
            30,
            "the same history on the wiped follower",
            cluster.describe,
        )
        page = cluster.get("/api/v1/jobs?stale=true&limit=1000", master=victim).json()
        assert Counter(j["status"] for j in page["jobs"]) == {
            "succeeded": len(first) + len(later),
            "scheduled": 1,
        }


def test_an_idle_cluster_appends_nothing_to_its_log(tmp_path: Path) -> None:
    with LoopbackCluster(
        tmp_path, masters=3, workers=2, capacity=4, env=FAST_FAILURE_DETECTION
    ) as cluster:
        cluster.start(timeout=60)
        leader = cluster.wait_ready(30)
        time.sleep(1.0)  # registrations settle
        before = cluster.get("/api/v1/cluster", master=leader).json()["commit_index"]
        time.sleep(4.0)  # ~13 heartbeats per worker
        after = cluster.get("/api/v1/cluster", master=leader).json()
        assert after["leader"] == leader and after["commit_index"] == before
        workers = cluster.get("/api/v1/workers").json()["workers"]
        assert {w["state"] for w in workers} == {"available"}
        assert all(w["last_heartbeat"] is not None for w in workers)
