"""The node as a user starts it: a real process on loopback."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_bad_config_exits_2_with_a_clear_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runtime.node", "--capacity", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "capacity" in done.stderr and "config error" in done.stderr


def test_node_serves_http_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    http, listen = free_port(), free_port()
    node = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runtime.node",
            "--http",
            f"127.0.0.1:{http}",
            "--listen",
            f"127.0.0.1:{listen}",
            "--data",
            str(tmp_path / "data"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{http}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "node did not start serving"
                time.sleep(0.1)
        assert health.json() == {"status": "ok", "node": "m1"}
        bad = httpx.post(f"http://127.0.0.1:{http}/api/v1/jobs", content=b"{not json")
        assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
        node.send_signal(signal.SIGTERM)
        _, err = node.communicate(timeout=30)
        assert node.returncode == 0
        assert '"msg": "node stopped"' in err
    finally:
        node.kill()
