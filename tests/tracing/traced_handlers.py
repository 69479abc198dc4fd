"""Handlers that add spans to their job's trace, as a user's would (plain functions: the
in-process tests register them on a registry of their own)."""

from __future__ import annotations

from typing import Any

from actors.worker.handlers import JobContext


def resize(payload: Any, ctx: JobContext) -> dict[str, Any]:
    """A sync handler with a span, a nested one, and an attribute set inside."""
    with ctx.span("resize", width=payload.get("width", 800)) as span:
        with ctx.span("encode"):
            pass
        span.set_attribute("bytes", 5)
    return {"trace_id": ctx.trace_id}


async def resize_async(payload: Any, ctx: JobContext) -> dict[str, Any]:
    return resize(payload, ctx)


def broken(payload: Any, ctx: JobContext) -> None:
    """Fails inside its span: the span and the execute span say so."""
    with ctx.span("decode"):
        raise ValueError("not an image")
