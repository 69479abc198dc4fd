"""The leader frozen with SIGSTOP for 5 s under load, then resumed: no attempt runs twice.

Issue 13's failure: a leader paused right after proposing an assignment
wakes up deposed, and its callback for that assignment (committed meanwhile
by its successor) sends the worker an ``AssignJobs`` on its stale view. The
workers' fence (terms, and the attempts they ran) must refuse it. A handler
logs every start of every attempt to a file; the test reads it back.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.loopback import FAST_FAILURE_DETECTION, LoopbackCluster

PAUSE_S = 5.0


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LoopbackCluster]:
    handlers = ("--handlers", "tests.cluster.exec_log_handlers")
    with LoopbackCluster(
        tmp_path, masters=3, workers=2, capacity=4, env=FAST_FAILURE_DETECTION, worker_args=handlers
    ) as c:
        try:
            c.start(timeout=60)
        except Exception:
            print(c.describe())
            raise
        yield c
        print(c.describe())


class Load:
    """Submits small batches to the masters other than ``avoid``, from a thread, and
    keeps the ids that were acknowledged."""

    def __init__(self, cluster: LoopbackCluster, avoid: str, log: Path) -> None:
        self.urls = [m.http for name, m in sorted(cluster.masters.items()) if name != avoid]
        self.log = log
        self.acked: list[str] = []
        self.failed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        job = {"type": "once.log", "payload": {"path": str(self.log), "seconds": 0.05}}
        with httpx.Client(timeout=10.0) as client:
            turn = 0
            while not self.stop.is_set():
                url = self.urls[turn % len(self.urls)]
                turn += 1
                try:
                    answer = client.post(f"{url}/api/v1/jobs/batch", json={"jobs": [job] * 8})
                except httpx.HTTPError:
                    self.failed += 1
                    continue
                if answer.status_code == 201:
                    self.acked += [j["id"] for j in answer.json()["jobs"]]
                else:
                    self.failed += 1
                time.sleep(0.05)

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)


def first_write_within(cluster: LoopbackCluster, avoid: str, log: Path, within: float) -> float:
    """Seconds until a submit through a master other than ``avoid`` is acknowledged,
    each try given a second (a request held by a forwarding master is not waited on);
    ``inf`` if none was within ``within``."""
    start = time.monotonic()
    job = {"type": "once.log", "payload": {"path": str(log), "seconds": 0.0}}
    urls = [m.http for name, m in sorted(cluster.masters.items()) if name != avoid]
    with httpx.Client(timeout=1.0) as client:
        turn = 0
        while (elapsed := time.monotonic() - start) < within:
            url = urls[turn % len(urls)]
            turn += 1
            try:
                if client.post(f"{url}/api/v1/jobs", json=job).status_code == 201:
                    return elapsed
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
    return float("inf")


def test_leader_paused_five_seconds_under_load_runs_no_attempt_twice(
    cluster: LoopbackCluster, tmp_path: Path
) -> None:
    log = tmp_path / "executions.log"
    leader = cluster.leader()
    assert leader is not None
    frozen = cluster.masters[leader].proc
    assert frozen is not None
    with Load(cluster, leader, log) as load:
        time.sleep(1.0)
        frozen.send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            resumed_after = first_write_within(cluster, leader, log, PAUSE_S)
            time.sleep(max(0.0, stopped + PAUSE_S - time.monotonic()))
        finally:
            frozen.send_signal(signal.SIGCONT)
        time.sleep(1.5)
    print(f"writes through the other masters resumed {resumed_after:.3f} s into the pause")
    # a new leader takes writes, and the other masters route to it, within 2 s
    assert resumed_after < 2.0, resumed_after
    print(f"{len(load.acked)} jobs acknowledged, {load.failed} submits failed")
    assert len(load.acked) > 100, "too little load to prove anything"

    outcome = cluster.wait_finished(load.acked, timeout=60)
    assert Counter(outcome.values()) == {"succeeded": len(load.acked)}
    # every job, acknowledged or not, has finished once the queue is empty
    deadline = time.monotonic() + 30
    while (stats := cluster.get("/api/v1/stats").json())["live_jobs"]:
        assert time.monotonic() < deadline, stats
        time.sleep(0.1)

    lines = [line.split() for line in log.read_text().splitlines()]
    starts = Counter((job_id, int(attempt)) for job_id, attempt, _ in lines)
    twice = {key: n for key, n in starts.items() if n > 1}
    print(f"{sum(starts.values())} executions of {len(starts)} attempts; run twice: {twice}")
    assert not twice
    # nor does a stale attempt start after its job's next attempt did (the deposed
    # leader's assignment of an attempt its successor had already expired)
    latest: dict[str, int] = {}
    stale = []
    for job_id, attempt in ((j, int(a)) for j, a, _ in lines):
        if attempt < latest.get(job_id, 0):
            stale.append((job_id, attempt))
        latest[job_id] = max(attempt, latest.get(job_id, 0))
    retried = sum(1 for n in latest.values() if n > 1)
    print(f"{retried} jobs ran more than one attempt; stale attempts started: {stale}")
    assert not stale
    jobs_run = {job_id for job_id, _ in starts}
    assert set(load.acked) <= jobs_run
    # each job finished exactly once: the final counts match the jobs that ran
    assert stats["jobs"]["succeeded"] == len(jobs_run)
