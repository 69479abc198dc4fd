"""The pool settings, and the issue's scenario on a real node started as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.config import ConfigError, load_config
from tests.ports import free_port

ROOT = Path(__file__).parents[2]


def test_pool_settings_from_flags_environment_and_defaults() -> None:
    default = load_config([], env={})
    assert (default.pool, default.max_jobs_per_child) == ("process", 0)
    env = {"PODIUM_POOL": "thread", "PODIUM_MAX_JOBS_PER_CHILD": "50"}
    assert load_config([], env=env).pool == "thread"
    assert load_config([], env=env).max_jobs_per_child == 50
    flags = load_config(["--pool", "process", "--max-jobs-per-child", "7"], env=env)
    assert (flags.pool, flags.max_jobs_per_child) == ("process", 7)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--pool", "fork"], 'pool must be one of process, thread (got "fork" from --pool)'),
        (
            ["--max-jobs-per-child", "-1"],
            "max_jobs_per_child must be at least 0 (got -1 from --max-jobs-per-child)",
        ),
    ],
)
def test_a_bad_pool_setting_is_one_line_naming_it(argv: list[str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(argv, env={})
    assert caught.value.problems == (expected,)


def test_a_bad_pool_setting_stops_the_node_with_exit_code_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runtime.node", "--role", "worker", "--masters", "127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PODIUM_POOL": "fork"},
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        'config error: pool must be one of process, thread (got "fork" from PODIUM_POOL)'
    )


def test_a_worker_node_gets_its_pool_settings() -> None:
    from actors.roles import worker_actor
    from runtime.config import config_from_dict

    base = {"role": "worker", "masters": ["127.0.0.1:7001"], "capacity": 3}
    process = worker_actor(config_from_dict({**base, "max_jobs_per_child": 9}, source="test"))
    assert process.pool is not None
    assert (process.pool.size, process.pool.max_jobs_per_child) == (3, 9)
    thread = worker_actor(config_from_dict({**base, "pool": "thread"}, source="test"))
    assert thread.pool is None


def wait_final(client: httpx.Client, job_id: str, within_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while True:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "dead", "cancelled"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


@pytest.mark.slow
def test_capacity_1_a_timed_out_handler_never_writes_and_the_next_job_waits_for_it(
    tmp_path: Path,
) -> None:
    """The issue, on a dev node with ``--capacity 1``: a handler with ``timeout_s=1`` that
    sleeps 3 s then writes a file. The file is never written; the next job runs only
    once the first one's process is gone; the node logs the failure with the job id."""
    http = free_port()
    node = subprocess.Popen(
        [
            *(sys.executable, "-m", "runtime.node", "--capacity", "1"),
            *("--handlers", "tests.worker.pool_handlers", "--data", str(tmp_path / "data")),
            *("--http", f"127.0.0.1:{http}", "--listen", f"127.0.0.1:{free_port()}"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    written, pidfile = tmp_path / "written", tmp_path / "first.pid"
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{http}", timeout=5) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "node did not get ready"
                time.sleep(0.1)
            # the pool's child is started, so the first job's second is all its own
            warm = client.post("/api/v1/jobs", json={"type": "pool.pid"}).json()["id"]
            assert wait_final(client, warm, 30)["status"] == "succeeded"
            payload = {"seconds": 3, "path": str(written), "pidfile": str(pidfile)}
            first = client.post(
                "/api/v1/jobs",
                json={
                    "type": "pool.sleep_then_write",
                    "payload": payload,
                    "timeout_s": 1,
                    "max_retries": 0,
                },
            ).json()["id"]
            started = time.monotonic()
            while not pidfile.exists():
                assert time.monotonic() < started + 10, "the first job did not start"
                time.sleep(0.02)
            check = {"type": "pool.gone", "payload": {"pidfile": str(pidfile)}}
            second = client.post("/api/v1/jobs", json=check).json()["id"]
            assert wait_final(client, second, 30)["result"] is True
            failed = wait_final(client, first, 30)
            assert failed["error"] == "timed out after 1s"
            time.sleep(2.5)
            assert not written.exists()
    finally:
        node.terminate()
        _, err = node.communicate(timeout=30)
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(e.get("msg") == "job failed" and e.get("job") == first for e in logged)


def test_the_pool_bench_prints_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "pool", "--work", "1000", "--repeats", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert set(result) == {
        *("jobs", "work", "sequential_s", "thread_s", "process_s"),
        *("thread_ratio", "process_ratio"),
    }
    assert result["jobs"] == 2 and result["sequential_s"] > 0
