"""Progress end to end on a real dev node: a handler in the process pool (and an async
one) calls ctx.progress; the job's view, the events stream and ``podium status`` show it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from client import Client
from client.cli import main
from tests.dev_node import dev_node_url
from tests.waits import ctrl_c_default, read_until

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    handlers = ("--handlers", "tests.worker.progress_handlers")
    env = {"PODIUM_SCHEDULER__HEARTBEAT_S": "0.2"}
    yield from dev_node_url(tmp_path_factory, "progress", master_args=handlers, env=env)


def wait_progress(
    client: Client, job_id: str, fraction: float, within_s: float = 20.0
) -> dict[str, Any]:
    """The job once it shows ``fraction`` (an earlier value may show first)."""
    deadline = time.monotonic() + within_s
    while True:
        job = client.get(job_id)
        if job.get("progress") == fraction:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("job_type", "fraction", "message"),
    [
        ("progress.hold", 0.4, "resized 40 of 100"),
        ("progress.hold_async", 0.75, "async three quarters"),
    ],
)
def test_progress_reaches_the_job_the_stream_and_podium_status(
    node: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    job_type: str,
    fraction: float,
    message: str,
) -> None:
    release = tmp_path / "release"
    with Client(node) as client:
        job_id = client.submit(job_type, {"release": str(release)})["id"]
        job = wait_progress(client, job_id, fraction)
        assert (job["status"], job["progress"], job["progress_message"]) == (
            "running",
            fraction,
            message,
        )
        assert main(["--url", node, "status", job_id]) == 0
        assert f"{fraction:.0%} {message}" in capsys.readouterr().out
        release.touch()
        seen = read_until(
            client.events(job=job_id, last_event_id="0-0"),
            lambda e: e["type"] == "job.finished",
            20,
            f"job.finished of {job_id} on the stream",
        )
    types = [e["type"] for e in seen]
    assert types[:2] == ["job.submitted", "job.started"], types
    assert types[-1] == "job.finished" and seen[-1]["status"] == "succeeded"
    progress = [e for e in seen if e["type"] == "job.progress"]
    assert progress and progress[-1]["progress"] == fraction
    assert progress[-1]["progress_message"] == message
    with Client(node) as client:
        assert client.get(job_id).get("progress") is None  # over once the job is final


def test_podium_events_prints_a_line_per_event_until_ctrl_c(node: str) -> None:
    with Client(node) as client:
        job_id = client.submit("noop")["id"]
    # this tree's CLI (the venv's podium script may run another checkout's)
    podium = [sys.executable, "-c", "from client.cli import main; raise SystemExit(main())"]
    argv = [*podium, "--url", node, "events", "--job", job_id, "--last-event-id", "0-0"]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, text=True, cwd=ROOT, preexec_fn=ctrl_c_default
    )
    assert proc.stdout is not None
    try:
        lines = read_until(
            iter(proc.stdout.readline, ""),
            lambda line: "job.finished" in line,
            20,
            f"a job.finished line of {job_id} from podium events",
        )
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    assert [line.split()[1] for line in lines] == ["job.submitted", "job.started", "job.finished"]
    assert f"{job_id}  m1  succeeded  attempt 1" in lines[-1]


def test_the_readme_events_example_runs_as_written(node: str) -> None:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Events and progress") :]
    section = section[: section.index("\n## ", 3)]
    blocks = [b.split("```")[0] for b in section.split("```python\n")[1:]]
    runnable = [b for b in blocks if b.startswith("from client import")]
    assert runnable
    for block in runnable:
        done = subprocess.run(
            [sys.executable, "-c", block],
            env={**os.environ, "PODIUM_URL": node, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split("\n")[:3] == ["job.submitted None", "job.started running",
                                                "job.finished succeeded"]  # fmt: skip
