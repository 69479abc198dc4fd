"""Start-up mistakes a new user makes: one line naming the setting, exit code 2, and
nothing listening yet (checked with real node processes)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio

from runtime.config import load_config
from runtime.node import run_node
from tests.ports import free_port


def start(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.node", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"},
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    return lines[0]


def ports_with(holder: socket.socket, taken: str) -> tuple[str, list[str]]:
    """``holder`` listens on a port; the node's flags give that port to ``taken``."""
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    busy = f"127.0.0.1:{holder.getsockname()[1]}"
    ports = {"--listen": f"127.0.0.1:{free_port()}", "--http": f"127.0.0.1:{free_port()}"}
    ports[taken] = busy
    return busy, ["--listen", ports["--listen"], "--http", ports["--http"]]


@pytest.mark.parametrize("taken", ["--listen", "--http"])
def test_a_port_in_use_is_named_with_its_flag(tmp_path: Path, taken: str) -> None:
    with socket.socket() as holder:
        busy, args = ports_with(holder, taken)
        line = one_line(start(tmp_path, "--data", str(tmp_path / "d"), *args))
    assert line == (
        f"podium: cannot listen on {busy} (address in use); is another node running? use {taken}"
    )
    assert not (tmp_path / "d" / "raft.db").exists(), "checked before anything started"


def test_a_data_directory_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    ports = ("--http", "", "--listen", f"127.0.0.1:{free_port()}")
    line = one_line(start(tmp_path, "--data", str(blocker / "data"), *ports))
    assert line.startswith(f"podium: cannot create data directory {blocker / 'data'} (")
    assert line.endswith("); use --data")


def test_handler_modules_are_imported_before_anything_listens(tmp_path: Path) -> None:
    ports = ("--listen", f"127.0.0.1:{free_port()}", "--http", f"127.0.0.1:{free_port()}")
    data = ("--data", str(tmp_path / "d"))
    line = one_line(start(tmp_path, *data, *ports, "--handlers", "nosuch.module"))
    assert line == (
        "podium: cannot import handlers module 'nosuch.module' (No module named 'nosuch'); "
        "use --handlers with a module on the import path (the current directory is on it)"
    )
    (tmp_path / "broken.py").write_text("raise RuntimeError('missing API key')\n")
    line = one_line(start(tmp_path, *data, *ports, "--handlers", "broken"))
    assert line == (
        "podium: handlers module 'broken' failed to import: RuntimeError: missing API key; "
        "fix it or leave it out of --handlers"
    )


@pytest.mark.parametrize("taken", ["--listen", "--http"])
async def test_a_port_taken_after_the_check_is_the_same_one_line(
    tmp_path: Path, taken: str
) -> None:
    """Another process binds the port between preflight and the node's own bind."""
    with socket.socket() as holder:
        busy, args = ports_with(holder, taken)
        config = load_config(["--data", str(tmp_path / "d"), *args])
        line = await run_node(config)
    assert line == (
        f"cannot listen on {busy} (address in use); is another node running? use {taken}"
    )


async def test_a_node_run_again_in_the_same_process_serves_its_own_master(
    tmp_path: Path,
) -> None:
    """The API's operations are built per running node: after a node that could not start,
    a second one in the same process (as a program embedding podium, or a test, runs
    them) answers from its own master, not the stopped one's."""
    with socket.socket() as holder:
        _, args = ports_with(holder, "--listen")
        failed = load_config(["--data", str(tmp_path / "first"), *args])
        assert await run_node(failed) is not None
    http = free_port()
    second = load_config(
        ["--data", str(tmp_path / "second"), "--listen", f"127.0.0.1:{free_port()}",
         "--http", f"127.0.0.1:{http}", "--id", "m2"]
    )  # fmt: skip
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_node, second)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http}") as client:
            with trio.fail_after(30):
                while True:
                    try:
                        answer = await client.get("/api/v1/cluster")
                        if answer.status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await trio.sleep(0.05)
        assert answer.json()["node"] == "m2", answer.text
        nursery.cancel_scope.cancel()
