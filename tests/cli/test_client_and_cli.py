"""The Python client (sync and async) and the ``podium`` CLI against a real dev node."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from bench.loopback import LoopbackCluster
from client import AsyncClient, Client, PodiumError
from client.api import job_body
from client.cli import EXIT, main
from runtime.passwords import hash_password


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("cli")
    with LoopbackCluster(root, single=True) as cluster:
        cluster.start(timeout=60)
        http = cluster.masters["m1"].http
        assert http is not None
        yield http
        print(cluster.describe())


def test_the_sync_client_does_everything(node: str) -> None:
    with Client(node) as c:
        one = c.submit("noop", {"n": 1}, priority=9)
        assert one["status"] == "pending"
        batch = c.submit_batch([job_body("noop"), job_body("sleep", {"seconds": 0.01})])
        final = c.wait([one["id"], *(j["id"] for j in batch)], timeout=30)
        assert {j["status"] for j in final.values()} == {"succeeded"}
        assert c.get(one["id"], stale=True)["priority"] == 9
        assert one["id"] in {j["id"] for j in c.iter_jobs(status="succeeded")}
        assert c.list(limit=1)["cursor"] is not None
        delayed = c.submit("noop", delay_s=600)
        assert c.cancel(delayed["id"])["status"] == "cancelled"
        with pytest.raises(PodiumError) as refused:
            c.retry(delayed["id"])
        assert refused.value.status == 409
        assert c.stats()["jobs"]["succeeded"] >= 3
        assert [w["id"] for w in c.workers()] == ["m1"]
        assert c.cluster()["leader"] == "m1"
        with pytest.raises(PodiumError) as missing:
            c.get("no-such-job")
        assert missing.value.status == 404


async def test_the_async_client_works_under_trio(node: str) -> None:
    async with AsyncClient(node) as c:
        job = await c.submit("noop")
        with trio.fail_after(30):
            final = await c.wait([job["id"]], poll_s=0.05)
        assert final[job["id"]]["status"] == "succeeded"
        assert (await c.stats())["jobs"]["succeeded"] >= 1


def test_cli_submit_wait_status_list(node: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", node, "--json", "submit", "shell", "--wait", "--", "echo", "hi"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["status"] == "succeeded" and job["result"]["stdout"] == "hi\n"
    assert main(["--url", node, "--json", "status", job["id"]]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == job["id"]
    assert main(["--url", node, "list", "--type", "shell"]) == 0
    assert job["id"][:8] in capsys.readouterr().out
    assert main(["--url", node, "--json", "submit", "noop", "--count", "3", "--wait"]) == 0
    assert [j["status"] for j in json.loads(capsys.readouterr().out)] == ["succeeded"] * 3


def test_cli_exit_codes(node: str, capsys: pytest.CaptureFixture[str]) -> None:
    failing = ["--url", node, "submit", "shell", "--retries", "0", "--wait", "--", "false"]
    assert main(failing) == 1
    assert main(["--url", node, "status", "no-such-job"]) == EXIT[404] == 4
    assert main(["--url", node, "submit", "noop", "--payload", "[1]"]) == EXIT[400] == 2
    assert main(["--url", "http://127.0.0.1:9", "cluster"]) == EXIT[0] == 6
    err = capsys.readouterr().err
    assert "not found" in err and "cannot reach" in err


def test_the_podium_script_runs_operator_commands() -> None:
    script = Path(sys.executable).parent / "podium"
    done = subprocess.run([str(script), "version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "0.1.0"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("secured")
    config = root / "podium.toml"
    config.write_text(
        "[auth]\n"
        "enabled = true\n"
        'secret = "a-test-secret-of-more-than-32-bytes!"\n'
        "[[auth.users]]\n"
        'name = "bob"\n'
        'role = "user"\n'
        f'password_hash = "{hash_password("bob-pw")}"\n'
    )
    with LoopbackCluster(root, single=True, master_args=["--config", str(config)]) as cluster:
        cluster.start(timeout=60)
        http = cluster.masters["m1"].http
        assert http is not None
        yield http


def test_cli_login_stores_a_token_that_later_commands_use(
    secured: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token_path = tmp_path / "token"
    monkeypatch.setenv("PODIUM_TOKEN_FILE", str(token_path))
    assert main(["--url", secured, "stats"]) == EXIT[401] == 3
    monkeypatch.setattr(sys, "stdin", io.StringIO("wrong\n"))
    assert main(["--url", secured, "login", "bob"]) == 3
    monkeypatch.setattr(sys, "stdin", io.StringIO("bob-pw\n"))
    assert main(["--url", secured, "login", "bob"]) == 0
    assert token_path.stat().st_mode & 0o777 == 0o600
    capsys.readouterr()
    assert main(["--url", secured, "--json", "stats"]) == 0
    assert "jobs" in json.loads(capsys.readouterr().out)
    assert main(["--url", secured, "workers"]) == EXIT[403] == 3
