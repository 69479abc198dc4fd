"""``python -m bench soak``: millions of jobs through a real loopback cluster, watching for decay.

``bench cluster`` measures throughput and latency over a short burst; this one
asks whether the cluster stays healthy as the history grows into the millions
(DESIGN.md: "memory, snapshot time and per-job cost follow live work, never
the number of jobs ever run"). The cluster is started exactly as ``bench
cluster`` starts it (:mod:`bench.loopback`); no-op jobs go in through
``POST /api/v1/jobs/batch`` at full speed, with the backlog (jobs sent but not
yet final) held under ``max_backlog`` so that what grows is the history, not
the live set. Meanwhile it watches for the signs of decay:

- every API request that ended in a transport error or a 5xx
  (``failed_requests``), and the slowest successful submit (``max_request_ms``);
- ``GET /health`` on every master every 0.1 s (``max_health_ms``): a stalled
  event loop (a snapshot, a history write, a GC pause) shows up here first;
- the (leader, term) pair every second (``leader_changes``): a stall long
  enough to miss heartbeats costs an election;
- each process's current RSS when ``sample_at`` jobs have finished and at the
  end (``rss_mib``): growth between the two is memory that follows history;
- at the end, the masters' snapshot and history gauges from ``/metrics``,
  and the time of a few list queries over the full history (``list_ms``);
- with ``restart_check``, how long a SIGKILLed follower takes to be ready again.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import trio

from bench.loopback import LoopbackCluster, NodeProcess
from runtime.storage.history import FINAL_STATUSES

__all__ = ["SoakBench", "SoakOptions", "parse_metrics", "problems"]

STATS_EVERY_S = 0.2
HEALTH_EVERY_S = 0.1
# a probe slower than this has found a stall already; waiting longer adds nothing
HEALTH_TIMEOUT_S = 5.0
CLUSTER_EVERY_S = 1.0
# requests after the load (list queries, the restart check) get this long to be answered
END_PATIENCE_S = 120.0
# how long the end waits for the histories to stop moving before reading them
SETTLE_S = 5.0
# the healthy-run bound on one submit request (exit code 1 above it)
MAX_REQUEST_MS = 1000.0


@attrs.frozen
class SoakOptions:
    masters: int = 3
    workers: int = 2
    jobs: int = 2_000_000
    batch: int = 500
    concurrency: int = 8
    capacity: int = 256
    max_backlog: int = 20_000
    # None: 200,000 finished jobs, or a tenth of the run if that is fewer
    sample_at: int | None = None
    restart_check: bool = False
    data: Path | None = None
    timeout_s: float = 3600.0

    @property
    def sample_point(self) -> int:
        """Finished jobs at which the first RSS sample is taken: late enough that start-up
        allocations are over, early enough that the growth after it is measured."""
        if self.sample_at is not None:
            return min(self.sample_at, self.jobs)
        return max(1, min(200_000, self.jobs // 10))


Progress = Callable[[str, int, int], None]


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text format as ``{"name" or "name{labels}": value}`` (comments skipped)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        values[name] = float(value)
    return values


def rss_mib(node: NodeProcess) -> float | None:
    """The process's current resident set (VmRSS), not its peak: growth is the question."""
    if not node.alive:
        return None
    assert node.proc is not None
    try:
        status = Path(f"/proc/{node.proc.pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def problems(result: dict[str, Any]) -> list[str]:
    """Why a run was not healthy (empty when it was): the exit code's reasons."""
    found = []
    if result["finished"] < result["jobs"]:
        found.append(
            f"only {result['finished']:,} of {result['jobs']:,} jobs finished "
            f"in {result['timeout_s']:.0f} s"
        )
    if result["leader_changes"]:
        found.append(f"leadership changed {result['leader_changes']} time(s)")
    if result["failed_requests"]:
        found.append(f"{result['failed_requests']} request(s) failed (transport error or 5xx)")
    if result["failed_health"]:
        found.append(f"/health failed or timed out {result['failed_health']} time(s)")
    if result["max_request_ms"] >= MAX_REQUEST_MS:
        found.append(
            f"the slowest submit took {result['max_request_ms']:,.0f} ms "
            f"(the bound is {MAX_REQUEST_MS:,.0f} ms)"
        )
    for name, status in result["list_failed"].items():
        found.append(f"list query {name} answered {status}")
    if "restart_ready_s" in result and result["restart_ready_s"] is None:
        found.append("the restarted follower did not become ready")
    return found


class SoakBench:
    def __init__(self, options: SoakOptions, progress: Progress) -> None:
        self.o = options
        self.progress = progress
        self.run_id = uuid.uuid4().hex[:8]
        self.cluster: LoopbackCluster | None = None
        self.leader: str | None = None
        self._leader_lock = trio.Lock()
        # jobs handed to a request (counted before it is sent, so the backlog bound holds
        # with every submitter in flight), and jobs the cluster counts as final
        self.sent = 0
        self.finished = 0
        self._progressed = trio.Event()
        self.failed_requests = 0
        self.max_request_s = 0.0
        self.failed_health = 0
        self.max_health_s = 0.0
        self.observed: tuple[str | None, int] | None = None
        self.leader_changes = 0
        self.rss_at_sample: dict[str, float | None] = {}
        self.rss_end: dict[str, float | None] = {}
        # the first job submitted, and the one at the middle of the run
        self.first_id: str | None = None
        self.middle_id: str | None = None

    # -- the run ---------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        o = self.o
        root = o.data or Path(tempfile.mkdtemp(prefix="podium-soak-"))
        cluster = LoopbackCluster(root, masters=o.masters, workers=o.workers, capacity=o.capacity)
        self.cluster = cluster
        try:
            with cluster:
                self.progress("starting cluster", 0, 1)
                cluster.start(timeout=120)
                self.leader = cluster.leader()
                result = trio.run(self._soak)
                cluster.stop()
            return result
        finally:
            if o.data is None:
                shutil.rmtree(root, ignore_errors=True)

    async def _soak(self) -> dict[str, Any]:
        o = self.o
        async with (
            httpx.AsyncClient(timeout=30.0) as client,
            # its own pool, so a probe never queues behind a submit for a connection
            httpx.AsyncClient(timeout=HEALTH_TIMEOUT_S) as probes,
        ):
            started = trio.current_time()
            with trio.move_on_after(o.timeout_s):
                async with trio.open_nursery() as watchers:
                    assert self.cluster is not None
                    for master in self.cluster.masters.values():
                        watchers.start_soon(self._probe, probes, master)
                    watchers.start_soon(self._watch_leader, client)
                    async with trio.open_nursery() as load:
                        batches = iter(range(0, o.jobs, o.batch))
                        for _ in range(o.concurrency):
                            load.start_soon(self._submitter, client, batches)
                        load.start_soon(self._watch_progress, client)
                    watchers.cancel_scope.cancel()
            seconds = trio.current_time() - started
            self.rss_end = await trio.to_thread.run_sync(self._sample_rss)
            gauges = await self._settled_metrics(client)
            list_ms: dict[str, float] = {}
            list_failed: dict[str, int] = {}
            if self.finished >= o.jobs:
                self.progress("timing list queries", 0, 1)
                await self._time_lists(client, list_ms, list_failed)
            result = self._report(seconds, gauges, list_ms, list_failed)
            if o.restart_check and self.finished >= o.jobs:
                self.progress("restarting a follower", 0, 1)
                result["restart_ready_s"] = await self._restart_follower(client)
        return result

    # -- following the leader ---------------------------------------------------------

    def _targets(self) -> list[str]:
        """Live masters' HTTP addresses, the last known leader first (no requests made)."""
        assert self.cluster is not None
        live = self.cluster.live_masters()
        first = [m.http for m in live if m.name == self.leader]
        return [h for h in [*first, *(m.http for m in live)] if h]

    async def _find_leader(self) -> None:
        """Ask the cluster who leads; one question at a time, however many tasks want it."""
        assert self.cluster is not None
        async with self._leader_lock:
            self.leader = await trio.to_thread.run_sync(self.cluster.leader) or self.leader

    async def _request(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        *,
        patience: float,
        **kwargs: Any,
    ) -> tuple[httpx.Response, float]:
        """Send to the leader, or on failure to any live master, until one answers below 500.

        Returns the answer and how long that one request took. Every attempt that ends
        in a transport error or a 5xx is counted as failed, even when another master
        then answers: a healthy cluster never makes a client retry.
        """
        deadline = trio.current_time() + patience
        while True:
            for http in self._targets():
                sent = time.perf_counter()
                try:
                    answer = await client.request(method, f"{http}{path}", **kwargs)
                except httpx.TransportError:
                    self.failed_requests += 1
                    continue
                if answer.status_code < 500:
                    return answer, time.perf_counter() - sent
                self.failed_requests += 1
            if trio.current_time() > deadline:
                raise RuntimeError(f"no master answered {method} {path} in {patience} s")
            await self._find_leader()
            await trio.sleep(0.02)

    # -- load and watchers ------------------------------------------------------------

    async def _submitter(self, client: httpx.AsyncClient, batches: Iterator[int]) -> None:
        o = self.o
        middle = o.jobs // 2
        for first in batches:
            count = min(o.batch, o.jobs - first)
            while self.sent - self.finished > o.max_backlog:
                await self._progressed.wait()
            self.sent += count
            jobs = [
                {"type": "noop", "idempotency_key": f"{self.run_id}-{n}"}
                for n in range(first, first + count)
            ]
            answer, took = await self._request(
                client, "POST", "/api/v1/jobs/batch", json={"jobs": jobs}, patience=o.timeout_s
            )
            answer.raise_for_status()
            self.max_request_s = max(self.max_request_s, took)
            ids = answer.json()["jobs"]
            if first == 0:
                self.first_id = ids[0]["id"]
            if first <= middle < first + count:
                self.middle_id = ids[middle - first]["id"]

    async def _watch_progress(self, client: httpx.AsyncClient) -> None:
        """Poll the leader's counts: they release waiting submitters and end the load."""
        o = self.o
        sampled = False
        while True:
            answer, _ = await self._request(client, "GET", "/api/v1/stats", patience=o.timeout_s)
            answer.raise_for_status()
            jobs = answer.json()["jobs"]
            self.finished = sum(jobs.get(s, 0) for s in FINAL_STATUSES)
            self._progressed.set()
            self._progressed = trio.Event()
            backlog = max(0, self.sent - self.finished)
            self.progress(f"soak: backlog {backlog:,}", min(self.finished, o.jobs), o.jobs)
            if not sampled and self.finished >= o.sample_point:
                self.rss_at_sample = await trio.to_thread.run_sync(self._sample_rss)
                sampled = True
            if self.finished >= o.jobs:
                return
            await trio.sleep(STATS_EVERY_S)

    async def _probe(self, client: httpx.AsyncClient, master: NodeProcess) -> None:
        """``GET /health`` does no work, so its latency is the time the node's event loop
        (or the machine) took to get to it."""
        due = trio.current_time()
        while True:
            if master.alive:
                sent = time.perf_counter()
                try:
                    answer = await client.get(f"{master.http}/health")
                    if answer.status_code != 200:
                        self.failed_health += 1
                except httpx.TransportError:
                    self.failed_health += 1
                self.max_health_s = max(self.max_health_s, time.perf_counter() - sent)
            due = max(due + HEALTH_EVERY_S, trio.current_time())
            await trio.sleep_until(due)

    async def _watch_leader(self, client: httpx.AsyncClient) -> None:
        """Count changes of (leader, term) after the first look; follow a new leader."""
        while True:
            answer, _ = await self._request(
                client, "GET", "/api/v1/cluster", patience=self.o.timeout_s
            )
            answer.raise_for_status()
            info = answer.json()
            seen = (info["leader"], int(info["term"]))
            if self.observed is not None and seen != self.observed:
                self.leader_changes += 1
            self.observed = seen
            if info["leader"] is not None:
                self.leader = info["leader"]
            await trio.sleep(CLUSTER_EVERY_S)

    def _sample_rss(self) -> dict[str, float | None]:
        assert self.cluster is not None
        return {node.name: rss_mib(node) for node in self.cluster.nodes}

    # -- after the load ---------------------------------------------------------------

    async def _settled_metrics(self, client: httpx.AsyncClient) -> dict[str, dict[str, float]]:
        """The gauges once the masters' histories stopped moving: the last jobs' records
        are written a few milliseconds after they were counted as finished."""
        gauges = await self._read_metrics(client)
        with trio.move_on_after(SETTLE_S):
            while True:
                await trio.sleep(0.1)
                again = await self._read_metrics(client)
                if _history_rows(again) == _history_rows(gauges):
                    break
                gauges = again
        return gauges

    async def _read_metrics(self, client: httpx.AsyncClient) -> dict[str, dict[str, float]]:
        """Each live master's gauges, straight from it (not the leader's view of them)."""
        assert self.cluster is not None
        gauges: dict[str, dict[str, float]] = {}
        for master in self.cluster.live_masters():
            try:
                answer = await client.get(f"{master.http}/metrics")
            except httpx.TransportError:
                self.failed_requests += 1
                continue
            if answer.status_code >= 500:
                self.failed_requests += 1
                continue
            gauges[master.name] = parse_metrics(answer.text)
        return gauges

    async def _time_lists(
        self, client: httpx.AsyncClient, list_ms: dict[str, float], list_failed: dict[str, int]
    ) -> None:
        """Best of 3 for each read a user makes, with the whole run in the history."""
        assert self.first_id is not None and self.middle_id is not None
        middle, _ = await self._request(
            client, "GET", f"/api/v1/jobs/{self.middle_id}", patience=END_PATIENCE_S
        )
        middle.raise_for_status()
        listing = "/api/v1/jobs"
        cursor: str | None = None
        for _ in range(10):
            params: dict[str, Any] = {"limit": 100}
            if cursor is not None:
                params["cursor"] = cursor
            page, _ = await self._request(
                client, "GET", listing, params=params, patience=END_PATIENCE_S
            )
            page.raise_for_status()
            cursor = page.json().get("cursor")
        queries: dict[str, tuple[str, dict[str, Any]]] = {
            "newest": (listing, {"limit": 100}),
            "status_dead": (listing, {"status": "dead", "limit": 100}),
            "type_nosuch": (listing, {"type": "nosuch", "limit": 100}),
            "succeeded_noop": (listing, {"status": "succeeded", "type": "noop", "limit": 100}),
            "oldest": (listing, {"order": "asc", "limit": 100}),
            # ascending, so the page starts at the middle of the history rather than the top
            "since_middle": (
                listing,
                {"since": middle.json()["created_at"], "order": "asc", "limit": 100},
            ),
            "after_10_cursors": (listing, {"limit": 100, "cursor": cursor}),
            "get_first_job": (f"{listing}/{self.first_id}", {}),
        }
        for name, (path, params) in queries.items():
            best = float("inf")
            for _ in range(3):
                answer, took = await self._request(
                    client, "GET", path, params=params, patience=END_PATIENCE_S
                )
                if answer.status_code != 200:
                    list_failed[name] = answer.status_code
                    break
                best = min(best, took)
            else:
                list_ms[name] = round(best * 1000, 2)

    async def _restart_follower(self, client: httpx.AsyncClient) -> float | None:
        """SIGKILL a follower, start it again, and time it to ``/ready``: replaying its
        log and catching up must not grow with the history."""
        cluster = self.cluster
        assert cluster is not None
        victim = next(m for m in cluster.live_masters() if m.name != self.leader)
        await trio.to_thread.run_sync(victim.kill)
        victim.start()
        started = trio.current_time()
        with trio.move_on_after(END_PATIENCE_S):
            while True:
                try:
                    answer = await client.get(f"{victim.http}/ready", timeout=2.0)
                    if answer.status_code == 200:
                        return round(trio.current_time() - started, 3)
                except httpx.TransportError:
                    pass
                await trio.sleep(0.1)
        return None

    def _report(
        self,
        seconds: float,
        gauges: dict[str, dict[str, float]],
        list_ms: dict[str, float],
        list_failed: dict[str, int],
    ) -> dict[str, Any]:
        o = self.o
        rss: dict[str, dict[str, float | None]] = {}
        for name, end in self.rss_end.items():
            at = self.rss_at_sample.get(name)
            growth = None if at is None or end is None else round((end - at) / at * 100, 1)
            rss[name] = {"at_sample": at, "end": end, "growth_pct": growth}

        def gauge_max_ms(name: str) -> float:
            return round(max((g.get(name, 0.0) for g in gauges.values()), default=0.0) * 1000, 2)

        return {
            "name": "soak",
            "masters": o.masters,
            "workers": o.workers,
            "capacity": o.capacity,
            "concurrency": o.concurrency,
            "batch": o.batch,
            "max_backlog": o.max_backlog,
            "sample_at": o.sample_point,
            "restart_check": o.restart_check,
            "timeout_s": o.timeout_s,
            "jobs": o.jobs,
            "finished": self.finished,
            "seconds": round(seconds, 3),
            "jobs_per_s": round(min(self.finished, o.jobs) / seconds, 1),
            "leader_changes": self.leader_changes,
            "failed_requests": self.failed_requests,
            "max_request_ms": round(self.max_request_s * 1000, 2),
            "max_health_ms": round(self.max_health_s * 1000, 2),
            "failed_health": self.failed_health,
            "rss_mib": rss,
            "snapshot_ms_max": gauge_max_ms("podium_raft_snapshot_max_seconds"),
            "snapshot_step_ms_max": gauge_max_ms("podium_raft_snapshot_step_seconds"),
            "history_jobs": {m: int(g.get("podium_history_jobs", 0)) for m, g in gauges.items()},
            "live_jobs": {m: int(g.get("podium_live_jobs", 0)) for m, g in gauges.items()},
            "list_ms": list_ms,
            "list_failed": list_failed,
        }


def _history_rows(gauges: dict[str, dict[str, float]]) -> dict[str, float]:
    return {m: g.get("podium_history_jobs", 0.0) for m, g in gauges.items()}
