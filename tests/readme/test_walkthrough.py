"""README's walkthrough, run as written: every shell block of its "Walkthrough" section, in
order, so the README cannot drift from what the commands do.

Two terminals, as the README has them. A block whose first line is a ``# terminal 1``
comment starts servers: it runs in the background in its own session, and the next such
block first stops it as Ctrl-C would (SIGINT to its process group). Every other block runs
in one bash that lives through the whole walkthrough (terminal 2: ``source``, ``export`` and
shell variables carry over), each command checked for its exit status: 0, or the N of an
``# exits N`` comment on its line. No output may hold a traceback of podium's own code.

What differs from a person's machine, and only that: the blocks run in a temporary folder
laid out as a checkout (the venv and the Makefile linked in; ``make`` on the PATH is
``make -o .venv/.installed``, so it takes the venv as installed, and with no
pyproject.toml there it could not install into it from that folder anyway), with this
tree's code on PYTHONPATH, and every port the README names
(127.0.0.1:NNNN) mapped to a free one: the dev node's 8080 and 7001 through its
``PODIUM_HTTP__LISTEN`` / ``PODIUM_LISTEN`` settings and terminal 2's ``PODIUM_URL``, the
others by rewriting the port in the block's text.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.loopback import free_ports

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
ADDRESS = re.compile(r"127\.0\.0\.1:(\d+)")
EXITS = re.compile(r"#\s*exits (\d+)")
HEREDOC = re.compile(r"<<-?\s*'?(\w+)'?")
DONE = "::block-done"
FAILED = "::failed"
# the dev node's ports (`make run` names none: they are its defaults)
DEV_HTTP, DEV_LISTEN = 8080, 7001

# what each block must show, besides running cleanly: (a command in the block, fragments of
# its output); a README change that breaks one of these is a change of what a user sees
EXPECTED: list[tuple[str, list[str]]] = [
    ("echo hello", ["stdout:\nhello", "succeeded"]),
    ("cat > myjobs.py", []),
    ('"name": "ada"', ['"hello ada"', "succeeded"]),
    (
        'podium status "$ID"',
        [
            "dead",
            "2 of 2",
            "ValueError: amount 500 is over the limit of 100",
            "earlier attempts:\n  #1 on m1",
        ],
    ),
    ("podium list --status dead", ["dead", "charge"]),
    ("python - <<'EOF'", ["succeeded {'charged': 500}"]),
    ("export PODIUM_URL", ["leader", "m2", "m3", "w1", '"hello cluster"']),
]


def crashed(output: str) -> bool:
    """Whether podium's own code raised: a traceback through this tree or the venv (a failed
    job's error shows the handler's traceback, through the user's file, as it should)."""
    files = re.findall(r'^\s*File "([^"]+)"', output, re.M)
    return any(f.startswith((str(ROOT), str(VENV))) for f in files)


def walkthrough() -> list[str]:
    """The shell blocks of README's Walkthrough section, in order."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Walkthrough\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def commands(block: str) -> Iterator[tuple[str, int]]:
    """Each command of a block (continued lines and here-documents included) and the exit
    status it should have."""
    lines = block.splitlines()
    at = 0
    while at < len(lines):
        text = lines[at]
        at += 1
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        while text.endswith("\\") and at < len(lines):
            text += "\n" + lines[at]
            at += 1
        heredoc = HEREDOC.search(text.split("\n")[0])
        if heredoc:
            while at < len(lines):
                text += "\n" + lines[at]
                at += 1
                if lines[at - 1].strip() == heredoc[1]:
                    break
        expected = EXITS.search(text.split("\n")[0])
        yield text, int(expected[1]) if expected else 0


def checked(block: str) -> str:
    """The block as a script that reports every command whose exit status is not the
    expected one (and goes on, as a person would, to show everything that went wrong)."""
    out = []
    for n, (command, status) in enumerate(commands(block)):
        out += [command, f'__rc=$?; [ "$__rc" = {status} ] || '
                f'echo "{FAILED} command {n} exited $__rc, not {status}"']  # fmt: skip
    return "\n".join(out) + "\n"


class Terminal:
    """One bash for the whole walkthrough (terminal 2), fed one block at a time."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.shell = subprocess.Popen(
            ["bash", "--norc", "--noprofile"], cwd=cwd, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.shell.stdout is not None
        for line in self.shell.stdout:
            self.lines.put(line)

    def run(self, n: int, block: str, timeout: float = 60.0) -> str:
        script = self.cwd / f".block{n}.sh"
        script.write_text(checked(block))
        assert self.shell.stdin is not None
        # sourced (so the shell keeps its variables), its commands reading no stdin of ours
        self.shell.stdin.write(f"source {script} < /dev/null; echo {DONE}\n")
        self.shell.stdin.flush()
        out: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"block {n} still running after {timeout} s:\n"
                                     + "".join(out)) from None  # fmt: skip
            if line.strip() == DONE:
                return "".join(out)
            out.append(line)

    def close(self) -> None:
        stop(self.shell, signal.SIGTERM)


def stop(process: subprocess.Popen[str], how: signal.Signals) -> None:
    """Signal the process group (Ctrl-C in a terminal is SIGINT to its foreground group)."""
    try:
        os.killpg(process.pid, how)
        process.wait(timeout=30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def ready(url: str, timeout: float = 60.0, *, workers: bool = False) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200 and (
                not workers or httpx.get(f"{url}/api/v1/workers", timeout=2).json()["workers"]
            ):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready in {timeout} s")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A folder shaped like the checkout, for a walkthrough that writes files into it."""
    (tmp_path / "Makefile").symlink_to(ROOT / "Makefile")
    (tmp_path / ".venv").symlink_to(VENV)
    shims = tmp_path / ".bin"
    shims.mkdir()
    make = shutil.which("make")
    assert make is not None
    (shims / "make").write_text(f'#!/bin/sh\nexec {make} -o .venv/.installed "$@"\n')
    (shims / "make").chmod(0o755)
    return tmp_path


def test_the_readme_walkthrough_runs_as_written(checkout: Path) -> None:
    blocks = walkthrough()
    assert len([b for b in blocks if b.startswith("# terminal 1")]) == 4, blocks
    text = "".join(blocks)
    named = sorted({int(p) for p in ADDRESS.findall(text)} - {DEV_HTTP, DEV_LISTEN})
    dev_http, dev_listen, *others = free_ports(2 + len(named))
    ports = {DEV_HTTP: dev_http, DEV_LISTEN: dev_listen, **dict(zip(named, others, strict=True))}
    base = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        # nothing of the venv's until the README activates it
        "PATH": f"{checkout / '.bin'}:/usr/bin:/bin",
        "COLUMNS": "80",
        "PODIUM_TOKEN_FILE": str(checkout / ".token"),
    }
    base.pop("PODIUM_URL", None)
    base.pop("VIRTUAL_ENV", None)
    terminal2 = Terminal(checkout, {**base, "PODIUM_URL": f"http://127.0.0.1:{dev_http}"})
    server: subprocess.Popen[str] | None = None
    started_at = 0  # the block that started `server`
    expected = iter(EXPECTED)
    started = time.monotonic()
    try:
        for n, raw in enumerate(blocks):
            block = ADDRESS.sub(lambda m: f"127.0.0.1:{ports[int(m[1])]}", raw)
            if block.startswith("# terminal 1"):
                if server is not None:
                    stop(server, signal.SIGINT)  # Ctrl-C
                    said = (checkout / f".terminal1-{started_at}.log").read_text()
                    assert "node stopped" in said and not crashed(said), said
                server = start_servers(block, checkout, base, dev_http, dev_listen, n)
                started_at = n
                wait_servers(block, dev_http)
                continue
            out = terminal2.run(n, block)
            print(f"--- block {n}\n{raw}{out}")
            assert FAILED not in out, out
            assert not crashed(out), out
            command, fragments = next(expected)
            assert command in raw, f"block {n} is not the one expected next ({command!r})"
            for fragment in fragments:
                assert fragment in out, f"{fragment!r} not in block {n}'s output:\n{out}"
        assert next(expected, None) is None, "a block this test expects is gone from README"
    finally:
        terminal2.close()
        if server is not None:
            stop(server, signal.SIGTERM)  # the cluster's masters run in the background
    print(f"walkthrough: {time.monotonic() - started:.1f} s")


def start_servers(
    block: str, cwd: Path, base: dict[str, str], dev_http: int, dev_listen: int, n: int
) -> subprocess.Popen[str]:
    env = dict(base)
    if "make run" in block:
        env |= {"PODIUM_HTTP__LISTEN": f"127.0.0.1:{dev_http}",
                "PODIUM_LISTEN": f"127.0.0.1:{dev_listen}"}  # fmt: skip
    log = (cwd / f".terminal1-{n}.log").open("w")
    with log:
        return subprocess.Popen(
            ["bash", "-c", block], cwd=cwd, env=env, text=True, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def wait_servers(block: str, dev_http: int) -> None:
    """Until the block's servers answer: the dev node, or every master with a worker."""
    https = [int(p) for p in re.findall(r"--http 127\.0\.0\.1:(\d+)", block)]
    for port in https or [dev_http]:
        ready(f"http://127.0.0.1:{port}", workers=True)
