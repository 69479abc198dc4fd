"""Job output on a real dev node: ``GET /api/v1/jobs/{id}/logs``, its attempts, following
a running job, and output leaving with its job."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import trio

from bench.loopback import LoopbackCluster
from client import AsyncClient, Client, PodiumError
from client.cli import EXIT, main
from tests.dev_node import dev_node, http_url


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    yield from dev_node(tmp_path_factory, "logs")


def submit(dev: LoopbackCluster, body: dict[str, Any]) -> str:
    answer = dev.post("/api/v1/jobs", body)
    assert answer.status_code == 201, answer.text
    job_id: str = answer.json()["id"]
    return job_id


def wait_logs(dev: LoopbackCluster, job_id: str, want: str, **params: Any) -> httpx.Response:
    """Output is shipped to the masters just after the attempt ends: poll briefly."""
    deadline = time.monotonic() + 10
    while True:
        answer = dev.get(f"/api/v1/jobs/{job_id}/logs", **params)
        if want in answer.text or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def test_a_shell_jobs_stdout_and_stderr_are_served(dev: LoopbackCluster) -> None:
    job = submit(dev, {"type": "shell", "payload": {"cmd": "echo one; echo two >&2; echo three"}})
    assert dev.wait_finished([job], 30)[job] == "succeeded"
    answer = wait_logs(dev, job, "three")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.headers["podium-attempt"] == "1"
    # two pipes read as they come: each line whole, their order between streams not fixed
    assert sorted(answer.text.splitlines()) == ["one", "three", "two"]


def test_each_attempt_of_a_retried_job_keeps_its_own_output(dev: LoopbackCluster) -> None:
    body = {
        "type": "shell",
        "payload": {"cmd": 'echo "run $(date +%N)"; exit 3'},
        "retry": {"max_retries": 1, "base_s": 0.1, "jitter": 0},
    }
    job = submit(dev, body)
    assert dev.wait_finished([job], 30)[job] in ("dead", "failed")
    first = wait_logs(dev, job, "run", attempt=1)
    second = wait_logs(dev, job, "run", attempt=2)
    latest = wait_logs(dev, job, "run")
    assert first.headers["podium-attempt"] == "1" and first.text.startswith("run ")
    assert second.headers["podium-attempt"] == "2" and second.text.startswith("run ")
    assert first.text != second.text
    assert latest.text == second.text
    missing = dev.get(f"/api/v1/jobs/{job}/logs", attempt=3)
    assert missing.status_code == 404 and "no attempt 3" in missing.json()["error"]


def test_follow_streams_lines_as_they_are_written(dev: LoopbackCluster) -> None:
    job = submit(
        dev,
        {"type": "shell", "payload": {"cmd": "echo first; sleep 2; echo second"}},
    )
    seen: list[tuple[float, str]] = []

    def follow() -> None:
        with httpx.stream(
            "GET", f"{http_url(dev)}/api/v1/jobs/{job}/logs", params={"follow": "true"}, timeout=30
        ) as answer:
            for line in answer.iter_lines():
                seen.append((time.monotonic(), line))

    reader = threading.Thread(target=follow)
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "follow did not end with the attempt"
    assert [line for _, line in seen] == ["first", "second"]
    # the first line arrived while the job still slept, not at its end
    assert seen[1][0] - seen[0][0] > 1.0


def test_output_goes_when_its_job_is_deleted_or_purged(dev: LoopbackCluster) -> None:
    deleted = submit(dev, {"type": "shell", "payload": {"cmd": "echo gone-with-delete"}})
    purged = submit(dev, {"type": "shell", "payload": {"cmd": "echo gone-with-purge"}})
    for job in (deleted, purged):
        assert dev.wait_finished([job], 30)[job] == "succeeded"
    assert "gone-with-delete" in wait_logs(dev, deleted, "gone-with-delete").text
    assert "gone-with-purge" in wait_logs(dev, purged, "gone-with-purge").text
    assert dev.request("DELETE", f"/api/v1/jobs/{deleted}").status_code == 200
    assert dev.get(f"/api/v1/jobs/{deleted}/logs").status_code == 404
    purge = dev.post("/api/v1/jobs/purge", {"status": ["succeeded"]})
    assert purge.status_code == 200, purge.text
    assert dev.get(f"/api/v1/jobs/{purged}/logs").status_code == 404


def test_bad_queries_are_refused_naming_the_field(dev: LoopbackCluster) -> None:
    job = submit(dev, {"type": "noop", "payload": {}})
    assert dev.wait_finished([job], 30)[job] == "succeeded"
    assert dev.get(f"/api/v1/jobs/{job}/logs").text == ""
    for params, field in (({"attempt": "0"}, "attempt"), ({"follow": "maybe"}, "follow")):
        answer = dev.get(f"/api/v1/jobs/{job}/logs", **params)
        assert answer.status_code == 400 and field in answer.json()["error"]
    assert dev.get("/api/v1/jobs/nope/logs").status_code == 404


def test_the_clients_and_the_cli_read_and_follow_output(
    dev: LoopbackCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    done = submit(dev, {"type": "shell", "payload": {"cmd": "echo from-the-cli"}})
    assert dev.wait_finished([done], 30)[done] == "succeeded"
    wait_logs(dev, done, "from-the-cli")
    with Client(http_url(dev)) as client:
        assert client.logs(done) == "from-the-cli\n"
        assert client.logs(done, attempt=1) == "from-the-cli\n"
        with pytest.raises(PodiumError) as missing:
            client.logs(done, attempt=5)
        assert missing.value.status == 404
        running = submit(dev, {"type": "shell", "payload": {"cmd": "echo a; sleep 1; echo b"}})
        assert "".join(client.follow_logs(running)) == "a\nb\n"

    async def read_async() -> str:
        async with AsyncClient(http_url(dev)) as client:
            return await client.logs(done)

    assert trio.run(read_async) == "from-the-cli\n"
    assert main(["--url", http_url(dev), "logs", done]) == 0
    assert capsys.readouterr().out == "from-the-cli\n"
    followed = submit(dev, {"type": "shell", "payload": {"cmd": "echo x; sleep 0.5; echo y"}})
    assert main(["--url", http_url(dev), "logs", followed, "-f"]) == 0
    assert capsys.readouterr().out == "x\ny\n"
    assert main(["--url", http_url(dev), "logs", done, "--attempt", "2"]) == EXIT[404]
