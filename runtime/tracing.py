"""OpenTelemetry tracing: whether it is on, the node's tracer, and a job's trace context.

Off by default. A node turns it on at start-up (:func:`configure`) when the
standard variables ask for an exporter: ``OTEL_TRACES_EXPORTER`` (``otlp``,
``console``, or ``none``, which is off), or, with that unset, an OTLP
endpoint in ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``. ``OTEL_SDK_DISABLED=true`` turns it
off whatever else is set. Everything else the SDK reads itself, as the
specification says: the endpoint, headers, timeout and compression of the
OTLP/HTTP exporter, ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``,
the sampler (``OTEL_TRACES_SAMPLER``), the batch processor's delays and
queue (``OTEL_BSP_*``). Only OTLP over HTTP with protobuf ships with podium,
so a ``grpc`` protocol is refused at start-up rather than quietly ignored.

With tracing off no SDK is imported, no provider is installed, and the
shells that would make spans check one flag, :data:`TRACING`.on, and go on.
With it on, the node's own spans come from the provider set here (which
also becomes the global one, so a handler's own OpenTelemetry calls and
instrumented libraries join the job's trace); a test installs a provider of
its own with :func:`install`.

A job's trace travels as a W3C ``traceparent`` string (in its options, in an
assignment), made by :func:`traceparent_of` and read back by :func:`parent`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = [
    "TRACING",
    "TracingError",
    "configure",
    "exporters_wanted",
    "incoming",
    "install",
    "now_ns",
    "parent",
    "shutdown",
    "traceparent_of",
    "tracer",
]

log = logging.getLogger("podium.tracing")

INSTRUMENTATION = "podium"
EXPORTERS = ("otlp", "console")
_PROTOCOLS = ("http/protobuf",)
# the batch span processor's settings. The SDK only logs a value that does not parse (and
# starts with its default), so exporters_wanted refuses one by name; what the SDK refuses
# itself (a batch larger than the queue) configure turns into a TracingError
_BATCH_SETTINGS = (
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
)
_PROPAGATOR = TraceContextTextMapPropagator()


class TracingError(Exception):
    """The OTEL_* variables ask for something podium cannot do (one line, for the user)."""


class _Tracing:
    """Whether this process traces, and with which provider and tracer."""

    __slots__ = ("on", "provider", "tracer")

    def __init__(self) -> None:
        self.on = False
        self.provider: TracerProvider | None = None
        self.tracer: trace.Tracer = trace.NoOpTracer()


# the one flag every shell checks before it makes a span
TRACING = _Tracing()


def exporters_wanted(env: Mapping[str, str]) -> tuple[str, ...]:
    """The exporters ``env`` asks for; () when tracing stays off. Raises
    :class:`TracingError` for an exporter or protocol podium does not have."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return ()
    named = env.get("OTEL_TRACES_EXPORTER", "").strip()
    if named:
        wanted = tuple(dict.fromkeys(n.strip().lower() for n in named.split(",") if n.strip()))
    elif env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        wanted = ("otlp",)
    else:
        return ()
    unknown = [n for n in wanted if n not in (*EXPORTERS, "none")]
    if unknown:
        raise TracingError(
            f"OTEL_TRACES_EXPORTER names {', '.join(unknown)}; podium has "
            f"{', '.join(EXPORTERS)} (or none, which turns tracing off)"
        )
    wanted = tuple(n for n in wanted if n != "none")
    if "otlp" in wanted:
        for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
            protocol = env.get(name, "").strip()
            if protocol:
                if protocol not in _PROTOCOLS:
                    raise TracingError(
                        f"{name}={protocol}: podium exports OTLP over HTTP with protobuf "
                        "only; set http/protobuf and the collector's HTTP port (4318)"
                    )
                break
    for name in _BATCH_SETTINGS:
        value = env.get(name, "").strip()
        if value and not (value.isascii() and value.isdigit() and int(value) > 0):
            raise TracingError(f"{name}={value}: a whole number above zero")
    return wanted


def configure(node: str, role: str, env: Mapping[str, str] | None = None) -> bool:
    """Turn tracing on if ``env`` (the process environment) asks for it; True if it did.
    The provider is also made the global one."""
    env = os.environ if env is None else env
    wanted = exporters_wanted(env)
    if not wanted:
        return False
    from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    base = {SERVICE_INSTANCE_ID: node, "podium.role": role}
    if not env.get("OTEL_SERVICE_NAME"):
        base[SERVICE_NAME] = "podium"
    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES over these
    provider = TracerProvider(resource=Resource.create(base))
    for name in wanted:
        exporter = _exporter(name)
        try:
            # the batch processor exports from its own thread: a slow collector never
            # holds up the event loop, and a full queue drops spans rather than waiting
            processor = BatchSpanProcessor(exporter)
        except ValueError as exc:
            # it reads the OTEL_BSP_* settings itself, and refuses some together
            given = [f"{n}={env[n].strip()}" for n in _BATCH_SETTINGS if env.get(n, "").strip()]
            raise TracingError(f"{', '.join(given) or 'OTEL_BSP_*'}: {exc}") from None
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    install(provider)
    log.info("tracing on", extra={"exporters": ",".join(wanted), "event": "tracing"})
    return True


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def install(provider: TracerProvider | None) -> None:
    """Make spans with ``provider`` from now on (None: tracing off)."""
    TRACING.provider = provider
    TRACING.on = provider is not None
    TRACING.tracer = (
        provider.get_tracer(INSTRUMENTATION) if provider is not None else trace.NoOpTracer()
    )


def shutdown() -> None:
    """Export what is still queued and stop (at the node's exit)."""
    provider = TRACING.provider
    install(None)
    if provider is not None:
        provider.shutdown()


def tracer() -> trace.Tracer:
    return TRACING.tracer


def now_ns() -> int:
    """A span's timestamp: wall time in nanoseconds, as OpenTelemetry counts it."""
    return time.time_ns()


def traceparent_of(span: trace.Span) -> str:
    """The W3C ``traceparent`` of ``span``: what a child elsewhere parents itself on."""
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def parent(traceparent: str) -> otel_context.Context:
    """The context to start a child span in, from a ``traceparent`` (a malformed one
    gives an empty context: the child starts a trace of its own)."""
    return _PROPAGATOR.extract({"traceparent": traceparent})


@contextlib.contextmanager
def incoming(headers: Mapping[str, str]) -> Iterator[None]:
    """Spans started inside are children of the request's ``traceparent`` header, when it
    has one and tracing is on: a caller's trace then holds the jobs it submits."""
    if not TRACING.on or "traceparent" not in headers:
        yield
        return
    token = otel_context.attach(_PROPAGATOR.extract(headers))
    try:
        yield
    finally:
        otel_context.detach(token)
