"""Clients that ride through a failover: three masters and a worker as real processes on
127.0.0.1, a client submitting in a loop, and the leader SIGKILLed or SIGSTOPped under it.

The caller must see no error at all (the client tries the other masters until its
retry deadline) and every submit must map to exactly one job (the client gives every job
an idempotency key, so a submit sent twice across the failover is made once). The
servers' own failover speed is not under test here: whatever stall it has, the client
waits it out within ``retry_deadline_s``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.loopback import FAST_FAILURE_DETECTION, LoopbackCluster
from client import Client

REPO = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    root = tmp_path_factory.mktemp("client-failover")
    with LoopbackCluster(root, masters=3, workers=1, capacity=4, env=FAST_FAILURE_DETECTION) as c:
        c.start(timeout=60)
        yield c
        print(c.describe())


@pytest.fixture(autouse=True)
def whole_cluster(cluster: LoopbackCluster) -> Iterator[None]:
    """Each test starts with every master up, and gives back a whole cluster."""
    cluster.wait_ready(60)
    yield
    for master in cluster.masters.values():
        if master.proc is not None and master.proc.poll() is None:
            master.proc.send_signal(signal.SIGCONT)
        if not master.alive:
            master.start()
    cluster.wait_ready(60)


def urls_leader_first(cluster: LoopbackCluster) -> tuple[str, str]:
    """The leader, and every master's HTTP address with the leader's first, so the client
    meets the failure head on."""
    leader = cluster.leader()
    assert leader is not None
    order = [leader, *(m for m in cluster.masters if m != leader)]
    return leader, ",".join(str(cluster.masters[m].http) for m in order)


def submit_through(
    client: Client, tag: str, fault: Callable[[], None], after_s: float, total_s: float
) -> tuple[list[str], list[float]]:
    """Submit in a loop for ``total_s`` while ``fault`` strikes at ``after_s``; returns the
    ids in submit order and each submit's latency. Any error fails the test."""
    striker = threading.Timer(after_s, fault)
    striker.start()
    ids: list[str] = []
    latencies: list[float] = []
    start = time.monotonic()
    try:
        while time.monotonic() - start < total_s:
            sent = time.monotonic()
            ids.append(client.submit("noop", {"test": tag, "n": len(ids)})["id"])
            latencies.append(time.monotonic() - sent)
    finally:
        striker.join()
    return ids, latencies


def assert_one_job_per_submit(client: Client, tag: str, ids: list[str]) -> None:
    """Every submit made one job and no more, and every one of them ran."""
    final = client.wait(ids, timeout=120)
    assert Counter(job["status"] for job in final.values()) == {"succeeded": len(ids)}
    made = [j for j in client.iter_jobs(type="noop") if (j["payload"] or {}).get("test") == tag]
    assert sorted(j["payload"]["n"] for j in made) == list(range(len(ids)))
    assert {j["id"] for j in made} == set(ids)


def test_submits_in_a_loop_see_no_error_while_the_leader_is_killed(
    cluster: LoopbackCluster,
) -> None:
    leader, urls = urls_leader_first(cluster)
    with Client(urls) as client:
        ids, latencies = submit_through(
            client, "kill-http", cluster.masters[leader].kill, after_s=1.0, total_s=6.0
        )
        assert not cluster.masters[leader].alive
        assert_one_job_per_submit(client, "kill-http", ids)
    print(f"http: {len(ids)} submits, slowest {max(latencies):.2f} s across the leader's kill")


def test_native_submits_see_no_error_while_the_leader_is_killed(
    cluster: LoopbackCluster,
) -> None:
    leader = cluster.leader()
    assert leader is not None
    ports = {name: port for name, port in zip(cluster.masters, cluster.raft_ports, strict=True)}
    order = [leader, *(m for m in cluster.masters if m != leader)]
    url = "podium://" + ",".join(f"127.0.0.1:{ports[m]}" for m in order)
    with Client(url) as client:
        ids, latencies = submit_through(
            client, "kill-native", cluster.masters[leader].kill, after_s=1.0, total_s=6.0
        )
        assert not cluster.masters[leader].alive
        assert_one_job_per_submit(client, "kill-native", ids)
    print(f"native: {len(ids)} submits, slowest {max(latencies):.2f} s across the kill")


def test_submits_see_no_error_while_the_leader_is_frozen(cluster: LoopbackCluster) -> None:
    leader, urls = urls_leader_first(cluster)
    proc = cluster.masters[leader].proc
    assert proc is not None

    def freeze_for_a_while() -> None:
        proc.send_signal(signal.SIGSTOP)
        time.sleep(6.0)
        proc.send_signal(signal.SIGCONT)

    with Client(urls) as client:
        ids, latencies = submit_through(
            client, "freeze-http", freeze_for_a_while, after_s=1.0, total_s=9.0
        )
        assert_one_job_per_submit(client, "freeze-http", ids)
    print(f"frozen: {len(ids)} submits, slowest {max(latencies):.2f} s across a 6 s SIGSTOP")


def test_podium_submit_wait_as_typed_sees_no_error_while_the_leader_is_killed(
    cluster: LoopbackCluster,
) -> None:
    leader, urls = urls_leader_first(cluster)
    # the installed `podium` script, running this checkout's code
    env = {**os.environ, "PODIUM_URL": urls, "PYTHONPATH": str(REPO)}
    script = Path(sys.executable).parent / "podium"
    striker = threading.Timer(1.5, cluster.masters[leader].kill)
    striker.start()
    outputs = []
    start = time.monotonic()
    try:
        while time.monotonic() - start < 8.0:
            done = subprocess.run(
                [str(script), "submit", "noop", "--payload", '{"test": "cli"}', "--wait"],
                capture_output=True,
                text=True,
                timeout=90,
                env=env,
            )
            assert done.returncode == 0, done.stderr
            assert done.stderr == "", done.stderr
            outputs.append(done.stdout)
    finally:
        striker.join()
    assert not cluster.masters[leader].alive
    assert len(outputs) >= 3 and all("succeeded" in out for out in outputs)
    with Client(urls) as client:
        made = [
            j for j in client.iter_jobs(type="noop") if (j["payload"] or {}).get("test") == "cli"
        ]
    assert len(made) == len(outputs)
    assert {j["status"] for j in made} == {"succeeded"}
