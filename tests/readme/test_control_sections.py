"""README's sections on limits, unique jobs, retry policies, pausing and bulk cancels, run as
written against a real dev node, in order.

Every ``sh`` block runs in bash (``-e``: each command must exit 0) and every ``python``
block in Python, in one temporary folder, with ``PODIUM_URL`` naming the node and this
tree's code on ``PYTHONPATH``; ``localhost:8080`` in a block is the node's HTTP address.
A ``python`` block that is a handler module (it starts with a ``# ... --handlers``
comment) is imported, not run: a worker loads it. Each block's output must hold what
:data:`EXPECTED` says, and no traceback.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dev_node import dev_node_url

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = (
    "Rate and concurrency limits",
    "Unique jobs",
    "Retry policy",
    "Pausing a type and cancelling in bulk",
)
BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```", re.M | re.S)
# (a fragment of a block, fragments of its output)
EXPECTED = [
    ('"max_running": 10}', ['"tokens": 50.0', '"limits": [{"type": "resize"', "mail"]),
    ("podium.limits()", ["'type': 'resize'"]),
    ('"unique_key": "report-7"', ['"deduplicated":true']),
    ("report-8", ["'deduplicated': True"]),
    ("exit 64", ['"status":"pending"']),
    ('"argv": ["false"]', ["dead 3 error"]),
    ("podium pause resize", ["resize: paused; 0 pending held", '"paused": false']),
    ("later.txt", ['{"cancelled":3}', "cancelled 0 jobs"]),
    ("pause_type", ["3\n0\n"]),
]


def blocks() -> list[tuple[str, str]]:
    """(language, text) of every code block of the sections, in order."""
    text = (ROOT / "README.md").read_text()
    found: list[tuple[str, str]] = []
    for title in SECTIONS:
        start = text.index(f"\n## {title}\n")
        end = text.index("\n## ", start + 1)
        found += BLOCK.findall(text[start:end])
    return found


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from dev_node_url(tmp_path_factory, "readme-control")


def test_the_sections_run_as_written(node: str, tmp_path: Path) -> None:
    found = blocks()
    assert len(found) >= 10, "the sections' blocks were not found"
    address = node.removeprefix("http://")
    env = {
        **os.environ,
        "PODIUM_URL": node,
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    outputs: list[tuple[str, str]] = []
    for language, text in found:
        if language == "python" and "--handlers" in text.splitlines()[0]:
            module = tmp_path / "handlers_from_readme.py"
            module.write_text(text)
            spec = importlib.util.spec_from_file_location("handlers_from_readme", module)
            assert spec is not None and spec.loader is not None
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
            continue
        program = text.replace("localhost:8080", address)
        argv = (
            ["bash", "-e", "-c", program] if language == "sh" else [sys.executable, "-c", program]
        )
        done = subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0 and "Traceback" not in output, f"{text}\n---\n{output}"
        outputs.append((text, output))
    for fragment, wanted in EXPECTED:
        (output,) = [out for text, out in outputs if fragment in text]
        for piece in wanted:
            assert piece in output, f"{fragment!r}: {piece!r} not in\n{output}"
