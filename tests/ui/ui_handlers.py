"""Handlers the dashboard's browser tests run on a real node (``--handlers``): one that
prints, reports progress and waits to be released, one that fails until it is fixed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from actors.worker.handlers import JobContext, handler

HOLD_S = 60.0


def _wait_for(path: str) -> None:
    deadline = time.monotonic() + HOLD_S
    while not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@handler("ui.steps")
def steps(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Print a line and report half done, hold until ``release`` exists, print another."""
    print("line one", flush=True)
    ctx.progress(0.5, "half way")
    _wait_for(payload["release"])
    print("line two", flush=True)
    return {"steps": 2}


@handler("ui.flaky")
def flaky(payload: dict[str, Any], ctx: JobContext) -> str:
    """Fail (a traceback in the job's error) until the file ``fix`` exists."""
    if not Path(payload["fix"]).exists():
        raise ValueError(f"not fixed yet: {payload['fix']} is missing")
    return "fixed"
