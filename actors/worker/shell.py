"""The ``shell`` job type: a command in its own process group, with a bounded output tail.

The process starts a new session, so a timeout or a cancel can kill the whole
group (the shell and anything it spawned), first politely (SIGTERM), then
for good (SIGKILL) after a short grace. Output is read as it comes and only
the last ``OUTPUT_TAIL_BYTES`` of each stream are kept in the result, so a
chatty job cannot fill the worker's memory; both streams also go, as they
come, into the attempt's bounded capture (``podium logs``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence

import trio

from actors.payload_rules import payload_problem
from actors.worker.errors import JobFailed
from actors.worker.output import HeadTail
from actors.worker.output_capture import current_sink

__all__ = ["KILL_GRACE_S", "OUTPUT_TAIL_BYTES", "run_shell"]

OUTPUT_TAIL_BYTES = 64 * 1024
KILL_GRACE_S = 2.0


def _command(payload: object) -> tuple[list[str], dict[str, str] | None, str | None]:
    problem = payload_problem("shell", payload)
    if problem is not None:
        raise JobFailed(problem)
    assert isinstance(payload, dict)
    argv: list[str] | None = payload.get("argv")
    command = list(argv) if argv is not None else ["/bin/sh", "-c", payload["cmd"]]
    env: dict[str, str] | None = payload.get("env")
    return command, ({**os.environ, **env} if env else None), payload.get("cwd")


def _allowed(command: list[str], allow: Sequence[str] | None) -> bool:
    if allow is None:
        return True
    program = command[0] if command[0] != "/bin/sh" else "sh"
    return program in allow or os.path.basename(program) in allow


async def _tail(stream: trio.abc.ReceiveStream, sink: bytearray, output: HeadTail | None) -> None:
    while chunk := await stream.receive_some(65536):
        if output is not None:
            output.write(chunk)
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
    # the job's capture takes both streams as they come, interleaved
    output = current_sink()
    try:
        async with trio.open_nursery() as nursery:
            assert process.stdout is not None and process.stderr is not None
            nursery.start_soon(_tail, process.stdout, out, output)
            nursery.start_soon(_tail, process.stderr, err, output)
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
