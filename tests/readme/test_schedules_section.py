"""README's "Schedules" section, run as written against a dev node: every command of its
shell blocks (curl and ``podium``) and its Python block, with only the dev node's address
changed to the free port the test's node listens on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dev_node import dev_node_url

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```(sh|python)\n(.*?)```", re.S)


def section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## Schedules\n")
    return text[start : text.index("\n## ", start + 1)]


def blocks(kind: str) -> list[str]:
    return [body for found, body in BLOCK.findall(section()) if found == kind]


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from dev_node_url(tmp_path_factory, "readme-schedules")


def run(command: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PODIUM_URL": url,
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PODIUM_TOKEN_FILE": os.devnull,
    }
    return subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=env, timeout=60
    )


def test_the_shell_blocks_run_as_written(dev: str) -> None:
    address = dev.removeprefix("http://")
    said = []
    for block in blocks("sh"):
        for line in block.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            done = run(line.replace("localhost:8080", address), dev)
            assert done.returncode == 0, (line, done.stdout, done.stderr)
            if line.startswith("curl"):
                answer = json.loads(done.stdout)
                assert "error" not in answer, (line, answer)
            said.append(done.stdout)
    output = "\n".join(said)
    assert '"name": "cleanup"' in output and '{"deleted":1}' in output
    assert "beat: defined, paused (every 30s)" in output
    assert "nightly: resumed; next run " in output


def test_the_python_block_runs_as_written(dev: str) -> None:
    (code,) = blocks("python")
    done = run(f"{sys.executable} - <<'EOF'\n{code.replace('http://127.0.0.1:8080', dev)}EOF", dev)
    assert done.returncode == 0, done.stderr
    next_run, names = done.stdout.splitlines()
    assert float(next_run) > 0 and "'report'" in names
