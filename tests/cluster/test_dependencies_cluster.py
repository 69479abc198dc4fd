"""Dependencies on real processes: three masters and a worker, a chain and a fan-in
submitted to a follower, the leader SIGKILLed while children wait; every master then
agrees on each job's status, depends_on and children (from its own SQLite history)."""

from __future__ import annotations

import time
from pathlib import Path

from bench.loopback import FAST_FAILURE_DETECTION, LoopbackCluster


def test_chains_survive_a_leader_kill_and_every_master_shows_the_graph(tmp_path: Path) -> None:
    with LoopbackCluster(
        tmp_path, masters=3, workers=1, capacity=4, env=FAST_FAILURE_DETECTION
    ) as cluster:
        cluster.start(timeout=60)
        leader = cluster.wait_ready(30)
        follower = next(m for m in cluster.masters if m != leader)
        jobs = [
            {"type": "sleep", "payload": {"seconds": 1.5}, "ref": "first"},
            {"type": "sleep", "payload": {"seconds": 0.2}, "ref": "a", "depends_on": ["ref:first"]},
            {"type": "noop", "ref": "b", "depends_on": ["ref:first"]},
            {"type": "noop", "depends_on": ["ref:a", "ref:b"], "idempotency_key": "join"},
        ]
        first, a, b, join = cluster.submit_batch(jobs, master=follower)
        assert cluster.statuses([join]) == {join: "blocked"}
        cluster.masters[leader].kill()
        statuses = cluster.wait_finished([first, a, b, join], 60)
        assert set(statuses.values()) == {"succeeded"}, (statuses, cluster.describe())
        expected = {
            first: ([], [a, b]),
            a: ([first], [join]),
            b: ([first], [join]),
            join: ([a, b], []),
        }
        deadline = time.monotonic() + 10
        for name, node in cluster.masters.items():
            if not node.alive:
                continue
            for job_id, (parents, children) in expected.items():
                while True:
                    job = cluster.get(f"/api/v1/jobs/{job_id}?stale=true", master=name).json()
                    if job.get("status") == "succeeded" or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                assert (job["depends_on"], job["children"]) == (parents, children), (name, job)
        started = {j: cluster.get(f"/api/v1/jobs/{j}").json() for j in (first, a, b, join)}
        assert started[first]["finished_at"] <= started[a]["started_at"]
        assert (
            max(started[a]["finished_at"], started[b]["finished_at"]) <= started[join]["started_at"]
        )
