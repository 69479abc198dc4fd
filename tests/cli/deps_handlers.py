"""Handlers for the dependency tests on a real node: sync, so they run in the worker's
child processes, where ``ctx.parents`` must arrive too."""

from __future__ import annotations

from typing import Any

from actors.worker.handlers import JobContext, handler


@handler("deps.number")
def number(payload: dict[str, Any]) -> int:
    n: int = payload["n"]
    return n


@handler("deps.sum")
def total(payload: dict[str, Any], context: JobContext) -> dict[str, Any]:
    """The sum of what its parents returned, and which parents it heard from."""
    return {"sum": sum(context.parents.values()), "from": sorted(context.parents)}
