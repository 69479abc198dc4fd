"""Acknowledged single submits per second on a dev node: the native protocol against HTTP.

One ``python -m runtime.node --role dev`` process (a master with fsync, its
own worker running the jobs), started by the same launcher as the cluster
benchmark. This process then submits one job per call as fast as the node
acknowledges them (an answer means the job is committed):

- ``native``: one :class:`~client.api.AsyncClient` on ``podium://`` (one
  connection) with ``inflight`` calls in flight, under trio;
- ``http``: ``connections`` keep-alive HTTP connections (httpx under trio),
  one request in flight on each, one job per request.

Each side first runs a warm-up (``jobs``, at most 1,000 submits), then is
timed over ``jobs`` submits.
The load generator shares the machine's cores with the node, as a client on
the same box would.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import httpx
import trio

from bench.loopback import LoopbackCluster
from client import AsyncClient

__all__ = ["SubmitOptions", "run_submit"]

WARM_UP_MAX = 1_000


@attrs.frozen
class SubmitOptions:
    jobs: int = 20_000
    inflight: int = 64
    connections: int = 32
    http: bool = True
    data: Path | None = None


async def _drive(total: int, concurrency: int, submit: Callable[[], Awaitable[None]]) -> float:
    """Seconds for ``total`` submits made by ``concurrency`` tasks, each one at a time."""
    left = [total]

    async def submitter() -> None:
        while left[0] > 0:
            left[0] -= 1
            await submit()

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(submitter)
    return time.perf_counter() - start


def _figure(total: int, seconds: float, **shape: int) -> dict[str, Any]:
    return {"submits": total, "seconds": round(seconds, 3),
            "submits_per_s": round(total / seconds), **shape}  # fmt: skip


async def _native(port: int, options: SubmitOptions) -> dict[str, Any]:
    async with AsyncClient(f"podium://127.0.0.1:{port}") as client:

        async def submit() -> None:
            await client.submit("noop")

        await _drive(min(WARM_UP_MAX, options.jobs), options.inflight, submit)
        seconds = await _drive(options.jobs, options.inflight, submit)
    return _figure(options.jobs, seconds, inflight=options.inflight, connections=1)


async def _http(url: str, options: SubmitOptions) -> dict[str, Any]:
    limits = httpx.Limits(
        max_connections=options.connections, max_keepalive_connections=options.connections
    )
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as client:

        async def submit() -> None:
            answer = await client.post("/api/v1/jobs", json={"type": "noop"})
            if answer.status_code != 201:
                raise RuntimeError(f"submit refused: {answer.status_code} {answer.text}")

        await _drive(min(WARM_UP_MAX, options.jobs), options.connections, submit)
        seconds = await _drive(options.jobs, options.connections, submit)
    return _figure(options.jobs, seconds, inflight=options.connections,
                   connections=options.connections)  # fmt: skip


def run_submit(
    options: SubmitOptions, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    root = options.data or Path(tempfile.mkdtemp(prefix="podium-submit-"))
    try:
        with LoopbackCluster(root, single=True, capacity=256) as cluster:
            progress("starting a dev node")
            cluster.start(timeout=120)
            port = cluster.raft_ports[0]
            http = cluster.masters["m1"].http
            assert http is not None
            progress(f"native: {options.jobs} submits, {options.inflight} in flight")
            result = {"native": trio.run(_native, port, options)}
            if options.http:
                progress(f"http: {options.jobs} submits on {options.connections} connections")
                result["http"] = trio.run(_http, http, options)
            cluster.stop()
    finally:
        if options.data is None:
            shutil.rmtree(root, ignore_errors=True)
    return result
