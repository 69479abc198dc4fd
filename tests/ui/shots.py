"""Screenshots of the dashboard: into the test's output, and into docs/ for the README
when ``PODIUM_UPDATE_SCREENSHOTS=1``.

The variable is taken out of the environment when this module is first imported (the
folder's conftest does so before any test runs): the nodes the tests start inherit the
environment, and a node refuses every ``PODIUM_*`` variable that is not a setting.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[2] / "docs"
UPDATE = os.environ.pop("PODIUM_UPDATE_SCREENSHOTS", "") == "1"


def screenshot(tab: Any, out: Path, name: str) -> Path:
    """The page as the PNG ``out/name``, copied to ``docs/name`` when updating."""
    path = out / name
    tab.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    if UPDATE:
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS / name)
    return path
