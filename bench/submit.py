"""Acknowledged single submits per second on a dev node: the native protocol against HTTP.

One ``python -m runtime.node --role dev`` process (a master with fsync, its
own worker running the jobs), started by the same launcher as the cluster
benchmark. This process then submits one job per call as fast as the node
acknowledges them (an answer means the job is committed):

- ``native``: one :class:`~client.api.AsyncClient` on ``podium://`` (one
  connection) with ``inflight`` calls in flight, under trio;
- ``http``: ``connections`` keep-alive HTTP/1.1 connections (a minimal client:
  httpx costs more CPU per request than the node), one request in flight on
  each, one job per request.

Each side first runs a warm-up (``jobs``, at most 1,000 submits), then is
timed over ``jobs`` submits.
The load generator shares the machine's cores with the node, as a client on
the same box would. Each figure also says how much CPU the node and this
process spent per submit while timed, which tells a bound by CPU (one of
them near a core's worth) from a bound by the round trip.

With ``ceiling`` the same HTTP client also drives hypercorn with nothing
behind it (:mod:`bench.bare_http`), for the ceiling of HTTP submits here.
"""

from __future__ import annotations

import resource
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import trio

from bench.bare_http import KINDS, serve_bare
from bench.loopback import LoopbackCluster, free_ports, process_cpu_s
from client import AsyncClient

__all__ = ["SubmitOptions", "run_submit"]

WARM_UP_MAX = 1_000


@attrs.frozen
class SubmitOptions:
    jobs: int = 20_000
    inflight: int = 64
    connections: int = 32
    http: bool = True
    ceiling: bool = False
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


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _native(port: int, options: SubmitOptions) -> dict[str, Any]:
    async with AsyncClient(f"podium://127.0.0.1:{port}") as client:

        async def submit() -> None:
            await client.submit("noop")

        await _drive(min(WARM_UP_MAX, options.jobs), options.inflight, submit)
        seconds = await _drive(options.jobs, options.inflight, submit)
    return _figure(options.jobs, seconds, inflight=options.inflight, connections=1)


_SUBMIT_REQUEST = (
    b"POST /api/v1/jobs HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
    b'content-length: 15\r\n\r\n{"type":"noop"}'
)


class _KeepAlive:
    """One keep-alive HTTP/1.1 connection that posts the same submit again and again.

    httpx under trio spends more CPU per request than the node does, which
    made the client the bottleneck of this figure; this writes the request
    bytes and reads the answer by its content-length, nothing more."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = bytearray()

    async def submit(self) -> None:
        await self.stream.send_all(_SUBMIT_REQUEST)
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end >= 0:
                head = bytes(self.buffer[:head_end]).lower()
                length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
                end = head_end + 4 + length
                if len(self.buffer) >= end:
                    status = head.split(b" ", 2)[1]
                    body = bytes(self.buffer[head_end + 4 : end])
                    del self.buffer[:end]
                    if status != b"201":
                        raise RuntimeError(f"submit refused: {status.decode()} {body!r}")
                    return
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                raise RuntimeError("the node closed the connection")
            self.buffer += chunk


async def _http(url: str, options: SubmitOptions) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    idle: list[_KeepAlive] = [
        _KeepAlive(await trio.open_tcp_stream(host, int(port))) for _ in range(options.connections)
    ]

    async def submit() -> None:
        connection = idle.pop()
        try:
            await connection.submit()
        finally:
            idle.append(connection)

    await _drive(min(WARM_UP_MAX, options.jobs), options.connections, submit)
    seconds = await _drive(options.jobs, options.connections, submit)
    for connection in idle:
        await connection.stream.aclose()
    return _figure(options.jobs, seconds, inflight=options.connections,
                   connections=options.connections)  # fmt: skip


def _timed(pid: int, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``run``'s figure, with the server's and this process's CPU microseconds per submit
    (warm-up included, as both ran on the same processes)."""
    server, own = process_cpu_s(pid), _own_cpu_s()
    figure = run()
    calls = figure["submits"] + min(WARM_UP_MAX, figure["submits"])
    figure["server_cpu_us"] = round(1e6 * (process_cpu_s(pid) - server) / calls)
    figure["client_cpu_us"] = round(1e6 * (_own_cpu_s() - own) / calls)
    return figure


def run_submit(
    options: SubmitOptions, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    root = options.data or Path(tempfile.mkdtemp(prefix="podium-submit-"))
    result: dict[str, Any] = {}
    try:
        with LoopbackCluster(root, single=True, capacity=256) as cluster:
            progress("starting a dev node")
            cluster.start(timeout=120)
            port = cluster.raft_ports[0]
            node = cluster.masters["m1"]
            assert node.http is not None and node.proc is not None
            http, pid = node.http, node.proc.pid
            progress(f"native: {options.jobs} submits, {options.inflight} in flight")
            result["native"] = _timed(pid, lambda: trio.run(_native, port, options))
            if options.http:
                progress(f"http: {options.jobs} submits on {options.connections} connections")
                result["http"] = _timed(pid, lambda: trio.run(_http, http, options))
            cluster.stop()
    finally:
        if options.data is None:
            shutil.rmtree(root, ignore_errors=True)
    if options.ceiling:
        for kind in KINDS:
            progress(f"bare hypercorn ({kind}): {options.jobs} requests")
            result[f"bare-{kind}"] = _bare(kind, options)
    return result


def _bare(kind: str, options: SubmitOptions) -> dict[str, Any]:
    (port,) = free_ports(1)
    server = serve_bare(kind, port)
    try:
        url = f"http://127.0.0.1:{port}"
        return _timed(server.pid, lambda: trio.run(_http, url, options))
    finally:
        server.kill()
        server.wait()
