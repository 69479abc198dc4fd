"""Built-in handlers, user handlers, timeouts, cancellation and the output tail."""

from __future__ import annotations

import os
from pathlib import Path

import trio

from actors.worker.handlers import HandlerRegistry, JobContext, run_job
from actors.worker.shell import OUTPUT_TAIL_BYTES

CTX = JobContext("job-1", 1)


async def test_noop_and_sleep() -> None:
    reg = HandlerRegistry()
    assert (await run_job(reg, "noop", None, None, CTX)).ok
    slept = await run_job(reg, "sleep", {"seconds": 0.01}, None, CTX)
    assert slept.ok and slept.result == {"slept": 0.01}
    bad = await run_job(reg, "sleep", {"seconds": "x"}, None, CTX)
    assert not bad.ok and "seconds" in bad.error


async def test_shell_argv_env_cwd(tmp_path: Path) -> None:
    payload = {
        "argv": ["sh", "-c", "echo $GREETING; pwd"],
        "env": {"GREETING": "hi"},
        "cwd": str(tmp_path),
    }
    out = await run_job(HandlerRegistry(), "shell", payload, None, CTX)
    assert out.ok and out.result["stdout"].split() == ["hi", str(tmp_path)]  # type: ignore[index]


async def test_shell_nonzero_exit_keeps_the_output() -> None:
    out = await run_job(HandlerRegistry(), "shell", {"cmd": "echo oops >&2; exit 4"}, None, CTX)
    assert not out.ok and out.error == "exit code 4"
    assert out.result == {"exit_code": 4, "stdout": "", "stderr": "oops\n"}


async def test_shell_output_is_a_bounded_tail() -> None:
    cmd = f"head -c {OUTPUT_TAIL_BYTES * 3} /dev/zero | tr '\\0' a; printf END"
    out = await run_job(HandlerRegistry(), "shell", {"cmd": cmd}, None, CTX)
    stdout = out.result["stdout"]  # type: ignore[index]
    assert len(stdout) == OUTPUT_TAIL_BYTES and stdout.endswith("END")


def _gone(pid: int) -> bool:
    """Dead, or a zombie nobody reaped yet (PID 1 in a container may not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    cmd = f"sleep 30 & echo $! > {pidfile}; wait"
    out = await run_job(HandlerRegistry(), "shell", {"cmd": cmd}, 0.5, CTX)
    assert out.timed_out and not out.ok
    await trio.sleep(0.1)
    assert _gone(int(pidfile.read_text()))


async def test_cancelling_a_job_stops_its_process(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    with trio.move_on_after(0.5):
        await run_job(
            HandlerRegistry(), "shell", {"cmd": f"echo $$ > {pidfile}; sleep 30"}, None, CTX
        )
    await trio.sleep(0.1)
    assert _gone(int(pidfile.read_text()))


async def test_allow_list_refuses_without_starting() -> None:
    reg = HandlerRegistry(shell_allow=["echo"])
    assert (await run_job(reg, "shell", {"argv": ["echo", "ok"]}, None, CTX)).ok
    refused = await run_job(reg, "shell", {"argv": ["rm", "-rf", "/nothing"]}, None, CTX)
    assert not refused.ok and "allow-list" in refused.error


async def test_user_handlers_sync_async_errors_and_bad_results() -> None:
    reg = HandlerRegistry()

    @reg.handler("add")
    def add(payload: dict[str, int], context: JobContext) -> int:
        return payload["a"] + payload["b"] + context.attempt

    @reg.handler("boom")
    async def boom(payload: object) -> None:
        raise RuntimeError("no luck")

    reg.register("weird", lambda payload: object())
    assert (await run_job(reg, "add", {"a": 1, "b": 2}, None, CTX)).result == 4
    boom_error = (await run_job(reg, "boom", {}, None, CTX)).error.splitlines()
    # the summary first, then the traceback from the handler's own frame down
    assert boom_error[:2] == ["RuntimeError: no luck", "Traceback (most recent call last):"]
    assert "in boom" in boom_error[2] and "actors/worker" not in boom_error[2]
    assert "cannot be stored" in (await run_job(reg, "weird", {}, None, CTX)).error
    assert "no handler" in (await run_job(reg, "missing", {}, None, CTX)).error


async def test_a_sync_handler_does_not_block_the_loop() -> None:
    reg = HandlerRegistry()

    def spin(payload: object) -> str:
        deadline = __import__("time").monotonic() + 0.3
        while __import__("time").monotonic() < deadline:
            pass
        return "done"

    reg.register("spin", spin)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.sleep(0.01)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        assert (await run_job(reg, "spin", None, None, CTX)).ok
        nursery.cancel_scope.cancel()
    assert ticks >= 10


def test_load_module_registers_decorated_handlers() -> None:
    reg = HandlerRegistry()
    reg.load_module("examples.handlers_demo")
    assert {"count_primes", "greet"} <= set(reg.types())


def test_a_worker_node_takes_its_allow_list_from_the_config() -> None:
    from actors.roles import worker_actor
    from runtime.config import config_from_dict

    config = config_from_dict(
        {"role": "worker", "masters": ["127.0.0.1:7001"], "shell_allow": ["echo", "ls"]},
        source="test",
    )
    registry = worker_actor(config).registry
    try:
        assert registry.shell_allow == ("echo", "ls")
    finally:
        registry.shell_allow = None
