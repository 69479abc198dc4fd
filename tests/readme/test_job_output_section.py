"""README's "Job output" section, its ``sh`` and ``python`` blocks run as written against a
real dev node (``localhost:8080`` standing for the node's HTTP address)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dev_node import dev_node_url

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```", re.M | re.S)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from dev_node_url(tmp_path_factory, "readme-output")


def section_blocks() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## Job output\n")
    return BLOCK.findall(text[start : text.index("\n## ", start + 1)])


def test_the_job_output_section_runs_as_written(node: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PODIUM_URL": node,
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    outputs = []
    for language, text in section_blocks():
        program = text.replace("localhost:8080", node.removeprefix("http://"))
        argv = (
            ["bash", "-e", "-c", program] if language == "sh" else [sys.executable, "-c", program]
        )
        done = subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0 and "Traceback" not in done.stderr, f"{text}\n{done.stderr}"
        outputs.append(done.stdout)
    shell, python = outputs
    # followed, read again, read by attempt: three times the same two lines
    assert shell.splitlines() == ["starting", "done"] * 3
    assert python == "hello from a job\n" * 2
