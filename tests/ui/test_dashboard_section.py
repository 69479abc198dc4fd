"""README's "Dashboard" section: its ``sh`` block run as written against a real dev node
(``localhost:8080`` standing for the node's address), and the screenshots it shows kept
in docs/."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dev_node import dev_node_url

ROOT = Path(__file__).resolve().parents[2]


def section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## Dashboard\n")
    return text[start : text.index("\n## ", start + 1)]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from dev_node_url(tmp_path_factory, "readme-dashboard")


def test_the_dashboard_section_runs_as_written(node: str) -> None:
    [block] = re.findall(r"^```sh\n(.*?)^```", section(), re.M | re.S)
    program = block.replace("localhost:8080", node.removeprefix("http://"))
    done = subprocess.run(["bash", "-e", "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    first, view = done.stdout.split("\n", 1)
    assert first == "<!doctype html>"
    [master] = json.loads(view)["masters"]
    assert master["node"] == "m1" and master["reachable"] is True


def test_the_screenshots_it_shows_are_in_docs() -> None:
    shown = re.findall(r"!\[[^\]]*\]\((docs/[\w.-]+\.png)\)", section())
    assert shown == ["docs/dashboard.png", "docs/dashboard-job.png"]
    for path in shown:
        assert (ROOT / path).read_bytes().startswith(b"\x89PNG")
