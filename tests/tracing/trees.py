"""Reading a job's trace back: its spans by name, and who is whose parent."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode


@attrs.frozen
class Seen:
    """One span, as both the in-memory exporter and the OTLP receiver can tell it."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    start_ns: int
    end_ns: int
    attributes: dict[str, object]
    error: bool = False


def by_name(spans: Iterable[Seen]) -> dict[str, list[Seen]]:
    found: dict[str, list[Seen]] = {}
    for span in spans:
        found.setdefault(span.name, []).append(span)
    return found


def one(spans: dict[str, list[Seen]], name: str) -> Seen:
    assert len(spans.get(name, [])) == 1, f"{name}: {spans.get(name)}"
    return spans[name][0]


def from_sdk(spans: Sequence[ReadableSpan]) -> list[Seen]:
    """The in-memory exporter's ReadableSpans, as :class:`Seen`."""
    seen = []
    for span in spans:
        ctx = span.context
        assert ctx is not None and span.start_time is not None and span.end_time is not None
        up = span.parent
        seen.append(
            Seen(
                span.name,
                f"{ctx.trace_id:032x}",
                f"{ctx.span_id:016x}",
                None if up is None else f"{up.span_id:016x}",
                span.start_time,
                span.end_time,
                dict(span.attributes or {}),
                span.status.status_code is StatusCode.ERROR,
            )
        )
    return seen


def assert_child(child: Seen, parent: Seen) -> None:
    assert child.trace_id == parent.trace_id, (child.name, parent.name)
    assert child.parent_id == parent.span_id, f"{child.name} is not under {parent.name}"
