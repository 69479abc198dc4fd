"""A real podium cluster on 127.0.0.1: one OS process per node, as a user starts them.

The cluster benchmark and the multi-process tests share this launcher, so
what is measured is exactly what is tested: ``python -m runtime.node`` with
the documented flags, SQLite with fsync, TCP between processes. Each node's
stderr (its JSON log) goes to a file beside its data, for post-mortems.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs
import httpx

__all__ = [
    "FAST_FAILURE_DETECTION",
    "LoopbackCluster",
    "NodeProcess",
    "free_ports",
    "process_cpu_s",
]

# the multi-process tests' and benchmarks' settings (a cluster's ``env``): short leases
# and quick heartbeats, so a dead worker or leader is noticed within a test's patience
# and its jobs move on in seconds rather than the defaults' tens of seconds
FAST_FAILURE_DETECTION: Mapping[str, str] = MappingProxyType(
    {"PODIUM_SCHEDULER__LEASE_S": "2", "PODIUM_SCHEDULER__HEARTBEAT_S": "0.3"}
)


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user and system, every thread) process ``pid`` has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # the fields after the command name (which may hold spaces) are the 3rd onwards
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports the kernel has just handed out (held open until all are picked)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@attrs.define
class NodeProcess:
    name: str
    argv: list[str]
    log_path: Path
    http: str | None = None
    env: dict[str, str] = attrs.Factory(dict)
    proc: subprocess.Popen[bytes] | None = None
    peak_rss_kib: int = 0

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=log, env=env)
        log.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def sample_rss(self) -> int:
        """Peak resident set size so far (VmHWM), remembered across restarts."""
        if self.alive:
            assert self.proc is not None
            try:
                status = Path(f"/proc/{self.proc.pid}/status").read_text()
            except OSError:
                return self.peak_rss_kib
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_rss_kib = max(self.peak_rss_kib, int(line.split()[1]))
        return self.peak_rss_kib

    def cpu_s(self) -> float | None:
        """CPU seconds (user + system) the running process has used, None when it is not
        running: what a run costs the node, which other load on the machine changes far
        less than it changes throughput."""
        if not self.alive:
            return None
        assert self.proc is not None
        try:
            return process_cpu_s(self.proc.pid)
        except OSError:
            return None

    def kill(self) -> None:
        """SIGKILL: no drain, no flush; what is not fsynced is gone."""
        if self.alive:
            assert self.proc is not None
            self.sample_rss()
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM and wait (a worker drains); SIGKILL if it does not exit in time."""
        if self.proc is None:
            return None
        if self.alive:
            self.sample_rss()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        return self.proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class LoopbackCluster:
    """``masters`` master processes and ``workers`` worker processes under ``root``."""

    def __init__(
        self,
        root: Path,
        *,
        masters: int = 3,
        workers: int = 2,
        capacity: int = 4,
        master_args: Sequence[str] = (),
        worker_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        single: bool = False,
        python: str = sys.executable,
    ) -> None:
        """``env`` is added to every node's environment (``PODIUM_*`` settings).

        ``single`` starts one development node instead (``--role dev``: a
        master and its own worker in one process, as ``make run`` does).
        """
        self.single = single
        if single:
            masters, workers = 1, 0
        self.root = root
        ports = free_ports(2 * masters + workers)
        self.raft_ports = ports[:masters]
        self.http_ports = ports[masters : 2 * masters]
        # workers serve HTTP only for /metrics (their slot turnaround)
        worker_http = ports[2 * masters :]
        names = [f"m{i + 1}" for i in range(masters)]
        peers = ",".join(f"{n}=127.0.0.1:{p}" for n, p in zip(names, self.raft_ports, strict=True))
        self.masters: dict[str, NodeProcess] = {}
        role = ["--role", "dev", "--capacity", str(capacity)] if single else ["--role", "master"]
        for name, raft, http in zip(names, self.raft_ports, self.http_ports, strict=True):
            argv = [
                python, "-m", "runtime.node", *role, "--id", name,
                "--listen", f"127.0.0.1:{raft}", "--http", f"127.0.0.1:{http}",
                "--peers", peers, "--data", str(root / name), *master_args,
            ]  # fmt: skip
            self.masters[name] = NodeProcess(
                name,
                argv,
                root / "logs" / f"{name}.log",
                http=f"http://127.0.0.1:{http}",
                env=dict(env or {}),
            )
        addresses = ",".join(f"127.0.0.1:{p}" for p in self.raft_ports)
        self.workers: dict[str, NodeProcess] = {}
        for i, http in enumerate(worker_http):
            name = f"w{i + 1}"
            argv = [
                python, "-m", "runtime.node", "--role", "worker", "--id", name,
                "--masters", addresses, "--capacity", str(capacity),
                "--http", f"127.0.0.1:{http}", *worker_args,
            ]  # fmt: skip
            self.workers[name] = NodeProcess(
                name,
                argv,
                root / "logs" / f"{name}.log",
                http=f"http://127.0.0.1:{http}",
                env=dict(env or {}),
            )
        self.client = httpx.Client(timeout=10.0)

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def nodes(self) -> list[NodeProcess]:
        return [*self.masters.values(), *self.workers.values()]

    def start(self, timeout: float = 60.0) -> None:
        for node in self.nodes:
            node.start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60.0, *, workers: int | None = None) -> str:
        """Wait for a leader every live master agrees on and for the workers to register."""
        want = len(self.workers) if workers is None else workers
        if self.single:
            want = 1
        deadline = time.monotonic() + timeout
        while True:
            leader = self.leader()
            if leader is not None and self._registered_workers(leader) >= want:
                return leader
            if time.monotonic() > deadline:
                raise TimeoutError(f"cluster not ready in {timeout} s\n{self.describe()}")
            self._check_alive()
            time.sleep(0.1)

    def stop(self) -> None:
        for node in [*self.workers.values(), *self.masters.values()]:
            node.stop()
        self.client.close()

    def __enter__(self) -> LoopbackCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        for node in self.nodes:
            node.kill()
        self.client.close()

    # -- looking at it -----------------------------------------------------------------

    def live_masters(self) -> list[NodeProcess]:
        return [m for m in self.masters.values() if m.alive]

    def get(self, path: str, *, master: str | None = None, **params: Any) -> httpx.Response:
        return self.request("GET", path, master=master, params=params or None)

    def post(self, path: str, body: Any = None, *, master: str | None = None) -> httpx.Response:
        return self.request("POST", path, master=master, json=body)

    def request(
        self, method: str, path: str, *, master: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send to ``master``, or to the first live master that answers."""
        candidates = [self.masters[master]] if master else self.live_masters()
        error: Exception | None = None
        for node in candidates:
            try:
                return self.client.request(method, f"{node.http}{path}", **kwargs)
            except httpx.TransportError as exc:
                error = exc
        raise ConnectionError(f"no master answered {method} {path}: {error}")

    def leader(self) -> str | None:
        """The leader, when every live master that answers names the same one."""
        seen: set[str | None] = set()
        for node in self.live_masters():
            try:
                # /ready names the leader too, and stays open when auth is on
                info = self.client.get(f"{node.http}/ready", timeout=2).json()
            except (httpx.TransportError, ValueError):
                continue
            seen.add(info.get("leader"))
        if len(seen) == 1:
            leader = seen.pop()
            if leader is not None and self.masters[leader].alive:
                return leader
        return None

    def _registered_workers(self, leader: str) -> int:
        try:
            answer = self.get("/api/v1/workers", master=leader)
            if answer.status_code in (401, 403):
                # auth is on and this launcher holds no token: trust the workers to register
                return len(self.workers) or 1
            listing = answer.json()
        except (httpx.TransportError, ValueError, ConnectionError):
            return 0
        live = {w["id"] for w in listing.get("workers", []) if w["state"] != "lost"}
        if self.single:
            return len(live)
        return len(live & {w for w, node in self.workers.items() if node.alive})

    def _check_alive(self) -> None:
        for node in self.nodes:
            if node.proc is not None and node.proc.poll() not in (None, -signal.SIGKILL):
                raise RuntimeError(
                    f"{node.name} exited with {node.proc.returncode}\n{node.log_tail()}"
                )

    def describe(self) -> str:
        parts = []
        for node in self.nodes:
            state = "up" if node.alive else f"down ({node.proc and node.proc.returncode})"
            parts.append(f"--- {node.name} {state}\n{node.log_tail(15)}")
        return "\n".join(parts)

    def sample_rss(self) -> dict[str, int]:
        return {node.name: node.sample_rss() for node in self.nodes}

    def cpu_s(self) -> dict[str, float | None]:
        """Each node's CPU seconds so far (None for one not running)."""
        return {node.name: node.cpu_s() for node in self.nodes}

    # -- jobs ----------------------------------------------------------------------------

    def submit_batch(self, jobs: list[dict[str, Any]], *, master: str | None = None) -> list[str]:
        answer = self.post("/api/v1/jobs/batch", {"jobs": jobs}, master=master)
        answer.raise_for_status()
        return [j["id"] for j in answer.json()["jobs"]]

    def statuses(self, ids: Iterable[str]) -> dict[str, str]:
        out = {}
        for job_id in ids:
            answer = self.get(f"/api/v1/jobs/{job_id}")
            out[job_id] = answer.json()["status"] if answer.status_code == 200 else "missing"
        return out

    def wait_finished(self, ids: Sequence[str], timeout: float) -> dict[str, str]:
        """Poll (through the stats counts, then per job) until every job is final."""
        final = {"succeeded", "failed", "dead", "cancelled"}
        deadline = time.monotonic() + timeout
        pending = list(ids)
        out: dict[str, str] = {}
        while pending:
            if time.monotonic() > deadline:
                out.update(self.statuses(pending))
                return out
            try:
                now = self.statuses(pending[:200])
            except ConnectionError:
                time.sleep(0.2)
                continue
            done = {j: s for j, s in now.items() if s in final}
            out.update(done)
            pending = [j for j in pending if j not in done]
            if len(done) < min(len(pending), 200):
                time.sleep(0.1)
        return out
