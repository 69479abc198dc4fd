"""A rolling restart of every worker (SIGTERM, then start again) under load, with jobs
that may not be retried: a draining worker finishes what it runs, hands back what it
had queued, and the leader stops assigning to it, so no job loses its one attempt."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

from bench.loopback import FAST_FAILURE_DETECTION, LoopbackCluster


def worker_states(cluster: LoopbackCluster) -> dict[str, str]:
    leader = cluster.leader()
    if leader is None:
        return {}
    workers = cluster.get("/api/v1/workers", master=leader).json()["workers"]
    return {w["id"]: w["state"] for w in workers}


def test_rolling_restart_of_both_workers_spends_no_attempt(tmp_path: Path) -> None:
    with LoopbackCluster(
        tmp_path, masters=3, workers=2, capacity=4, env=FAST_FAILURE_DETECTION
    ) as cluster:
        cluster.start(timeout=60)
        jobs = [{"type": "sleep", "payload": {"seconds": 0.2}, "max_retries": 0}] * 120
        ids = cluster.submit_batch(jobs)
        seen_draining: set[str] = set()
        for name, worker in cluster.workers.items():
            time.sleep(0.5)  # both workers busy, with queues
            assert worker.proc is not None
            worker.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            while worker.alive and time.monotonic() < deadline:
                if worker_states(cluster).get(name) == "draining":
                    seen_draining.add(name)
                time.sleep(0.02)
            assert not worker.alive, f"{name} did not drain in time\n{cluster.describe()}"
            assert worker.proc.returncode == 0, worker.log_tail()
            worker.start()
            cluster.wait_ready(30)
        outcome = cluster.wait_finished(ids, timeout=90)
        assert Counter(outcome.values()) == {"succeeded": len(ids)}, Counter(outcome.values())
        assert seen_draining == set(cluster.workers), "podium workers shows the drain"
