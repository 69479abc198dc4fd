"""The ``shell`` job type: a command in its own process group, with a bounded output tail.

The process starts a new session, so a timeout or a cancel can kill the whole
group (the shell and anything it spawned), first politely (SIGTERM), then
for good (SIGKILL) after a short grace. Output is read as it comes and only
the last ``OUTPUT_TAIL_BYTES`` of each stream are kept, so a chatty job
cannot fill the worker's memory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence

import trio

from actors.worker.errors import JobFailed

__all__ = ["KILL_GRACE_S", "OUTPUT_TAIL_BYTES", "run_shell"]

OUTPUT_TAIL_BYTES = 64 * 1024
KILL_GRACE_S = 2.0


def _command(payload: object) -> tuple[list[str], dict[str, str] | None, str | None]:
    if not isinstance(payload, dict):
        raise JobFailed('shell needs a payload like {"argv": ["echo", "hi"]} or {"cmd": "..."}')
    argv, cmd = payload.get("argv"), payload.get("cmd")
    if isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv):
        command = list(argv)
    elif isinstance(cmd, str) and cmd:
        command = ["/bin/sh", "-c", cmd]
    else:
        raise JobFailed('shell needs "argv" (a non-empty list of strings) or "cmd" (a string)')
    env = payload.get("env")
    if env is not None and not (
        isinstance(env, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
    ):
        raise JobFailed('"env" must map strings to strings')
    cwd = payload.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise JobFailed('"cwd" must be a string')
    return command, ({**os.environ, **env} if env else None), cwd


def _allowed(command: list[str], allow: Sequence[str] | None) -> bool:
    if allow is None:
        return True
    program = command[0] if command[0] != "/bin/sh" else "sh"
    return program in allow or os.path.basename(program) in allow


async def _tail(stream: trio.abc.ReceiveStream, sink: bytearray) -> None:
    while chunk := await stream.receive_some(65536):
        sink += chunk
        if len(sink) > 2 * OUTPUT_TAIL_BYTES:
            del sink[:-OUTPUT_TAIL_BYTES]


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


async def run_shell(payload: object, allow: Sequence[str] | None) -> dict[str, object]:
    command, env, cwd = _command(payload)
    if not _allowed(command, allow):
        raise JobFailed(f"{command[0]!r} is not in this worker's shell allow-list")
    try:
        process = await trio.lowlevel.open_process(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        raise JobFailed(f"could not start {command[0]!r}: {exc}") from None
    out, err = bytearray(), bytearray()
    try:
        async with trio.open_nursery() as nursery:
            assert process.stdout is not None and process.stderr is not None
            nursery.start_soon(_tail, process.stdout, out)
            nursery.start_soon(_tail, process.stderr, err)
            code = await process.wait()
    except BaseException:
        with trio.CancelScope(shield=True):
            _kill_group(process.pid, signal.SIGTERM)
            with trio.move_on_after(KILL_GRACE_S):
                await process.wait()
            _kill_group(process.pid, signal.SIGKILL)
            await process.wait()
        raise
    result: dict[str, object] = {
        "exit_code": code,
        "stdout": out[-OUTPUT_TAIL_BYTES:].decode(errors="replace"),
        "stderr": err[-OUTPUT_TAIL_BYTES:].decode(errors="replace"),
    }
    if code != 0:
        raise JobFailed(f"exit code {code}", result)
    return result
