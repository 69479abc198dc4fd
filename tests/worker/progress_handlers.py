"""Handlers that report progress and then wait for a file (``--handlers`` loads them):
sync ones run in the process pool, the async one on the worker's loop."""

from __future__ import annotations

import time
from pathlib import Path

import trio

from actors.worker.handlers import JobContext, handler

HOLD_S = 30.0


@handler("progress.hold")
def hold(payload: dict[str, str], ctx: JobContext) -> str:
    """Report twice (only the latest counts), then hold until ``release`` exists."""
    ctx.progress(0.1, "starting")
    ctx.progress(0.4, "resized 40 of 100")
    deadline = time.monotonic() + HOLD_S
    while not Path(payload["release"]).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return "released"


@handler("progress.hold_async")
async def hold_async(payload: dict[str, str], ctx: JobContext) -> str:
    ctx.progress(0.75, "async three quarters")
    with trio.move_on_after(HOLD_S):
        while not Path(payload["release"]).exists():
            await trio.sleep(0.02)
    return "released"
