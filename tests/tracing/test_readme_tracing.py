"""README's "Tracing" example run as written: its handler module, a node started as its
``make run`` line says (the same variable and flags, on free ports), its ``podium submit``
line, and the handler's spans in the console exporter's output, in the job's trace."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from bench.loopback import free_ports
from tests.waits import wait_ready

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```", re.M | re.S)
MAKE_RUN = re.compile(r'^(\w+=\S+) make run NODE_ARGS="([^"]*)"$', re.M)


def section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n### Tracing\n")
    return text[start : text.index("\n## ", start)]


def printed_spans(stdout: str) -> list[dict[str, Any]]:
    """The JSON objects the console exporter printed, one after another."""
    decoder, spans, at = json.JSONDecoder(), [], 0
    while (at := stdout.find("{", at)) != -1:
        span, at = decoder.raw_decode(stdout, at)
        spans.append(span)
    return spans


def test_the_handler_example_traces_as_written(tmp_path: Path) -> None:
    blocks = BLOCK.findall(section())
    (module,) = [text for language, text in blocks if language == "python"]
    (tmp_path / "digestjobs.py").write_text(module)
    console = next(text for language, text in blocks if "make run NODE_ARGS" in text)
    variable, node_args = MAKE_RUN.search(console).groups()  # type: ignore[union-attr]
    name, value = variable.split("=", 1)
    http, listen = free_ports(2)
    url = f"http://127.0.0.1:{http}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    # files, not pipes: the console exporter prints every span as it ends, and a pipe that
    # nobody reads until the node stops fills at 64 KiB and blocks the node mid-test
    out_path, err_path = tmp_path / "node.out", tmp_path / "node.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        node = subprocess.Popen(
            [
                *(sys.executable, "-m", "runtime.node", *shlex.split(node_args)),
                *("--http", f"127.0.0.1:{http}", "--listen", f"127.0.0.1:{listen}"),
                *("--data", str(tmp_path / "podium-data")),
            ],
            cwd=tmp_path,
            env={**env, name: value},
            stdout=out,
            stderr=err,
        )
    try:
        wait_ready(url, process=node)
        submit = next(line for line in console.splitlines() if line.startswith("podium submit"))
        path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
        done = subprocess.run(
            ["bash", "-e", "-c", submit],
            cwd=tmp_path,
            env={**env, "PODIUM_URL": url, "PATH": path},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        (job,) = httpx.get(f"{url}/api/v1/jobs", params={"type": "digest"}).json()["jobs"]
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=60)
    stdout, stderr = out_path.read_text(), err_path.read_text()
    assert job["status"] == "succeeded" and job["trace_id"], job
    assert job["result"]["trace_id"] == job["trace_id"]
    spans = [s for s in printed_spans(stdout) if s["context"]["trace_id"] == f"0x{job['trace_id']}"]
    by_name = {s["name"]: s for s in spans}
    assert set(by_name) == {
        "podium.submit",
        "podium.commit",
        "podium.assign",
        "podium.execute",
        "read",
        "hash",
        "podium.report",
    }, stderr
    execute = by_name["podium.execute"]["context"]["span_id"]
    assert by_name["read"]["parent_id"] == by_name["hash"]["parent_id"] == execute
    assert by_name["read"]["attributes"] == {"chunks": 4}
    assert by_name["hash"]["attributes"] == {"bytes": 6 * 1024 * 4}
