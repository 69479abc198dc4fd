"""The handler's side of tracing: ``with ctx.span("resize"):``, without a tracing library.

A handler adds spans to its job's trace through its context
(:meth:`actors.worker.handlers.JobContext.span`), which hands them to a
:class:`SpanSink`. Which sink depends on where the handler runs:

- on the worker itself (async handlers, ``--pool thread``), the worker's
  tracer makes real spans under the job's ``podium.execute`` span;
- in a child of the process pool, a :class:`SpanRecorder` notes each span as
  a plain record (name, start and end in epoch nanoseconds, attributes, its
  parent's position, the error that left it), the child sends the records
  with its reply, and the worker makes them into spans under ``podium.execute``
  (:meth:`actors.worker.job_trace.JobTrace.replay`). The child thus needs no
  SDK, no exporter thread and no network of its own, and a child that is killed
  loses only what its handler had not finished; a span is recorded at most as
  long as its job runs.
- with tracing off, or for a job that is not traced, there is no sink and
  ``ctx.span`` hands back :data:`NO_SPAN`, which ignores what it is told.

This module imports no OpenTelemetry, so a pool child starts as fast as before.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

__all__ = [
    "NO_SPAN",
    "AttributeValue",
    "HandlerSpan",
    "RecordedSpan",
    "SpanRecorder",
    "SpanSink",
    "clean_attributes",
]

# what OpenTelemetry takes as an attribute value
AttributeValue = (
    str | bool | int | float | Sequence[str] | Sequence[bool] | Sequence[int] | Sequence[float]
)
_SCALARS = (str, bool, int, float)

# one recorded span on the wire from a pool child:
# [name, start_ns, end_ns, attributes, parent position (-1: the execute span), error or None]
RecordedSpan = list[Any]
NAME, START, END, ATTRIBUTES, PARENT, ERROR = range(6)


class HandlerSpan(Protocol):
    """What ``with ctx.span(...) as span`` gives a handler."""

    def set_attribute(self, key: str, value: Any) -> None: ...


class SpanSink(Protocol):
    """Where a job's handler spans go (see the module doc)."""

    def span(
        self, name: str, attributes: Mapping[str, AttributeValue]
    ) -> contextlib.AbstractContextManager[HandlerSpan]: ...


class _NoSpan:
    """A span nobody records: what a handler gets when its job is not traced."""

    def set_attribute(self, key: str, value: Any) -> None:
        return None


NO_SPAN = _NoSpan()


def clean_attributes(attributes: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """Attributes OpenTelemetry (and msgpack) can carry: scalars and lists of one scalar
    type stay, anything else becomes its ``str``, so a handler's span never fails its job."""
    clean: dict[str, AttributeValue] = {}
    for key, value in attributes.items():
        clean[str(key)] = _clean(value)
    return clean


def _clean(value: Any) -> AttributeValue:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (list, tuple)) and value:
        kind = type(value[0])
        if kind in _SCALARS and all(type(v) is kind for v in value):
            return list(value)
    return str(value)


class _Recorded:
    """A recorded span while its ``with`` block runs: attributes land in its record."""

    def __init__(self, record: RecordedSpan) -> None:
        self._record = record

    def set_attribute(self, key: str, value: Any) -> None:
        self._record[ATTRIBUTES][str(key)] = _clean(value)


class SpanRecorder:
    """A pool child's sink: records spans in start order, each naming its parent's position.

    The open span is tracked in a context variable, so nested ``with`` blocks nest,
    and a thread the handler starts begins again at the top (under execute).
    """

    def __init__(self) -> None:
        self.records: list[RecordedSpan] = []
        self._open: contextvars.ContextVar[int] = contextvars.ContextVar("podium_span", default=-1)

    @contextlib.contextmanager
    def span(self, name: str, attributes: Mapping[str, AttributeValue]) -> Iterator[HandlerSpan]:
        record: RecordedSpan = [
            str(name),
            time.time_ns(),
            None,
            clean_attributes(attributes),
            self._open.get(),
            None,
        ]
        self.records.append(record)
        token = self._open.set(len(self.records) - 1)
        try:
            yield _Recorded(record)
        except BaseException as exc:
            record[ERROR] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self._open.reset(token)
            record[END] = time.time_ns()

    def finished(self) -> list[RecordedSpan]:
        """The records to send, a span still open (in a thread the handler left running)
        ending now."""
        now = time.time_ns()
        for record in self.records:
            if record[END] is None:
                record[END] = now
        return self.records
