"""Job handlers: the built-in ``noop``, ``sleep`` and ``shell``, and user functions by decorator.

A handler is ``fn(payload)`` or ``fn(payload, context)``, async or sync; the
context (:class:`JobContext`) gives it the job's id and attempt, its parents'
results, ``ctx.progress`` and ``ctx.span`` (a span of the job's trace).
Async handlers (the built-in ones too) run on the worker's trio loop. Sync
handlers run in the worker's :class:`~actors.worker.pool.ProcessPool` when
:func:`run_job` is given one (``--pool process``, the default), else on a
thread (``--pool thread``); either way a CPU-bound job never starves the
worker's heartbeats, but only a process uses another core and can be
stopped. :func:`run_job` turns everything a handler can do (return, raise,
run past its timeout, return something that cannot be serialised or is too
large for the wire, die) into a :class:`JobOutcome`; only cancellation (the
job was cancelled, or the worker is stopping) propagates.

A failure's ``error`` is ``Type: message`` on its first line, then the
handler's traceback (a :class:`JobFailed` gives its message alone); a
handler in a child process adds the tail of what it printed and logged.

User modules register on the module-level default registry::

    from actors.worker.handlers import handler

    @handler("resize")
    async def resize(payload, context): ...

and are loaded with ``--handlers package.module``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import trio

from actors.payload_rules import payload_problem
from actors.worker.capture import (
    UnstorableResult,
    bounded_error,
    failure_detail,
    invoke,
    invoke_async,
    packed_result,
)
from actors.worker.errors import JobFailed, Permanent
from actors.worker.progress import checked
from actors.worker.shell import run_shell
from runtime.span_records import NO_SPAN, HandlerSpan, SpanSink
from transport.job_options import trace_id_of

if TYPE_CHECKING:
    from actors.worker.pool import ProcessPool

__all__ = [
    "HandlerRegistry",
    "JobContext",
    "JobOutcome",
    "default_registry",
    "handler",
    "run_job",
]

F = TypeVar("F", bound=Callable[..., Any])


@attrs.frozen
class JobContext:
    job_id: str
    attempt: int
    # the results of the job's parents (``depends_on``), by parent id; a result too large
    # to hand on (see actors.scheduler.dependencies) is left out
    parents: Mapping[str, Any] = attrs.field(factory=dict)
    # where ctx.progress() values go (the worker's heartbeat, or a child's socket)
    on_progress: Callable[[float, str], None] | None = attrs.field(
        default=None, eq=False, repr=False
    )

    # where ctx.span() spans go (None: the job is not traced, or this worker does not trace)
    spans: SpanSink | None = attrs.field(default=None, eq=False, repr=False)
    # the W3C traceparent the worker's spans of this attempt hang under ("": not traced)
    traceparent: str = ""

    @property
    def trace_id(self) -> str | None:
        """The job's trace id (32 hex digits), None when it is not traced."""
        return trace_id_of(self.traceparent)

    def span(self, name: str, **attributes: Any) -> AbstractContextManager[HandlerSpan]:
        """A span of the job's trace around a ``with`` block: ``with ctx.span("resize",
        width=800) as span: ... span.set_attribute("bytes", n)``. Its parent is the job's
        ``podium.execute`` span (or the span of the enclosing ``with ctx.span``); a block
        that raises marks it failed. Attribute values other than str, bool, int, float or
        a list of one of them are sent as their ``str``. Costs nothing when the job is
        not traced."""
        if self.spans is None:
            return nullcontext(NO_SPAN)
        return self.spans.span(name, attributes)

    def progress(self, fraction: float, message: str = "") -> None:
        """Say how far the job is (0..1) and what it does; the worker sends the latest
        value with its next heartbeat, so calling this often costs nothing more."""
        value, text = checked(fraction, message)
        if self.on_progress is not None:
            self.on_progress(value, text)


@attrs.frozen
class JobOutcome:
    ok: bool
    result: object
    error: str
    timed_out: bool
    # the handler raised Permanent: the job must not be tried again
    permanent: bool = False


@attrs.frozen
class _Handler:
    fn: Callable[..., Any]
    is_async: bool
    wants_context: bool


class HandlerRegistry:
    def __init__(self, *, shell_allow: Sequence[str] | None = None) -> None:
        self._handlers: dict[str, _Handler] = {}
        # what load_module imported: a child process of the pool imports the same
        self.modules: tuple[str, ...] = ()
        self.shell_allow = tuple(shell_allow) if shell_allow is not None else None
        self.register("noop", _noop)
        self.register("sleep", _sleep)
        self.register("shell", self._shell)

    def register(self, job_type: str, fn: Callable[..., Any]) -> None:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if not 1 <= len(params) <= 2:
            raise TypeError(f"handler {job_type!r} must take (payload) or (payload, context)")
        is_async = inspect.iscoroutinefunction(fn)
        self._handlers[job_type] = _Handler(fn, is_async, len(params) == 2)

    def handler(self, job_type: str) -> Callable[[F], F]:
        def register(fn: F) -> F:
            self.register(job_type, fn)
            return fn

        return register

    def types(self) -> list[str]:
        return sorted(self._handlers)

    def get(self, job_type: str) -> _Handler | None:
        return self._handlers.get(job_type)

    def load_module(self, dotted: str) -> None:
        """Import a user module; its ``@handler`` functions land here too (also when it was
        imported before: what it registered is remembered)."""
        types = _MODULE_TYPES.get(dotted)
        if types is None:
            before = set(_DEFAULT._handlers)
            importlib.import_module(dotted)
            # new ones, and its own when something imported it before (an import registers once)
            types = _MODULE_TYPES[dotted] = tuple(
                job_type
                for job_type, entry in _DEFAULT._handlers.items()
                if job_type not in before or getattr(entry.fn, "__module__", None) == dotted
            )
        if dotted not in self.modules:
            self.modules += (dotted,)
        for job_type in types:
            self._handlers.setdefault(job_type, _DEFAULT._handlers[job_type])

    async def _shell(self, payload: object) -> object:
        return await run_shell(payload, self.shell_allow)


def default_registry() -> HandlerRegistry:
    return _DEFAULT


def handler(job_type: str) -> Callable[[F], F]:
    """Register a function on the default registry: ``@handler("resize")``."""
    return _DEFAULT.handler(job_type)


async def run_job(
    registry: HandlerRegistry,
    job_type: str,
    payload: object,
    timeout_s: float | None,
    context: JobContext,
    scope: trio.CancelScope | None = None,
    pool: ProcessPool | None = None,
) -> JobOutcome:
    """Run one job to its outcome; ``scope`` (the caller's handle to cancel the job) also
    carries the timeout, so a job costs one cancel scope, not two. Sync handlers run in
    ``pool`` when there is one, else on a thread."""
    entry = registry.get(job_type)
    if entry is None:
        return JobOutcome(
            False, None, f"no handler for job type {job_type!r} on this worker", False
        )
    if scope is None:
        scope = trio.CancelScope()
    in_pool = pool is not None and not entry.is_async

    def start_clock() -> None:
        if timeout_s is not None:
            scope.deadline = min(scope.deadline, trio.current_time() + timeout_s)

    if not in_pool:
        start_clock()
    try:
        with scope:
            if not in_pool or pool is None:
                args = (payload, context) if entry.wants_context else (payload,)
                result = await _call(entry, args)
            else:
                # the timeout runs from when a process is ready for the handler, not
                # while it waits for a slot or for a replacement child to start
                result = await pool.run(job_type, payload, context, scope, start_clock)
    except JobFailed as exc:
        failed = JobOutcome(
            False, exc.result, bounded_error(str(exc)), False, isinstance(exc, Permanent)
        )
        return _storable(failed)
    except Exception as exc:
        return JobOutcome(False, None, failure_detail(exc), False)
    if scope.cancelled_caught:
        if timeout_s is not None and trio.current_time() >= scope.deadline:
            return JobOutcome(False, None, f"timed out after {timeout_s:g}s", True)
        return JobOutcome(False, None, "cancelled", False)
    return _storable(JobOutcome(True, result, "", False))


def _storable(outcome: JobOutcome) -> JobOutcome:
    """The outcome, or a failure saying why its result cannot travel to the leader (for
    every pool: a report that does not fit its frame would take its batch down with it)."""
    if outcome.result is None:
        return outcome
    try:
        packed_result(outcome.result)
    except UnstorableResult as exc:
        error = f"{outcome.error}\n{exc}" if outcome.error else str(exc)
        return JobOutcome(False, None, bounded_error(error), False, outcome.permanent)
    return outcome


async def _call(entry: _Handler, args: tuple[object, ...]) -> object:
    if entry.is_async:
        return await invoke_async(entry.fn, args)
    return await trio.to_thread.run_sync(invoke, entry.fn, args, abandon_on_cancel=True)


async def _noop(payload: object) -> None:
    return None


async def _sleep(payload: object) -> dict[str, float]:
    problem = payload_problem("sleep", payload)
    if problem is not None:
        raise JobFailed(problem)
    assert isinstance(payload, dict)
    seconds: float = payload["seconds"]
    await trio.sleep(seconds)
    return {"slept": seconds}


_DEFAULT = HandlerRegistry()
# module -> the job types its import registered on the default registry
_MODULE_TYPES: dict[str, tuple[str, ...]] = {}
