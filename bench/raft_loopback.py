"""Committed proposals per second on a real 3-master loopback cluster (SqliteStorage, fsync).

Three ``python -m runtime.node --role master`` processes; a client in this
process joins the cluster transport and keeps ``concurrency`` one-job
submits in flight at the leader's master actor. Each submit is one Raft
proposal, answered only once it is fsynced on a majority and applied, so the
rate is what group commit and pipelined replication achieve under
concurrency, without HTTP in the way.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from pathlib import Path

import trio

from bench.harness import BenchResult
from bench.loopback import LoopbackCluster
from runtime.system import ActorSystem
from transport.cluster import JobSpec, SubmitJobs, Submitted
from transport.tcp import TcpTransport

SPEC = JobSpec("noop", b"\x80", 5, 0, None, None, None)


async def _drive(
    peers: dict[str, tuple[str, int]], leader: str, total: int, concurrency: int
) -> float:
    transport = TcpTransport("bench-client", listen=None, peers=peers, rng=random.Random(1))
    system = ActorSystem("bench-client", transport, random.Random(2))
    master = system.ref(leader, "master")
    msg = SubmitJobs((SPEC,))
    left = [total]

    async def proposer() -> None:
        while left[0] > 0:
            left[0] -= 1
            answer = await master.ask(msg, 30.0)
            assert isinstance(answer, Submitted), answer

    async with trio.open_nursery() as nursery:
        await nursery.start(system.serve)
        await master.ask(msg, 30.0)  # connected and warm
        start = time.perf_counter()
        async with trio.open_nursery() as workers:
            for _ in range(concurrency):
                workers.start_soon(proposer)
        elapsed = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    return elapsed


def measure(*, proposals: int = 20_000, concurrency: int = 256) -> BenchResult:
    root = Path(tempfile.mkdtemp(prefix="podium-raft-"))
    try:
        with LoopbackCluster(root, masters=3, workers=0) as cluster:
            cluster.start(timeout=120)
            leader = cluster.wait_ready(60, workers=0)
            peers = {
                name: ("127.0.0.1", port)
                for name, port in zip(cluster.masters, cluster.raft_ports, strict=True)
            }
            elapsed = trio.run(_drive, peers, leader, proposals, concurrency)
            cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return BenchResult(f"raft.loopback.commit@c{concurrency}", elapsed * 1e9 / proposals)
