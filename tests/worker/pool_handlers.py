"""Sync handlers for the process pool tests, imported by the pool's children by name.

Each takes a JSON-like payload, so the same handlers serve the pool tests
(through ``run_job``) and a real node (``--handlers tests.worker.pool_handlers``).
``HANDLERS`` and ``registry()`` are the pool tests' way to name and load them.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

from actors.worker.errors import JobFailed, JobInterrupted
from actors.worker.handlers import HandlerRegistry, JobContext, handler

log = logging.getLogger("pool-tests")

HANDLERS = "tests.worker.pool_handlers"


def registry() -> HandlerRegistry:
    reg = HandlerRegistry()
    reg.load_module(HANDLERS)
    return reg


def spin(seconds: float) -> int:
    """Pure CPU for ``seconds`` (holds the GIL all along); the number of loops."""
    deadline = time.monotonic() + seconds
    loops = 0
    while time.monotonic() < deadline:
        loops += 1
    return loops


@handler("pool.pid")
def pid(payload: dict[str, object]) -> int:
    return os.getpid()


@handler("pool.spin")
def cpu(payload: dict[str, float]) -> dict[str, int]:
    return {"pid": os.getpid(), "loops": spin(payload["seconds"])}


@handler("pool.sleep_then_write")
def sleep_then_write(payload: dict[str, str], context: JobContext) -> str:
    """The issue's job: record our pid, sleep, then write a file (too late, if stopped)."""
    Path(payload["pidfile"]).write_text(str(os.getpid()))
    time.sleep(float(payload["seconds"]))
    Path(payload["path"]).write_text(context.job_id)
    return "written"


@handler("pool.stubborn")
def stubborn(payload: dict[str, str]) -> str:
    """Swallows its soft limit and sleeps on: only SIGKILL stops it."""
    Path(payload["pidfile"]).write_text(str(os.getpid()))
    try:
        time.sleep(30)
    except JobInterrupted:
        time.sleep(30)
    Path(payload["path"]).write_text("should never happen")
    return "finished"


@handler("pool.cleanup")
def cleanup(payload: dict[str, str]) -> str:
    """Records which stop exception reached it, from its ``finally``."""
    try:
        time.sleep(30)
    except JobInterrupted as exc:
        Path(payload["path"]).write_text(type(exc).__name__)
        raise
    return "finished"


@handler("pool.gone")
def gone(payload: dict[str, str]) -> bool:
    """Whether the process whose pid is in ``pidfile`` has exited (and been reaped)."""
    try:
        os.kill(int(Path(payload["pidfile"]).read_text()), 0)
    except ProcessLookupError:
        return True
    return False


@handler("pool.crash")
def crash(payload: dict[str, str]) -> None:
    if payload["how"] == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    os._exit(3)


@handler("pool.noisy")
def noisy(payload: dict[str, int]) -> None:
    print("hello from the handler")
    log.info("about to fail")
    print("x" * payload.get("bytes", 0), end="")
    print("last words")
    raise ValueError("bad input")


@handler("pool.refuse")
def refuse(payload: object) -> None:
    raise JobFailed("not today", {"partial": 1})


@handler("pool.huge")
def huge(payload: dict[str, int]) -> bytes:
    return b"x" * payload["bytes"]


@handler("pool.permanent")
def permanent(payload: dict[str, str]) -> None:
    """A failure no retry can cure, raised through the public name."""
    from podium import Permanent

    raise Permanent(f"no such record: {payload['id']}", {"id": payload["id"]})


@handler("pool.progress_left_behind")
def progress_left_behind(payload: dict[str, float], context: JobContext) -> str:
    """Leaves a thread that calls ``context.progress`` for ``seconds`` after the job ends
    (as a handler's stray background thread would), once it has begun doing so."""
    reporting = threading.Event()

    def keep_reporting() -> None:
        deadline = time.monotonic() + payload["seconds"]
        while time.monotonic() < deadline:
            context.progress(0.5, "left behind")
            reporting.set()
            time.sleep(0.01)

    threading.Thread(target=keep_reporting, daemon=True).start()
    reporting.wait(10)
    return "left"
