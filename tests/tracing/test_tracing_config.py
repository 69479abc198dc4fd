"""When a node traces: the standard OTEL_* variables, and what podium refuses."""

from __future__ import annotations

import pytest
from opentelemetry import trace

from runtime import tracing
from runtime.tracing import TracingError, exporters_wanted

ENDPOINT = "http://127.0.0.1:4318"


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, ()),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ENDPOINT + "/v1/traces"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, ()),
        ({"OTEL_TRACES_EXPORTER": "console, OTLP"}, ("console", "otlp")),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, ()),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
            ("otlp",),
        ),
        # the traces-specific protocol wins over the general one
        (
            {
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            },
            ("otlp",),
        ),
    ],
)
def test_the_variables_decide(env: dict[str, str], wanted: tuple[str, ...]) -> None:
    assert exporters_wanted(env) == wanted


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "zipkin"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "grpc"),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_MAX_QUEUE_SIZE": "abc"}, "QUEUE_SIZE=abc"),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "-5"}, "DELAY=-5"),
    ],
)
def test_what_podium_cannot_do_is_refused_by_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(TracingError, match=named):
        exporters_wanted(env)


def test_batch_settings_the_sdk_refuses_together_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # each is a whole number above zero, but a batch larger than the queue (2048 unless
    # set) is refused by the SDK itself, which reads the variables from the process
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4096")
    with pytest.raises(TracingError, match="OTEL_BSP_MAX_EXPORT_BATCH_SIZE=4096: "):
        tracing.configure("m1", "master")
    assert not tracing.TRACING.on and tracing.TRACING.provider is None
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def test_off_installs_nothing() -> None:
    assert tracing.configure("m1", "master", {}) is False
    assert not tracing.TRACING.on and tracing.TRACING.provider is None
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
