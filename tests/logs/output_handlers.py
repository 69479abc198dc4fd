"""Handlers that write, for the capture tests (the pool's children import them by name)."""

from __future__ import annotations

import logging
import sys

import trio

from actors.worker.handlers import JobContext, handler

log = logging.getLogger("output-tests")


@handler("out.sync")
def write_sync(payload: dict[str, str], context: JobContext) -> None:
    """A print, a line on stderr and a log record, tagged so each job's are known."""
    tag = payload["tag"]
    print(f"printed {tag} attempt {context.attempt}")
    sys.stderr.write(f"stderr {tag}\n")
    log.warning("logged %s", tag)


@handler("out.async")
async def write_async(payload: dict[str, str]) -> None:
    tag = payload["tag"]
    print(f"printed {tag}")
    await trio.sleep(0.05)  # another job's writes land meanwhile
    log.warning("logged %s", tag)
    print(f"after {tag}")


@handler("out.flood")
def flood(payload: dict[str, int]) -> None:
    """Many numbered lines: far more than a capture keeps."""
    for n in range(payload["lines"]):
        print(f"line {n:08d}")
