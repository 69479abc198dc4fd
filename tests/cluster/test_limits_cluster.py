"""A limit and a pause on three master processes, through a SIGKILLed leader.

Set through a follower, they are in the replicated table: the new leader
keeps the paused type paused, and the limited type's starts stay within
``rate * window + burst`` across the failover (measured on the jobs' own
``started_at``, the log time of each assignment).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from bench.limits import bound_held
from bench.loopback import FAST_FAILURE_DETECTION, LoopbackCluster

RATE, BURST, JOBS = 10.0, 5.0, 60


def test_a_limit_and_a_pause_hold_through_a_leader_kill(tmp_path: Path) -> None:
    with LoopbackCluster(
        tmp_path, masters=3, workers=1, capacity=8, env=FAST_FAILURE_DETECTION
    ) as cluster:
        cluster.start(timeout=60)
        leader = cluster.leader()
        assert leader is not None
        follower = next(name for name in cluster.masters if name != leader)
        limit = {"rate_per_s": RATE, "burst": BURST, "max_running": 4}
        put = cluster.request("PUT", "/api/v1/limits/sleep", master=follower, json=limit)
        assert put.status_code == 200, put.text
        assert cluster.post("/api/v1/types/noop/pause", master=follower).status_code == 200
        held = cluster.submit_batch([{"type": "noop"} for _ in range(3)])
        limited = cluster.submit_batch(
            [{"type": "sleep", "payload": {"seconds": 0.05}} for _ in range(JOBS)]
        )
        time.sleep(2.0)  # about a third of them have started
        cluster.masters[leader].kill()
        new_leader = cluster.wait_ready(30)
        assert new_leader != leader
        outcome = cluster.wait_finished(limited, timeout=90)
        assert Counter(outcome.values()) == {"succeeded": JOBS}
        for name in cluster.masters:
            if name == leader:
                continue
            listed = {
                t["type"]: t for t in cluster.get("/api/v1/limits", master=name).json()["limits"]
            }
            assert listed["sleep"]["max_running"] == 4 and listed["noop"]["paused"] is True
        assert set(cluster.statuses(held).values()) == {"pending"}, "the pause held"
        assert cluster.post("/api/v1/types/noop/resume").status_code == 200
        assert set(cluster.wait_finished(held, timeout=30).values()) == {"succeeded"}
        starts = sorted(cluster.get(f"/api/v1/jobs/{j}").json()["started_at"] for j in limited)
        assert bound_held(starts, RATE, BURST), starts
