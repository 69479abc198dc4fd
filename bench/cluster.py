"""``python -m bench cluster``: a real loopback cluster, end to end, under load.

Masters and workers are separate processes started as a user starts them
(:mod:`bench.loopback`), with SQLite and fsync. Jobs go in through the HTTP
API in batches from ``concurrency`` submitters, each job with an idempotency
key so a batch caught by a failover can be resent without doubling a job.
The run ends when the cluster's own counts say every job is final.

Latencies are taken from the job records (the leader's clock): submit to
start is ``started_at - created_at`` (the job was assigned), submit to finish
is ``finished_at - created_at`` (its result was committed). ``--rate`` paces
submission (open loop) so latency can be read at a load below saturation.
With ``--failover N`` the leader is SIGKILLed N times during the run (each
victim is restarted before the next kill); each time, a probe submits until a
write is acknowledged again, and at the end every job must be accounted for.
"""

from __future__ import annotations

import math
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import httpx
import trio

from bench.loopback import LoopbackCluster
from runtime.clock import system_wall_clock
from runtime.storage.history import FINAL_STATUSES

TURNAROUND_METRIC = "podium_worker_slot_turnaround_seconds"
# the echo jobs' command: five lines of output, about 200 bytes
ECHO_LINES = 'for i in 1 2 3 4 5; do echo "line $i of a job that says what it does"; done'


@attrs.frozen
class ClusterOptions:
    masters: int = 3
    workers: int = 2
    jobs: int = 10_000
    # noop, sleep, or echo (a shell job printing a few lines)
    job_type: str = "noop"
    sleep_s: float = 0.01
    concurrency: int = 8
    batch: int = 500
    capacity: int = 256
    rate: float | None = None
    failover: int = 0
    single: bool = False
    data: Path | None = None
    timeout_s: float = 300.0


Progress = Callable[[str, int, int], None]


def histogram_buckets(text: str, name: str) -> dict[float, float]:
    """Cumulative counts by upper bound of one Prometheus histogram in a scrape."""
    prefix = f'{name}_bucket{{le="'
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        if line.startswith(prefix):
            bound, _, count = line[len(prefix) :].partition('"} ')
            buckets[float(bound)] = float(count)
    return buckets


def histogram_quantile(buckets: dict[float, float], q: float) -> float:
    """The ``q`` quantile, interpolated linearly within its bucket (as PromQL's
    ``histogram_quantile`` does); NaN with no observations."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] == 0:
        return math.nan
    rank = q * buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = bound, count
    return lower


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": math.nan, "p90": math.nan, "p99": math.nan}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99)}


class ClusterBench:
    def __init__(self, options: ClusterOptions, progress: Progress) -> None:
        self.o = options
        self.progress = progress
        self.run_id = uuid.uuid4().hex[:8]
        self.submitted = 0
        self.ids: list[str] = []
        self.probe_ids: list[str] = []
        self.resume_s: list[float] = []
        self.failovers_done = trio.Event()
        self.cluster: LoopbackCluster | None = None
        self.leader: str | None = None
        # raw figures for --plot
        self.samples: dict[str, list[float]] = {}

    def job(self, n: int) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.o.job_type, "idempotency_key": f"{self.run_id}-{n}"}
        if self.o.job_type == "sleep":
            body["payload"] = {"seconds": self.o.sleep_s}
        elif self.o.job_type == "echo":
            # a shell job printing a few lines: what capturing output costs
            body["type"] = "shell"
            body["payload"] = {"argv": ["/bin/sh", "-c", ECHO_LINES]}
        return body

    # -- the run ---------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        o = self.o
        root = o.data or Path(tempfile.mkdtemp(prefix="podium-bench-"))
        cluster = LoopbackCluster(
            root,
            masters=1 if o.single else o.masters,
            workers=0 if o.single else o.workers,
            capacity=o.capacity,
            single=o.single,
        )
        self.cluster = cluster
        try:
            with cluster:
                self.progress("starting cluster", 0, 1)
                cluster.start(timeout=120)
                self.leader = cluster.leader()
                result = trio.run(self._load)
                result["rss_mib"] = {
                    name: round(kib / 1024, 1) for name, kib in cluster.sample_rss().items()
                }
                cluster.stop()
            return result
        finally:
            if o.data is None:
                shutil.rmtree(root, ignore_errors=True)

    async def _load(self) -> dict[str, Any]:
        o = self.o
        assert self.cluster is not None
        async with httpx.AsyncClient(timeout=30.0) as client:
            cpu_before = self.cluster.cpu_s()
            started = system_wall_clock()
            async with trio.open_nursery() as nursery:
                batches = iter(range(0, o.jobs, o.batch))
                for _ in range(o.concurrency):
                    nursery.start_soon(self._submitter, client, batches, started)
                if o.failover:
                    nursery.start_soon(self._failovers, client)
                else:
                    self.failovers_done.set()
                nursery.start_soon(self._watch, client)
            finished = system_wall_clock()
            cpu_after = self.cluster.cpu_s()
            turnaround = await self._turnaround(client)
            views = await self._collect(client)
        result = self._report(views, started, finished)
        result["turnaround_ms"] = turnaround
        result["cpu_us_per_job"] = {
            name: round(1e6 * (after - before) / o.jobs, 1)
            for name, after in cpu_after.items()
            if after is not None and (before := cpu_before.get(name)) is not None
        }
        return result

    async def _turnaround(self, client: httpx.AsyncClient) -> dict[str, float]:
        """Slot turnaround from every worker's histogram (the dev node is its own)."""
        assert self.cluster is not None
        nodes = self.cluster.masters.values() if self.o.single else self.cluster.workers.values()
        buckets: dict[float, float] = {}
        for node in nodes:
            if node.http is None:
                continue
            text = (await client.get(f"{node.http}/metrics")).text
            for le, count in histogram_buckets(text, TURNAROUND_METRIC).items():
                buckets[le] = buckets.get(le, 0.0) + count
        return {
            "p50": round(histogram_quantile(buckets, 0.5) * 1000, 3),
            "p99": round(histogram_quantile(buckets, 0.99) * 1000, 3),
        }

    def _targets(self) -> list[str]:
        """Live masters' HTTP addresses, the last known leader first (no requests made:
        asking every master who leads on each call would load the cluster being measured)."""
        assert self.cluster is not None
        live = self.cluster.live_masters()
        first = [m.http for m in live if m.name == self.leader]
        return [h for h in [*first, *(m.http for m in live)] if h]

    async def _find_leader(self) -> None:
        assert self.cluster is not None
        self.leader = await trio.to_thread.run_sync(self.cluster.leader) or self.leader

    async def _post(self, client: httpx.AsyncClient, path: str, body: Any) -> httpx.Response:
        """POST to the leader, or on failure to any live master, until it is accepted."""
        deadline = trio.current_time() + self.o.timeout_s
        while True:
            for http in self._targets():
                try:
                    answer = await client.post(f"{http}{path}", json=body)
                except httpx.TransportError:
                    continue
                if answer.status_code < 500:
                    return answer
            if trio.current_time() > deadline:
                raise RuntimeError(f"no master accepted {path} in {self.o.timeout_s} s")
            await self._find_leader()
            await trio.sleep(0.02)

    async def _submitter(self, client: httpx.AsyncClient, batches: Any, started: float) -> None:
        o = self.o
        for first in batches:
            if o.rate:
                # open loop: batch k is due at k * batch / rate seconds into the run
                await trio.sleep(max(0.0, started + first / o.rate - system_wall_clock()))
            jobs = [self.job(n) for n in range(first, min(first + o.batch, o.jobs))]
            answer = await self._post(client, "/api/v1/jobs/batch", {"jobs": jobs})
            answer.raise_for_status()
            self.ids.extend(j["id"] for j in answer.json()["jobs"])
            self.submitted += len(jobs)

    async def _failovers(self, client: httpx.AsyncClient) -> None:
        cluster = self.cluster
        assert cluster is not None
        o = self.o
        for k in range(o.failover):
            # spread the kills over the submission
            while self.submitted < o.jobs * (k + 1) / (o.failover + 1) and self.submitted < o.jobs:
                await trio.sleep(0.01)
            leader = await trio.to_thread.run_sync(cluster.wait_ready, 60.0)
            victim = cluster.masters[leader]
            victim.kill()
            killed = time.monotonic()
            answer = await self._post(
                client, "/api/v1/jobs", {"type": "noop", "idempotency_key": f"probe-{k}"}
            )
            self.resume_s.append(time.monotonic() - killed)
            self.probe_ids.append(answer.json()["id"])
            victim.start()
            self.leader = await trio.to_thread.run_sync(cluster.wait_ready, 60.0)
        self.failovers_done.set()

    async def _watch(self, client: httpx.AsyncClient) -> None:
        o = self.o
        deadline = trio.current_time() + o.timeout_s
        while trio.current_time() < deadline:
            done = 0
            for http in self._targets()[:1]:
                try:
                    stats = (await client.get(f"{http}/api/v1/stats")).json()
                except (httpx.TransportError, ValueError):
                    continue
                done = sum(stats["jobs"].get(s, 0) for s in FINAL_STATUSES)
            self.progress("running jobs", min(done, o.jobs), o.jobs)
            want = o.jobs + len(self.probe_ids)
            if done >= want and self.submitted >= o.jobs and self.failovers_done.is_set():
                return
            await trio.sleep(0.02)
        raise RuntimeError(f"jobs did not finish in {o.timeout_s} s")

    async def _collect(self, client: httpx.AsyncClient) -> list[dict[str, Any]]:
        views: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if cursor:
                params["cursor"] = cursor
            http = self._targets()[0]
            page = (await client.get(f"{http}/api/v1/jobs", params=params)).json()
            views.extend(page["jobs"])
            self.progress("reading job records", len(views), self.o.jobs)
            cursor = page.get("cursor")
            if not cursor:
                return views

    def _report(
        self, views: list[dict[str, Any]], started: float, finished: float
    ) -> dict[str, Any]:
        o = self.o
        by_id = {v["id"]: v for v in views}
        ours = set(self.ids) | set(self.probe_ids)
        lost = sorted(ours - set(by_id))
        not_succeeded = sum(1 for i in ours if i in by_id and by_id[i]["status"] != "succeeded")
        to_start = [v["started_at"] - v["created_at"] for v in views if v["started_at"]]
        to_finish = [v["finished_at"] - v["created_at"] for v in views if v["finished_at"]]
        seconds = finished - started
        result: dict[str, Any] = {
            "name": "cluster",
            "masters": 1 if o.single else o.masters,
            "workers": 0 if o.single else o.workers,
            "single": o.single,
            "type": o.job_type,
            "capacity": o.capacity,
            "concurrency": o.concurrency,
            "batch": o.batch,
            "rate": o.rate,
            "jobs": o.jobs,
            "seconds": round(seconds, 3),
            "jobs_per_s": round(o.jobs / seconds, 1),
            "latency_ms": percentiles(to_finish),
            "start_latency_ms": percentiles(to_start),
            "lost": len(lost),
            "not_succeeded": not_succeeded,
            # job records nobody was given an id for: a resent batch created twice
            "duplicates": len(by_id) - len(ours),
        }
        if o.failover:
            result["failover"] = {
                "kills": len(self.resume_s),
                "resume_s": [round(s, 3) for s in self.resume_s],
                "median_resume_s": round(statistics.median(self.resume_s), 3),
            }
        self.samples = {
            "finished_at_s": sorted(v["finished_at"] - started for v in views if v["finished_at"]),
            "submit_to_start_ms": sorted(1000 * x for x in to_start),
            "submit_to_finish_ms": sorted(1000 * x for x in to_finish),
        }
        return result
