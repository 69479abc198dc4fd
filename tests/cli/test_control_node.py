"""Limits, pauses, bulk cancels and unique jobs on a real dev node: the Python client over
both protocols, the ``podium`` command as typed, and a rate limit holding for real."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bench.limits import bound_held
from bench.loopback import LoopbackCluster
from client import AsyncClient, Client
from client.api import job_body
from client.cli import main
from tests.dev_node import dev_node, http_url, native_url


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    yield from dev_node(tmp_path_factory, "control")


@pytest.mark.parametrize("protocol", ["http", "native"])
def test_the_client_controls_types_over_both_protocols(dev: LoopbackCluster, protocol: str) -> None:
    kind = f"held-{protocol}"  # no worker takes it: its jobs stay pending
    with Client(http_url(dev) if protocol == "http" else native_url(dev)) as c:
        view = c.set_limit(kind, rate_per_s=5, max_running=2)
        assert (view["rate_per_s"], view["burst"], view["max_running"]) == (5.0, 5.0, 2)
        assert c.pause_type(kind)["paused"] is True
        jobs = c.submit_batch([job_body(kind, unique_key=f"u{n % 2}") for n in range(4)])
        assert [j.get("deduplicated", False) for j in jobs] == [False, False, True, True]
        listed = {t["type"]: t for t in c.limits()}
        assert listed[kind]["pending"] == 2 and listed[kind]["throttled"] == 2
        assert c.stats()["throttled"][kind] == 2
        assert c.resume_type(kind)["paused"] is False
        assert c.cancel_many(type=kind, status="pending") == 2
        assert c.cancel_many([jobs[0]["id"]]) == 0, "already cancelled"
        assert c.clear_limit(kind)["rate_per_s"] is None
        assert kind not in {t["type"] for t in c.limits()}


def test_a_job_s_retry_policy_and_unique_key_go_through_the_client(dev: LoopbackCluster) -> None:
    with Client(http_url(dev)) as c:
        policy = {"max_retries": 4, "base_s": 0.01, "no_retry_exit_codes": [7]}
        # the job holds its key while it is live: half a second at least
        job = c.submit("shell", {"cmd": "sleep 0.5; exit 7"}, retry=policy, unique_key="nightly")
        again = c.submit("shell", {"cmd": "exit 0"}, unique_key="nightly")
        assert again["id"] == job["id"] and again["deduplicated"] is True
        final = c.wait([job["id"]], timeout=30)[job["id"]]
        assert final["status"] == "dead" and final["attempts"] == 1
        assert final["last_reason"] == "permanent" and final["retry"]["base_s"] == 0.01


def test_the_podium_command_as_typed(
    dev: LoopbackCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--url", http_url(dev)]
    assert main([*url, "limit", "set", "cli-t", "--rate", "50", "--burst", "50",
                 "--max-running", "10"]) == 0  # fmt: skip
    shown = capsys.readouterr().out
    assert "cli-t" in shown and "50" in shown and "10" in shown
    assert main([*url, "--json", "limit", "list"]) == 0
    (entry,) = [t for t in json.loads(capsys.readouterr().out) if t["type"] == "cli-t"]
    assert entry["max_running"] == 10
    assert main([*url, "pause", "cli-t"]) == 0
    assert capsys.readouterr().out.strip() == "cli-t: paused; 0 pending held"
    assert main([*url, "submit", "cli-t", "--unique-key", "k1", "-q"]) == 0
    first = capsys.readouterr().out.strip()
    assert main([*url, "submit", "cli-t", "--unique-key", "k1", "-q"]) == 0
    assert capsys.readouterr().out.strip() == first, "the live job is returned"
    assert main([*url, "submit", "cli-t", "-q", "--count", "2"]) == 0
    ids = capsys.readouterr().out.split()
    assert main([*url, "cancel", *ids]) == 0
    assert capsys.readouterr().out.strip() == "cancelled 2 jobs"
    assert main([*url, "cancel", "--type", "cli-t", "--status", "pending"]) == 0
    assert capsys.readouterr().out.strip() == "cancelled 1 job"
    assert main([*url, "resume", "cli-t"]) == 0
    assert capsys.readouterr().out.strip() == "cli-t: resumed"
    assert main([*url, "limit", "clear", "cli-t"]) == 0
    assert capsys.readouterr().out.strip() == "cli-t: limit cleared"
    assert main([*url, "limit", "clear", "cli-t"]) == 4, "no limit left: not found"
    assert main([*url, "cancel"]) == 2 and "name the jobs" in capsys.readouterr().err
    assert main([*url, "cancel", "x", "--type", "t"]) == 2


def test_a_rate_limit_holds_on_a_real_node(dev: LoopbackCluster) -> None:
    """20 starts a second with bursts of 5: in every window of the log's time, the jobs
    started are at most 20 * window + 5 (``started_at`` is the assignment's log time)."""
    rate, burst, count = 20.0, 5.0, 60
    with Client(http_url(dev)) as c:
        c.set_limit("sleep", rate_per_s=rate, burst=burst)
        try:
            jobs = c.submit_batch([job_body("sleep", {"seconds": 0}) for _ in range(count)])
            final = c.wait([j["id"] for j in jobs], timeout=60)
        finally:
            c.clear_limit("sleep")
    starts = sorted(job["started_at"] for job in final.values())
    assert bound_held(starts, rate, burst)
    spread = starts[-1] - starts[0]
    assert spread >= (count - burst - 1) / rate, f"{count} starts in {spread:.2f} s"


async def test_the_async_client_controls_types_too(dev: LoopbackCluster) -> None:
    async with AsyncClient(native_url(dev)) as c:
        view = await c.set_limit("held-async", max_running=1)
        assert view["max_running"] == 1 and view["rate_per_s"] is None
        assert (await c.pause_type("held-async"))["paused"] is True
        await c.submit("held-async", unique_key="once")
        again = await c.submit("held-async", unique_key="once")
        assert again["deduplicated"] is True
        assert [t["throttled"] for t in await c.limits() if t["type"] == "held-async"] == [1]
        assert (await c.resume_type("held-async"))["paused"] is False
        assert await c.cancel_many(type="held-async") == 1
        assert (await c.clear_limit("held-async"))["max_running"] is None


def test_a_type_with_url_characters_is_the_type_it_names(dev: LoopbackCluster) -> None:
    """A type is one path segment: ``#`` or ``?`` in it never cut the URL short (``etl#2``
    would otherwise pause ``etl``)."""
    with Client(http_url(dev)) as c:
        for kind in ("etl#2", "etl?x=1", "etl 3"):
            assert c.pause_type(kind)["type"] == kind
            assert c.set_limit(kind, rate_per_s=1)["type"] == kind
            assert c.resume_type(kind)["paused"] is False
            assert c.clear_limit(kind)["type"] == kind
        assert not {t["type"] for t in c.limits()} & {"etl", "etl#2", "etl?x=1", "etl 3"}
