"""Schedules through the Python clients (HTTP and ``podium://``, sync and async) and the
``podium schedule`` command, against a real dev node."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import trio

from bench.loopback import LoopbackCluster
from client import AsyncClient, Client, PodiumError, job_body
from client.cli import EXIT, main
from tests.dev_node import dev_node, http_url, native_url


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    yield from dev_node(tmp_path_factory, "schedules")


def test_the_sync_client_defines_fires_pauses_and_deletes(
    dev: LoopbackCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    with Client(http_url(dev)) as c:
        made = c.add_schedule("every-second", job_body("noop", {"n": 1}), every_s=1)
        assert made["fired"] == 0 and made["paused"] is False and made["every_s"] == 1.0
        assert c.add_schedule("every-second", job_body("noop", {"n": 1}), every_s=1) == made
        with pytest.raises(PodiumError) as conflict:
            c.add_schedule("every-second", job_body("noop"), every_s=1)
        assert conflict.value.status == 409
        deadline = time.monotonic() + 10
        while (view := c.get_schedule("every-second"))["fired"] < 2:
            assert time.monotonic() < deadline, view
            time.sleep(0.1)
        job = c.get(view["last_job"])
        assert (job["schedule"], job["scheduled_for"]) == ("every-second", view["last_fired"])
        assert main(["--url", http_url(dev), "status", job["id"]]) == 0
        assert "every-second, tick " in capsys.readouterr().out
        assert c.pause_schedule("every-second")["paused"] is True
        assert [s["name"] for s in c.list_schedules()] == ["every-second"]
        assert c.resume_schedule("every-second")["paused"] is False
        assert c.delete_schedule("every-second") == {"deleted": 1}
        with pytest.raises(PodiumError) as gone:
            c.get_schedule("every-second")
        assert gone.value.status == 404


def test_the_native_client_gives_what_http_gives(dev: LoopbackCluster) -> None:
    with Client(native_url(dev)) as fast, Client(http_url(dev)) as plain:
        made = fast.add_schedule(
            "nightly", job_body("noop"), cron="0 3 * * *", timezone="Europe/Paris", paused=True
        )
        assert made["cron"] == "0 3 * * *" and made["next_run_at"] is None
        assert fast.get_schedule("nightly") == plain.get_schedule("nightly")
        assert fast.list_schedules() == plain.list_schedules()
        resumed = fast.resume_schedule("nightly")
        # 03:00 in Paris is 01:00 or 02:00 UTC, whatever the season
        assert time.gmtime(resumed["next_run_at"]).tm_hour in (1, 2)
        assert fast.pause_schedule("nightly") == plain.get_schedule("nightly")
        assert fast.delete_schedule("nightly") == {"deleted": 1}
        with pytest.raises(PodiumError) as gone:
            fast.delete_schedule("nightly")
        assert gone.value.status == 404


async def test_the_async_client_under_trio(dev: LoopbackCluster) -> None:
    async with AsyncClient(http_url(dev)) as c:
        made = await c.add_schedule("async", job_body("noop"), cron="*/5 * * * *", paused=True)
        assert made["catch_up"] == "skip"
        assert (await c.get_schedule("async"))["name"] == "async"
        assert "async" in [s["name"] for s in await c.list_schedules()]
        assert (await c.resume_schedule("async"))["next_run_at"] % 300 == 0
        assert (await c.pause_schedule("async"))["paused"] is True
        assert await c.delete_schedule("async") == {"deleted": 1}
        with trio.fail_after(5):
            with pytest.raises(PodiumError):
                await c.get_schedule("async")


def podium(dev: LoopbackCluster, *words: str) -> int:
    return main(["--url", http_url(dev), *words])


def test_the_cli_reads_like_a_submit_with_a_timing(
    dev: LoopbackCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ("schedule", "add", "backup", "shell", "--cron", "0 3 * * *", "--catch-up", "one")
    assert podium(dev, *add, "--paused", "--", "./backup.sh", "--full") == 0
    said = capsys.readouterr().out
    assert "backup: defined, paused (cron 0 3 * * *)" in said
    assert podium(dev, "schedule", "show", "backup", "--json") == 0
    view = json.loads(capsys.readouterr().out)
    assert view["job"]["payload"] == {"argv": ["./backup.sh", "--full"]}
    assert view["catch_up"] == "one" and view["paused"] is True
    assert podium(dev, "schedule", "resume", "backup") == 0
    assert "backup: resumed; next run " in capsys.readouterr().out
    assert podium(dev, "schedule", "list") == 0
    table = capsys.readouterr().out
    assert "backup" in table and "cron 0 3 * * *" in table and "active" in table
    assert podium(dev, "schedule", "show", "backup") == 0
    assert "ticks fired" in capsys.readouterr().out
    assert podium(dev, *add, "--", "./other.sh") == EXIT[409]
    assert "delete it first" in capsys.readouterr().err
    assert podium(dev, "schedule", "pause", "backup", "--json") == 0
    assert json.loads(capsys.readouterr().out)["paused"] is True
    assert podium(dev, "schedule", "delete", "backup") == 0
    assert "backup: deleted" in capsys.readouterr().out
    assert podium(dev, "schedule", "show", "backup") == EXIT[404]
    capsys.readouterr()
    assert podium(dev, "schedule", "add", "x", "noop", "--cron", "61 * * * *") == EXIT[400]
    assert "cron must be a cron expression" in capsys.readouterr().err
    assert podium(dev, "schedule", "add", "x", "noop", "--every", "0.1") == EXIT[400]
    assert "every_s must be from 1" in capsys.readouterr().err


def test_the_cli_wants_a_timing_and_no_command_after_other_actions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["schedule", "add", "x", "noop"])
    assert refused.value.code == 2
    assert "one of the arguments --cron --every is required" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        main(["schedule", "list", "--", "ls"])
    assert refused.value.code == 2
    assert "only submit and schedule add take a command" in capsys.readouterr().err
