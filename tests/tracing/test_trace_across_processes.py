"""One job's trace across a master and a worker process.

The master (its gateway included) runs in this test's process on real TCP and
HTTP, tracing into the SDK's in-memory exporter. The worker is a real
``python -m runtime.node --role worker`` process, turned on by the standard
variable alone (``OTEL_EXPORTER_OTLP_ENDPOINT``), exporting with the real
OTLP/HTTP exporter to a small receiver here that decodes opentelemetry-proto.
Its handler runs in the process pool, so its spans are recorded in the pool's
child and made by the worker. Both halves must form one tree.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Status
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bench.loopback import free_ports
from runtime.config import load_config
from runtime.node import run_node
from tests.tracing.trees import Seen, assert_child, by_name, from_sdk, one

ROOT = Path(__file__).resolve().parents[2]


def _value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    return None if kind is None else getattr(value, kind)


class Receiver:
    """An OTLP/HTTP endpoint on 127.0.0.1 that keeps the spans it is sent, and the
    service name each came from."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, Seen]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.take(ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def take(self, request: ExportTraceServiceRequest) -> None:
        with self.lock:
            for resource_spans in request.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        seen = Seen(
                            span.name,
                            span.trace_id.hex(),
                            span.span_id.hex(),
                            span.parent_span_id.hex() or None,
                            span.start_time_unix_nano,
                            span.end_time_unix_nano,
                            {a.key: _value(a.value) for a in span.attributes},
                            span.status.code == Status.STATUS_CODE_ERROR,
                        )
                        self.spans.append((str(resource["service.name"]), seen))

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def start_worker(listen: int, endpoint: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_SERVICE_NAME": "podium-worker",
        # export within a tenth of a second rather than the default five
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("OTEL_TRACES_EXPORTER", None)
    with log.open("wb") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runtime.node",
                *("--role", "worker", "--id", "w1", "--capacity", "2"),
                *("--masters", f"127.0.0.1:{listen}"),
                *("--handlers", "tests.tracing.worker_handlers"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def submit_and_wait(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post("/api/v1/jobs", json=body)
    assert answer.status_code == 201, answer.text
    while True:
        job: dict[str, Any] = (await client.get(f"/api/v1/jobs/{answer.json()['id']}")).json()
        if job["status"] in ("succeeded", "failed", "dead"):
            return job
        await trio.sleep(0.05)


async def worker_spans(receiver: Receiver, reports: int) -> list[tuple[str, Seen]]:
    """What the worker exported, once its ``reports`` report spans arrived."""
    while True:
        with receiver.lock:
            got = list(receiver.spans)
        if sum(seen.name == "podium.report" for _, seen in got) >= reports:
            return got
        await trio.sleep(0.05)


async def test_one_jobs_trace_spans_the_master_and_the_worker_process(
    spans: InMemorySpanExporter, receiver: Receiver, tmp_path: Path
) -> None:
    listen, http = free_ports(2)
    config = load_config(
        [
            *("--role", "master", "--id", "m1", "--data", str(tmp_path / "m1")),
            *("--listen", f"127.0.0.1:{listen}", "--http", f"127.0.0.1:{http}"),
            *("--peers", f"m1=127.0.0.1:{listen}"),
        ],
        env={},
    )
    log = tmp_path / "worker.log"
    worker = start_worker(listen, receiver.url, log)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_node, config)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http}") as client:
                with trio.move_on_after(60) as waited:
                    while True:
                        # a worker that could not start says why in its log
                        assert worker.poll() is None, log.read_text()
                        try:
                            workers = (await client.get("/api/v1/workers")).json()
                            if workers.get("workers"):
                                break
                        except httpx.TransportError:
                            pass
                        await trio.sleep(0.1)
                assert not waited.cancelled_caught, f"no worker within 60 s: {log.read_text()}"
                with trio.fail_after(30):
                    job = await submit_and_wait(client, {"type": "resize"})
                    failed = await submit_and_wait(client, {"type": "broken", "max_retries": 0})
                    from_worker = await worker_spans(receiver, 2)
            nursery.cancel_scope.cancel()
    finally:
        worker.terminate()
        worker.wait(30)
    print(log.read_text())
    assert job["status"] == "succeeded", job

    mine = [s for s in from_sdk(spans.get_finished_spans()) if s.trace_id == job["trace_id"]]
    theirs = [s for service, s in from_worker if s.trace_id == job["trace_id"]]
    assert {service for service, _ in from_worker} == {"podium-worker"}
    assert sorted(s.name for s in mine) == ["podium.assign", "podium.commit", "podium.submit"]
    here, there = by_name(mine), by_name(theirs)
    assert sorted(there) == ["encode", "podium.execute", "podium.report", "resize"]
    submit, commit, assign = (
        one(here, n) for n in ("podium.submit", "podium.commit", "podium.assign")
    )
    execute, resize, encode, report = (
        one(there, n) for n in ("podium.execute", "resize", "encode", "podium.report")
    )
    assert submit.parent_id is None
    assert_child(commit, submit)
    assert_child(assign, submit)
    assert_child(execute, assign)
    assert_child(resize, execute)
    assert_child(encode, resize)
    assert_child(report, assign)
    assert execute.attributes["podium.worker"] == "w1"
    assert resize.attributes == {"width": 800, "bytes": 5}
    # recorded in the pool's child, in the worker's clock: inside execute, before the report
    assert execute.start_ns <= resize.start_ns <= encode.start_ns <= resize.end_ns
    assert resize.end_ns <= execute.end_ns <= report.start_ns
    assert job["result"] == {"trace_id": job["trace_id"]}

    # the failed job: its own trace, and the worker's log line about it names it
    assert failed["trace_id"] not in (None, job["trace_id"])
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    about = [line for line in lines if line.get("job") == failed["id"]]
    assert about and all(line.get("trace_id") == failed["trace_id"] for line in about), about
    failed_execute = [
        s for _, s in from_worker if s.trace_id == failed["trace_id"] and s.name == "podium.execute"
    ]
    assert [s.error for s in failed_execute] == [True]
