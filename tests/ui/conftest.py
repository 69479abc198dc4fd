"""The browser the dashboard's tests drive: the system's chromium through Playwright.

Playwright never downloads a browser here; it launches ``/usr/bin/chromium`` (the
Debian package, which CI installs). Without it, or without the playwright package,
every test in this folder is skipped, saying which is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tests.ui.shots  # noqa: F401  (takes PODIUM_UPDATE_SCREENSHOTS out before any node starts)

CHROMIUM = Path("/usr/bin/chromium")
# chromium's own background traffic (updates, sync, QUIC probes) stays off: the tests
# run on machines without internet access
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Session-scoped, so it is set up (or skips) before any node a test module starts."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"no chromium at {CHROMIUM}: install the Debian package (apt-get install "
            "chromium) to run the dashboard's browser tests"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="the playwright package is not installed (pip install -e '.[dev]')",
    )
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab (its own sessionStorage: logged out) that fails the test on a script
    error."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"the page raised: {errors}"
