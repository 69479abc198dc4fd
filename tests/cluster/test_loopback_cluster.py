"""Three masters and two workers as separate processes on 127.0.0.1, and kill -9.

These are the failures a user actually meets: a leader machine dies under
load, a worker dies mid-job, the power goes out on every master at once.
The cluster is started exactly as the README says (``python -m
runtime.node`` with flags), with SQLite and fsync, so what passes here is
what a user gets.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.loopback import FAST_FAILURE_DETECTION, LoopbackCluster


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LoopbackCluster]:
    with LoopbackCluster(
        tmp_path, masters=3, workers=2, capacity=4, env=FAST_FAILURE_DETECTION
    ) as c:
        try:
            c.start(timeout=60)
        except Exception:
            print(c.describe())
            raise
        yield c
        print(c.describe())


def write_resumes(cluster: LoopbackCluster, timeout: float = 20.0) -> tuple[float, str]:
    """Seconds until a submit is acknowledged again, and the id of that job."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            answer = cluster.post("/api/v1/jobs", {"type": "noop"})
        except ConnectionError:
            answer = None
        if answer is not None and answer.status_code == 201:
            return time.monotonic() - start, answer.json()["id"]
        time.sleep(0.02)
    raise AssertionError(f"writes did not resume in {timeout} s\n{cluster.describe()}")


def test_leader_killed_mid_load_loses_nothing(cluster: LoopbackCluster) -> None:
    leader = cluster.leader()
    assert leader is not None
    ids: list[str] = []
    for _ in range(6):
        ids += cluster.submit_batch(
            [{"type": "sleep", "payload": {"seconds": 0.02}} for _ in range(50)]
        )
    # reads are linearizable by default: a follower never misses an acknowledged write
    for name in cluster.masters:
        if name != leader:
            assert cluster.get(f"/api/v1/jobs/{ids[-1]}", master=name).status_code == 200
    time.sleep(0.3)
    cluster.masters[leader].kill()
    resumed_after, first_new = write_resumes(cluster)
    ids.append(first_new)
    print(f"writes resumed {resumed_after:.3f} s after the leader was killed")
    assert resumed_after < 5.0
    new_leader = cluster.wait_ready(30)
    assert new_leader != leader
    outcome = cluster.wait_finished(ids, timeout=90)
    assert Counter(outcome.values()) == {"succeeded": len(ids)}, Counter(outcome.values())
    stats = cluster.get("/api/v1/stats").json()
    assert stats["jobs"]["succeeded"] == len(ids)


def test_worker_killed_mid_job_the_job_finishes_elsewhere(cluster: LoopbackCluster) -> None:
    [job_id] = cluster.submit_batch([{"type": "sleep", "payload": {"seconds": 1.5}}])
    deadline = time.monotonic() + 20
    while (job := cluster.get(f"/api/v1/jobs/{job_id}").json())["status"] != "running":
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    victim = job["worker"]
    cluster.workers[victim].kill()
    outcome = cluster.wait_finished([job_id], timeout=60)
    assert outcome == {job_id: "succeeded"}
    job = cluster.get(f"/api/v1/jobs/{job_id}").json()
    assert job["worker"] != victim
    assert job["attempts"] == 2
    stats = cluster.get("/api/v1/stats").json()
    assert stats["retries"].get("lease_expired", 0) >= 1
    workers = {w["id"]: w for w in cluster.get("/api/v1/workers").json()["workers"]}
    assert workers[victim]["state"] == "lost"


def test_every_master_killed_at_once_keeps_every_acknowledged_job(
    cluster: LoopbackCluster,
) -> None:
    done = cluster.submit_batch([{"type": "noop"} for _ in range(50)])
    assert set(cluster.wait_finished(done, 60).values()) == {"succeeded"}
    [delayed] = cluster.submit_batch([{"type": "noop", "delay_s": 3600}])
    assert cluster.post(f"/api/v1/jobs/{delayed}/cancel").json()["status"] == "cancelled"
    failing = {"type": "shell", "payload": {"argv": ["false"]}, "max_retries": 0}
    dead, retried = cluster.submit_batch([failing, failing])
    assert cluster.wait_finished([dead, retried], 60) == {dead: "dead", retried: "dead"}
    assert cluster.post(f"/api/v1/jobs/{retried}/retry").status_code == 200
    assert cluster.wait_finished([retried], 60) == {retried: "dead"}
    # acknowledged, not yet run when the power goes out
    waiting = cluster.submit_batch([{"type": "noop", "delay_s": 4} for _ in range(100)])
    before = {j: cluster.get(f"/api/v1/jobs/{j}").json() for j in [*done, delayed, dead, retried]}

    for master in cluster.masters.values():
        master.kill()
    for master in cluster.masters.values():
        master.start()
    cluster.wait_ready(60)

    for job_id, job in before.items():
        after = cluster.get(f"/api/v1/jobs/{job_id}").json()
        assert (after["status"], after["attempts"]) == (job["status"], job["attempts"]), job_id
    assert cluster.get(f"/api/v1/jobs/{retried}").json()["attempts"] == 2
    outcome = cluster.wait_finished(waiting, timeout=60)
    assert Counter(outcome.values()) == {"succeeded": len(waiting)}
    stats = cluster.get("/api/v1/stats").json()
    assert stats["dead_letter"] == 2 and stats["jobs"]["cancelled"] == 1
