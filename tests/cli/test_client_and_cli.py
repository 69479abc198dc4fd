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

from bench.loopback import free_ports
from client import AsyncClient, Client, PodiumError
from client.api import job_body
from client.cli import EXIT, JOB_NOT_SUCCEEDED, main
from runtime.passwords import hash_password
from tests.dev_node import dev_node_url


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from dev_node_url(tmp_path_factory, "cli")


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
    nowhere = ["--url", "http://127.0.0.1:9", "--retry-deadline", "0.3", "cluster"]
    assert main(nowhere) == EXIT[0] == 6
    err = capsys.readouterr().err
    assert "not found" in err and "cannot reach" in err and "gave up after" in err


def test_cli_takes_several_addresses_and_skips_a_dead_one(
    node: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (dead,) = free_ports(1)
    urls = f"http://127.0.0.1:{dead},{node}"
    assert main(["--url", urls, "--json", "submit", "noop", "--wait"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "succeeded"
    monkeypatch.setenv("PODIUM_URL", urls)
    assert main(["--json", "submit", "noop", "--count", "2"]) == 0
    jobs = json.loads(capsys.readouterr().out)
    # one idempotency key per job, made by the client
    keys = set()
    for job in jobs:
        assert main(["--json", "status", job["id"]]) == 0
        keys.add(json.loads(capsys.readouterr().out)["idempotency_key"])
    assert len(keys) == 2 and all(k.startswith("auto-") for k in keys)


def _dead(c: Client) -> str:
    """A job that ends dead at once (`false` exits 1, no retries)."""
    job_id: str = c.submit("shell", {"argv": ["false"]}, max_retries=0)["id"]
    assert c.wait([job_id], timeout=30)[job_id]["status"] == "dead"
    return job_id


def test_the_client_deletes_and_purges_final_jobs(node: str) -> None:
    with Client(node) as c:
        done = c.submit("noop")["id"]
        c.wait([done], timeout=30)
        assert c.delete(done) == {"deleted": 1}
        for gone in (c.get, c.delete):
            with pytest.raises(PodiumError) as missing:
                gone(done)
            assert missing.value.status == 404
        later = c.submit("noop", delay_s=600)["id"]
        with pytest.raises(PodiumError) as live:
            c.delete(later)
        assert live.value.status == 409 and "cancel it first" in live.value.message
        c.cancel(later)
        assert c.delete(later) == {"deleted": 1}

        dead = {_dead(c), _dead(c)}
        kept = c.submit("noop")["id"]
        c.wait([kept], timeout=30)
        listed = {j["id"] for j in c.iter_jobs(status="dead", type="shell")}
        assert dead <= listed
        assert c.purge(status=["dead"], type="shell") == {"deleted": len(listed)}
        assert not list(c.iter_jobs(status="dead", type="shell"))
        with pytest.raises(PodiumError) as purged:
            c.get(dead.pop())
        assert purged.value.status == 404
        assert c.get(kept)["status"] == "succeeded"
        assert c.purge(status="succeeded", before="2000-01-01") == {"deleted": 0}
        with pytest.raises(PodiumError) as not_final:
            c.purge(status="pending")
        assert not_final.value.status == 400


def test_the_client_lists_newest_first_and_by_creation_time(node: str) -> None:
    with Client(node) as c:
        # held live (scheduled) so that every page comes from memory, with no history write
        # in flight under it
        first = c.submit("noop", delay_s=600)["id"]
        second = c.submit("noop", delay_s=600)["id"]
        created = c.get(first)["created_at"]
        ids = [j["id"] for j in c.list(since=created)["jobs"]]
        assert ids == [second, first]
        assert [j["id"] for j in c.list(since=created, order="asc")["jobs"]] == [first, second]
        page = c.list(since=created, order="asc", limit=1)
        assert [j["id"] for j in page["jobs"]] == [first] and page["cursor"]
        rest = c.list(since=created, order="asc", cursor=page["cursor"])
        assert [j["id"] for j in rest["jobs"]] == [second] and rest["cursor"] is None
        assert [j["id"] for j in c.iter_jobs(since=created, order="asc")] == [first, second]
        until = c.get(second)["created_at"]
        assert [j["id"] for j in c.list(since=created, until=until)["jobs"]] == [first]
        assert c.list(since="2999-01-01T00:00:00Z")["jobs"] == []
        with pytest.raises(PodiumError) as sideways:
            c.list(order="sideways")
        assert sideways.value.status == 400


async def test_the_async_client_deletes_purges_and_lists(node: str) -> None:
    async with AsyncClient(node) as c:
        job = await c.submit("noop")
        with trio.fail_after(30):
            await c.wait([job["id"]], poll_s=0.05)
        created = (await c.get(job["id"]))["created_at"]
        page = await c.list(since=created, order="asc")
        assert [j["id"] for j in page["jobs"]] == [job["id"]]
        assert await c.delete(job["id"]) == {"deleted": 1}
        assert (await c.list(since=created))["jobs"] == []
        assert await c.purge(status=["failed", "cancelled"], before=1.0) == {"deleted": 0}


def test_cli_delete_refuses_live_and_unknown_jobs(
    node: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--url", node, "--json", "submit", "noop", "--wait"]) == 0
    done = json.loads(capsys.readouterr().out)["id"]
    assert main(["--url", node, "delete", done]) == 0
    assert f"{done}: deleted" in capsys.readouterr().out
    assert main(["--url", node, "status", done]) == EXIT[404]
    assert main(["--url", node, "delete", done]) == EXIT[404] == 4
    assert "not found" in capsys.readouterr().err
    assert main(["--url", node, "--json", "submit", "noop", "--delay", "600"]) == 0
    later = json.loads(capsys.readouterr().out)["id"]
    assert main(["--url", node, "delete", later]) == EXIT[409] == 5
    assert "cancel it first" in capsys.readouterr().err
    assert main(["--url", node, "cancel", later]) == 0
    assert main(["--url", node, "--json", "delete", later]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"id": later, "deleted": 1}


def test_cli_purge_by_status(node: str, capsys: pytest.CaptureFixture[str]) -> None:
    dead = ["--url", node, "--json", "submit", "shell", "--payload", '{"argv": ["false"]}']
    assert main([*dead, "--retries", "0", "--wait"]) == JOB_NOT_SUCCEEDED
    job = json.loads(capsys.readouterr().out)
    assert job["status"] == "dead"
    assert main(["--url", node, "--json", "list", "--status", "dead", "--type", "shell"]) == 0
    listed = json.loads(capsys.readouterr().out)["jobs"]
    assert job["id"] in {j["id"] for j in listed}
    assert main(["--url", node, "--json", "purge", "--status", "dead", "--type", "shell"]) == 0
    assert json.loads(capsys.readouterr().out) == {"deleted": len(listed)}
    assert main(["--url", node, "status", job["id"]]) == EXIT[404]
    again = ["purge", "--status", "dead,failed", "--status", "cancelled", "--type", "shell"]
    assert main(["--url", node, *again]) == 0
    assert "deleted 0 jobs" in capsys.readouterr().out
    assert main(["--url", node, "purge", "--status", "pending"]) == EXIT[400]
    assert main(["--url", node, "purge", "--before", "last tuesday"]) == EXIT[400]
    err = capsys.readouterr().err
    assert "only final jobs are purged" in err and "before must be epoch seconds" in err


def test_cli_list_order_since_until(node: str, capsys: pytest.CaptureFixture[str]) -> None:
    ids = []
    for _ in range(2):
        assert main(["--url", node, "--json", "submit", "noop"]) == 0
        ids.append(json.loads(capsys.readouterr().out)["id"])
    assert main(["--url", node, "--json", "status", ids[0]]) == 0
    since = repr(json.loads(capsys.readouterr().out)["created_at"])

    def listed(*flags: str) -> list[str]:
        assert main(["--url", node, "--json", "list", "--since", since, *flags]) == 0
        return [j["id"] for j in json.loads(capsys.readouterr().out)["jobs"]]

    assert listed() == ids[::-1]
    assert listed("--order", "asc") == ids
    assert listed("--order", "desc", "--limit", "1") == ids[1:]
    assert main(["--url", node, "--json", "status", ids[1]]) == 0
    until = repr(json.loads(capsys.readouterr().out)["created_at"])
    assert listed("--until", until) == ids[:1]
    assert main(["--url", node, "--json", "list", "--since", "2999-01-01"]) == 0
    assert json.loads(capsys.readouterr().out)["jobs"] == []
    assert main(["--url", node, "list", "--since", "yesterday"]) == EXIT[400]
    assert "since must be epoch seconds" in capsys.readouterr().err


def test_the_podium_script_exits_with_a_code_not_a_traceback(node: str) -> None:
    script = Path(sys.executable).parent / "podium"
    for argv, code in ((["delete", "no-such-job"], EXIT[404]), (["purge", "--status", "x"], 2)):
        done = subprocess.run(
            [str(script), "--url", node, *argv], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == code
        assert "error" in done.stderr and "Traceback" not in done.stderr


def test_the_podium_script_runs_operator_commands() -> None:
    script = Path(sys.executable).parent / "podium"
    done = subprocess.run([str(script), "version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "0.1.0"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = tmp_path_factory.mktemp("secured-config") / "podium.toml"
    config.write_text(
        "[auth]\n"
        "enabled = true\n"
        'secret = "a-test-secret-of-more-than-32-bytes!"\n'
        "[[auth.users]]\n"
        'name = "bob"\n'
        'role = "user"\n'
        f'password_hash = "{hash_password("bob-pw")}"\n'
    )
    yield from dev_node_url(tmp_path_factory, "secured", master_args=["--config", str(config)])


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
