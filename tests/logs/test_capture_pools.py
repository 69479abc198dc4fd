"""Capture in every place a handler runs: the process pool, threads, the trio loop, shell."""

from __future__ import annotations

import contextvars
import io
import logging
import sys
import threading

import pytest
import trio

from actors.worker.handlers import HandlerRegistry, JobContext, run_job
from actors.worker.output import HeadTail
from actors.worker.output_capture import capturing
from actors.worker.pool import ProcessPool
from tests.logs.captures import rendered

HANDLERS = "tests.logs.output_handlers"


def registry() -> HandlerRegistry:
    reg = HandlerRegistry()
    reg.load_module(HANDLERS)
    return reg


async def captured(
    job_type: str, payload: object, pool: ProcessPool | None = None, limit: int = 1 << 20
) -> tuple[bool, str]:
    out = HeadTail(limit)
    with capturing(out):
        outcome = await run_job(registry(), job_type, payload, 10, JobContext("j", 2), None, pool)
    return outcome.ok, rendered(out).decode()


SYNC_LINES = ["printed p attempt 2", "stderr p", "WARNING output-tests: logged p"]


async def test_the_process_pool_streams_print_stderr_and_logging() -> None:
    async with ProcessPool(1, [HANDLERS]) as pool:
        ok, text = await captured("out.sync", {"tag": "p"}, pool)
    assert ok and text.splitlines() == SYNC_LINES


async def test_the_thread_pool_captures_print_stderr_and_logging() -> None:
    ok, text = await captured("out.sync", {"tag": "p"})
    assert ok and text.splitlines() == SYNC_LINES


async def test_async_handlers_running_together_each_capture_their_own() -> None:
    texts: dict[str, str] = {}

    async def one(tag: str) -> None:
        texts[tag] = (await captured("out.async", {"tag": tag}))[1]

    async with trio.open_nursery() as nursery:
        for tag in "abc":
            nursery.start_soon(one, tag)
    for tag in "abc":
        assert texts[tag].splitlines() == [
            f"printed {tag}",
            f"WARNING output-tests: logged {tag}",
            f"after {tag}",
        ]


async def test_a_shell_jobs_stdout_and_stderr_are_captured() -> None:
    ok, text = await captured("shell", {"cmd": "echo out; sleep 0.1; echo err >&2"})
    assert ok and text == "out\nerr\n"


async def test_a_flood_from_a_child_is_cut_to_head_and_tail_and_the_job_succeeds() -> None:
    lines = 200_000  # 2.6 MB printed, over a 64 KiB capture
    async with ProcessPool(1, [HANDLERS]) as pool:
        ok, text = await captured("out.flood", {"lines": lines}, pool, limit=64 * 1024)
    assert ok
    assert text.startswith("line 00000000\n") and text.endswith(f"line {lines - 1:08d}\n")
    assert "bytes of output cut" in text and len(text) < 64 * 1024 + 100


async def test_writes_outside_a_job_are_not_captured(capsys: pytest.CaptureFixture[str]) -> None:
    """While a job captures, writes from a thread that is not the job's (it runs in a
    context of its own, without the job's) go where they always went."""
    out = HeadTail(1000)

    def elsewhere() -> None:
        print("not a job's")
        print("nor this", file=sys.stderr)

    with capturing(out):
        print("the job's")
        thread = threading.Thread(target=contextvars.Context().run, args=(elsewhere,))
        thread.start()
        thread.join(10)
        assert not thread.is_alive()
        print("the job's again", file=sys.stderr)
    print("after the job")
    assert rendered(out).decode() == "the job's\nthe job's again\n"
    written = capsys.readouterr()
    assert (written.out, written.err) == ("not a job's\nafter the job\n", "nor this\n")


def test_a_users_logger_named_like_podium_is_captured_and_podiums_own_are_not() -> None:
    """Only podium's loggers (``podium`` and ``podium.*``) stay out of a job's capture: a
    handler's ``podium_etl`` logger is the user's, and its records are the job's."""
    out = HeadTail(1000)
    with capturing(out):
        logging.getLogger("podium_etl").warning("loaded %d rows", 3)
        logging.getLogger("podium").warning("podium's own")
        logging.getLogger("podium.worker").warning("podium's worker")
    assert rendered(out).decode() == "WARNING podium_etl: loaded 3 rows\n"


def test_a_job_is_captured_after_its_streams_and_log_handlers_were_swapped_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The routing is checked at every job, so one that starts after something replaced
    ``sys.stdout`` (as pytest does between a test's phases) or reset the root logger's
    handlers is still captured, and what is written outside it goes to the new stream."""
    with capturing(HeadTail(1000)):
        pass
    swapped = io.StringIO()
    monkeypatch.setattr(sys, "stdout", swapped)
    monkeypatch.setattr(logging.root, "handlers", [])
    out = HeadTail(1000)
    with capturing(out):
        print("the job's")
        logging.getLogger("user").warning("logged")
    print("not the job's")
    assert rendered(out).decode() == "the job's\nWARNING user: logged\n"
    assert swapped.getvalue() == "not the job's\n"
