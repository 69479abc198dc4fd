"""The process pool with real child processes: reuse, stopping, deaths, recycling, capture."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import trio

from actors.worker.capture import MAX_RESULT_BYTES, OUTPUT_TAIL_BYTES
from actors.worker.handlers import JobContext, JobOutcome, run_job
from actors.worker.pool import PoolBook, ProcessPool
from tests.worker.pool_handlers import HANDLERS, registry


async def run(
    pool: ProcessPool | None,
    job_type: str,
    payload: object,
    timeout_s: float | None = None,
    scope: trio.CancelScope | None = None,
    job_id: str = "job",
) -> JobOutcome:
    context = JobContext(job_id, 1)
    return await run_job(registry(), job_type, payload, timeout_s, context, scope, pool)


async def warm(pool: ProcessPool) -> None:
    """Start the pool's child now, so a job's timeout is not spent starting it."""
    assert (await run(pool, "pool.pid", {})).ok


def zombie(pid: int) -> bool:
    """Dead with all its threads (so it can be reaped), not yet reaped by the pool."""
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state == "Z" and len(os.listdir(f"/proc/{pid}/task")) <= 1


def gone(pid: int) -> bool:
    """Exited and reaped: the pool waits for its children, so none is left a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_sync_handlers_run_in_reused_child_processes() -> None:
    async with ProcessPool(2, [HANDLERS]) as pool:
        first: list[int] = []

        async def one() -> None:
            outcome = await run(pool, "pool.pid", {})
            assert outcome.ok, outcome.error
            first.append(outcome.result)  # type: ignore[arg-type]

        async with trio.open_nursery() as nursery:
            nursery.start_soon(one)
            nursery.start_soon(one)
        later = [(await run(pool, "pool.pid", {})).result for _ in range(4)]
    assert os.getpid() not in first and len(set(first)) == 2
    assert set(later) <= set(first)
    assert all(gone(pid) for pid in first)


async def test_the_thread_pool_runs_handlers_in_the_worker_process() -> None:
    assert (await run(None, "pool.pid", {})).result == os.getpid()


async def test_a_timed_out_handler_is_gone_before_the_next_job_starts(tmp_path: Path) -> None:
    """The issue's case: capacity 1, timeout 1 s, a handler that sleeps 3 s then writes."""
    written, pidfile = tmp_path / "written", tmp_path / "first.pid"
    first = {"seconds": 3, "path": str(written), "pidfile": str(pidfile)}
    outcomes: dict[str, JobOutcome] = {}

    async def job(name: str, job_type: str, payload: object, timeout_s: float | None) -> None:
        outcomes[name] = await run(pool, job_type, payload, timeout_s, job_id=name)

    async with ProcessPool(1, [HANDLERS]) as pool, trio.open_nursery() as nursery:
        await warm(pool)
        nursery.start_soon(job, "first", "pool.sleep_then_write", first, 1.0)
        with trio.fail_after(10):
            while not pidfile.exists():
                await trio.sleep(0.01)
        # waits for the only slot, then checks from inside its handler
        nursery.start_soon(job, "next", "pool.gone", {"pidfile": str(pidfile)}, None)
    assert outcomes["first"].timed_out and outcomes["first"].error == "timed out after 1s"
    assert outcomes["next"].ok and outcomes["next"].result is True
    await trio.sleep(2.5)  # past the 3 s the first handler wanted to sleep
    assert not written.exists()


async def test_the_stop_reaches_the_handler_as_an_exception(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    async with ProcessPool(1, [HANDLERS]) as pool:
        await warm(pool)
        timed_out = await run(pool, "pool.cleanup", {"path": str(seen)}, 1.0)
        assert timed_out.timed_out and seen.read_text() == "SoftTimeLimit"
        await warm(pool)  # the stopped child was replaced
        scope = trio.CancelScope()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: run(pool, "pool.cleanup", {"path": str(seen)}, None, scope))
            await trio.sleep(1.0)
            scope.cancel()
        assert seen.read_text() == "JobCancelled"


async def test_a_handler_that_ignores_its_stop_is_killed_after_the_grace(tmp_path: Path) -> None:
    written, pidfile = tmp_path / "written", tmp_path / "stubborn.pid"
    payload = {"path": str(written), "pidfile": str(pidfile)}
    async with ProcessPool(1, [HANDLERS], kill_grace_s=0.3) as pool:
        await warm(pool)
        outcome = await run(pool, "pool.stubborn", payload, 1.0)
        assert outcome.timed_out
        assert gone(int(pidfile.read_text()))
        replaced = await run(pool, "pool.pid", {})
        assert replaced.ok and replaced.result != int(pidfile.read_text())
    assert not written.exists()


async def test_a_dying_child_fails_only_its_own_job_and_is_replaced() -> None:
    outcomes: dict[str, JobOutcome] = {}

    async def job(name: str, job_type: str, payload: object) -> None:
        outcomes[name] = await run(pool, job_type, payload, job_id=name)

    async with ProcessPool(2, [HANDLERS]) as pool:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(job, "segfault", "pool.crash", {"how": "segfault"})
            nursery.start_soon(job, "neighbour", "pool.spin", {"seconds": 0.5})
        assert outcomes["segfault"].error == "worker process died: signal 11"
        assert outcomes["neighbour"].ok
        exited = await run(pool, "pool.crash", {"how": "exit"})
        assert exited.error == "worker process died: exit code 3"
        assert (await run(pool, "pool.pid", {})).ok


async def test_a_child_killed_while_idle_is_replaced_without_failing_a_job() -> None:
    async with ProcessPool(1, [HANDLERS]) as pool:
        idle = (await run(pool, "pool.pid", {})).result
        assert isinstance(idle, int)
        os.kill(idle, signal.SIGKILL)
        with trio.fail_after(10):
            while not zombie(idle):
                await trio.sleep(0.01)
        replaced = await run(pool, "pool.pid", {})
    assert replaced.ok and replaced.result != idle


async def test_max_jobs_per_child_recycles_children() -> None:
    async with ProcessPool(1, [HANDLERS], max_jobs_per_child=2) as pool:
        pids = [(await run(pool, "pool.pid", {})).result for _ in range(5)]
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]
    assert all(gone(pid) for pid in pids)  # type: ignore[arg-type]


async def test_a_failure_keeps_its_traceback_and_a_bounded_output_tail() -> None:
    async with ProcessPool(1, [HANDLERS]) as pool:
        short = (await run(pool, "pool.noisy", {})).error
        long = (await run(pool, "pool.noisy", {"bytes": 100_000})).error
    lines = short.splitlines()
    assert lines[0] == "ValueError: bad input" and lines[1].startswith("Traceback")
    assert "in noisy" in short and "hello from the handler" in short
    assert "INFO pool-tests: about to fail" in short
    output = long.split("--- output", 1)[1]
    assert OUTPUT_TAIL_BYTES <= len(output) <= OUTPUT_TAIL_BYTES + 100
    assert output.endswith("last words\n") and "hello" not in output


async def test_a_job_failed_keeps_its_message_and_result() -> None:
    async with ProcessPool(1, [HANDLERS]) as pool:
        outcome = await run(pool, "pool.refuse", {})
    assert (outcome.ok, outcome.error, outcome.result) == (False, "not today", {"partial": 1})


@pytest.mark.parametrize("where", ["process", "thread", "async"])
async def test_a_result_too_large_for_a_frame_fails_only_its_job(where: str) -> None:
    reg = registry()

    async def huge(payload: dict[str, int]) -> bytes:
        return b"x" * payload["bytes"]

    reg.register("async.huge", huge)
    job_type = "async.huge" if where == "async" else "pool.huge"
    async with ProcessPool(1, [HANDLERS]) as pool:
        chosen = pool if where == "process" else None
        big = {"bytes": MAX_RESULT_BYTES + 1}
        outcome = await run_job(reg, job_type, big, None, JobContext("big", 1), None, chosen)
        assert not outcome.ok and outcome.result is None
        assert "over the" in outcome.error and "MiB a job result may take" in outcome.error
        small = {"bytes": 1000}
        fits = await run_job(reg, job_type, small, None, JobContext("ok", 1), None, chosen)
        assert fits.ok and fits.result == b"x" * 1000


async def test_a_child_that_cannot_import_the_handlers_fails_the_job_clearly() -> None:
    async with ProcessPool(1, ["tests.worker.no_such_module"]) as pool:
        outcome = await run(pool, "pool.pid", {})
    assert outcome.error.startswith("worker process could not start: ModuleNotFoundError")


async def test_closing_the_pool_kills_a_running_handler(tmp_path: Path) -> None:
    pidfile, written = tmp_path / "stubborn.pid", tmp_path / "written"
    payload = {"path": str(written), "pidfile": str(pidfile)}
    async with trio.open_nursery() as nursery:
        pool = ProcessPool(1, [HANDLERS], kill_grace_s=0.3)
        pool.serve_in(nursery)
        nursery.start_soon(lambda: run(pool, "pool.stubborn", payload))
        with trio.fail_after(20):
            while not pidfile.exists():
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert gone(int(pidfile.read_text()))


def test_the_book_tracks_children_jobs_and_quotas() -> None:
    book: PoolBook[str] = PoolBook(2, max_jobs_per_child=2)
    assert book.take("j1") is None
    book.add("a", "j1")
    assert book.take("j2") is None
    book.add("b", "j2")
    with pytest.raises(RuntimeError):
        book.add("c", "j3")
    assert book.running() == {"j1": "a", "j2": "b"}
    assert book.release("a", reusable=True)
    assert book.take("j3") == "a"
    assert not book.release("a", reusable=True)  # its second job: replace it
    assert not book.release("b", reusable=False)  # stopped or died
    book.remove("a")
    book.remove("b")
    assert book.children() == [] and book.running() == {}
    assert book.take("j4") is None
    with pytest.raises(ValueError):
        PoolBook(0)


async def test_a_timeout_runs_from_when_the_handlers_process_is_ready() -> None:
    """A fresh child takes longer to start than this timeout; the handler does not."""
    async with ProcessPool(1, [HANDLERS]) as pool:
        outcome = await run(pool, "pool.pid", {}, timeout_s=0.05)
    assert outcome.ok, outcome.error
