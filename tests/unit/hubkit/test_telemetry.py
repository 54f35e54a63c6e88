"""Telemetry setup, trace propagation over NATS headers, and JSON logging with redaction."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id
from opentelemetry.util._once import Once

from hubkit import telemetry
from hubkit.telemetry import (
    configure_logging,
    context_from_traceparent,
    current_traceparent,
    extract_context,
    init_telemetry,
    inject_headers,
    redact,
)

# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(spans: InMemorySpanExporter) -> trace.Tracer:
    # A local provider: tests must not depend on (or set) the process-wide one.
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider.get_tracer("test")


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging("test-svc", level="DEBUG", stream=stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def fresh_globals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let init_telemetry set the global providers again (OTel allows it once per process)."""
    import opentelemetry.metrics._internal as metrics_internal

    # A service started earlier in this process (integration tests) instrumented gRPC for good.
    if telemetry._current is not None:
        for instrumentor in telemetry._current.instrumentors:
            instrumentor.uninstrument()
        telemetry._current.instrumentors.clear()
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(metrics_internal, "_METER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setattr(metrics_internal, "_METER_PROVIDER", None)
    monkeypatch.setattr(telemetry, "_current", None)
    monkeypatch.delenv(telemetry.GRPC_EXCLUDED_SERVICES, raising=False)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


log = logging.getLogger("convhub.test")


# --- JSON logging ----------------------------------------------------------------------------


def test_log_line_is_json_with_trace_ids_inside_a_span(
    log_stream: io.StringIO, tracer: trace.Tracer, spans: InMemorySpanExporter
) -> None:
    log.info("outside")
    with tracer.start_as_current_span("work") as span:
        log.info("inside %s", "span", extra={"fields": {"site_id": "s1", "count": 3}})
    outside, inside = lines(log_stream)

    assert "trace_id" not in outside and "span_id" not in outside
    ctx = span.get_span_context()
    assert inside["trace_id"] == format_trace_id(ctx.trace_id)
    assert inside["span_id"] == format_span_id(ctx.span_id)
    assert inside["msg"] == "inside span"
    assert inside["level"] == "INFO"
    assert inside["logger"] == "convhub.test"
    assert inside["service"] == "test-svc"
    assert inside["site_id"] == "s1" and inside["count"] == 3
    assert str(inside["ts"]).endswith("Z")
    assert [s.name for s in spans.get_finished_spans()] == ["work"]


def test_log_line_carries_exception_text_redacted(log_stream: io.StringIO) -> None:
    try:
        raise ValueError("bad address jane@example.com")
    except ValueError:
        log.exception("failed")
    (line,) = lines(log_stream)
    assert "ValueError: bad address [redacted]" in str(line["exc"])
    assert "jane@example.com" not in log_stream.getvalue()


def test_fields_cannot_overwrite_the_envelope(log_stream: io.StringIO) -> None:
    log.warning("real", extra={"fields": {"msg": "fake", "level": "DEBUG"}})
    (line,) = lines(log_stream)
    assert line["msg"] == "real" and line["field_msg"] == "fake"
    assert line["level"] == "WARNING" and line["field_level"] == "DEBUG"


def test_message_and_field_values_are_redacted(log_stream: io.StringIO) -> None:
    log.info(
        "contact %s or %s",
        "john.doe@example.com",
        "+49 151 1234 5678",
        extra={
            "fields": {
                "email": "Jane@Example.org",
                "nested": {"phones": ["555-123-4567", "ok"]},
                "hash": "a" * 64,
                "n": 5551234567,  # ints are left alone: log ids as ints, not text
            }
        },
    )
    raw = log_stream.getvalue()
    (line,) = lines(log_stream)
    assert line["msg"] == "contact [redacted] or [redacted]"
    assert line["email"] == "[redacted]"
    assert line["nested"] == {"phones": ["[redacted]", "ok"]}
    assert line["hash"] == "a" * 64
    assert line["n"] == 5551234567
    for secret in ("john.doe", "Example.org", "1234 5678", "123-4567"):
        assert secret not in raw


def test_configure_logging_twice_keeps_one_json_handler(log_stream: io.StringIO) -> None:
    root = logging.getLogger()
    second = io.StringIO()
    handler = configure_logging("test-svc", stream=second)
    try:
        assert sum(isinstance(h, telemetry._JsonHandler) for h in root.handlers) == 1
        log.info("once")
        assert log_stream.getvalue() == ""
        assert lines(second)[0]["msg"] == "once"
    finally:
        root.removeHandler(handler)


# --- redaction -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "jane.doe@example.com",
        "Jane.Doe+ads@mail.example.co.uk",
        "a1b2c3d4e5f6a7b8@example.com",  # a hex-looking local part is still an address
        "+4915112345678",
        "+49 151 12345678",
        "+1 (555) 123-4567",
        "(555) 123-4567",
        "555-123-4567",
        "0151 2345678",
        "5551234567",
        "555-1234",
    ],
)
def test_redacts_emails_and_phone_numbers(text: str) -> None:
    assert redact(f"user {text} here") == "user [redacted] here"


@pytest.mark.parametrize(
    "text",
    [
        "a3f5" * 16,  # SHA-256 hex, as hashed PII travels
        "1234567890" * 6 + "1234",  # a 64-hex hash that happens to be all digits
        "123e4567-e89b-12d3-a456-426614174000",
        "12345678-1234-1234-1234-123456789012",  # all-digit UUID
        "2025-03-01T12:00:00Z",
        "2025-03-01T12:00:00.123456+01:00",
        "2025-03-01 12:00:00,123",
        "2025-03-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # traceparent
        "ORD-1234567",
        "order A1234567",
        "1234567.25",
        "0.1234567",
        "10.0.0.12:4317",
        "batch of 500 in 12 ms",
        "v1.45.2",
    ],
)
def test_keeps_hashes_uuids_timestamps_and_identifiers(text: str) -> None:
    assert redact(f"value {text} end") == f"value {text} end"


# --- propagation -----------------------------------------------------------------------------


def test_inject_extract_round_trip_keeps_the_trace(tracer: trace.Tracer) -> None:
    base = {"Nats-Msg-Id": "conv-1"}
    with tracer.start_as_current_span("publish") as span:
        headers = inject_headers(base)
    assert base == {"Nats-Msg-Id": "conv-1"}  # the caller's dict is not modified
    assert headers["Nats-Msg-Id"] == "conv-1"
    assert headers["traceparent"].startswith("00-")

    ctx = extract_context(headers)
    remote = trace.get_current_span(ctx).get_span_context()
    assert remote.is_remote
    assert remote.trace_id == span.get_span_context().trace_id
    assert remote.span_id == span.get_span_context().span_id

    with tracer.start_as_current_span("consume", context=ctx) as child:
        assert child.get_span_context().trace_id == span.get_span_context().trace_id


def test_extract_is_case_insensitive_and_tolerates_no_headers(tracer: trace.Tracer) -> None:
    with tracer.start_as_current_span("publish") as span:
        traceparent = inject_headers()["traceparent"]
    ctx = extract_context({"Traceparent": traceparent})
    assert trace.get_current_span(ctx).get_span_context().trace_id == (
        span.get_span_context().trace_id
    )
    assert not trace.get_current_span(extract_context(None)).get_span_context().is_valid


def test_inject_without_a_span_adds_no_traceparent() -> None:
    assert "traceparent" not in inject_headers({"a": "b"})


def test_traceparent_fields_round_trip(tracer: trace.Tracer) -> None:
    assert current_traceparent() == ("", "")
    with tracer.start_as_current_span("ingest") as span:
        traceparent, tracestate = current_traceparent()
    ctx = span.get_span_context()
    ids = f"{format_trace_id(ctx.trace_id)}-{format_span_id(ctx.span_id)}"
    assert traceparent == f"00-{ids}-{ctx.trace_flags:02x}"
    assert tracestate == ""

    parent = context_from_traceparent(traceparent, "vendor=abc")
    remote = trace.get_current_span(parent).get_span_context()
    assert remote.trace_id == ctx.trace_id and remote.span_id == ctx.span_id
    assert remote.trace_state.get("vendor") == "abc"
    link = trace.Link(remote)  # what a batch span carries per conversion
    assert link.context.trace_id == ctx.trace_id


def test_context_from_invalid_traceparent_has_no_span() -> None:
    ctx = context_from_traceparent("garbage")
    assert not trace.get_current_span(ctx).get_span_context().is_valid


# --- init_telemetry --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, (None, None)),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4317"}, ("http://otel:4317",) * 2),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4317",
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://metrics:4317",
            },
            ("http://otel:4317", "http://metrics:4317"),
        ),
        (
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://jaeger:4317"},
            ("http://jaeger:4317", None),
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4317", "OTEL_SDK_DISABLED": "True"},
            (None, None),
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4317", "OTEL_METRICS_EXPORTER": "none"},
            ("http://otel:4317", None),
        ),
    ],
)
def test_otlp_endpoints(environ: dict[str, str], expected: tuple[str | None, str | None]) -> None:
    assert telemetry._otlp_endpoints(environ) == expected


@pytest.mark.usefixtures("fresh_globals")
def test_init_without_endpoint_exports_nothing_and_is_idempotent() -> None:
    tel = init_telemetry("ingest", environ={}, instrument_grpc=False)
    try:
        assert not tel.exporting
        assert tel.traces_endpoint is None and tel.metrics_endpoint is None
        assert tel.tracer_provider._active_span_processor._span_processors == ()
        assert list(tel.meter_provider._metric_readers) == []
        assert trace.get_tracer_provider() is tel.tracer_provider
        assert tel.resource.attributes["service.name"] == "ingest"
        # Spans are still real, so logs get trace ids even without an exporter.
        with trace.get_tracer("t").start_as_current_span("s") as span:
            assert span.get_span_context().is_valid

        assert init_telemetry("ingest", environ={}, instrument_grpc=False) is tel
        assert trace.get_tracer_provider() is tel.tracer_provider
    finally:
        tel.shutdown()
        tel.shutdown()  # twice is safe


@pytest.mark.usefixtures("fresh_globals")
def test_otel_service_name_overrides() -> None:
    tel = init_telemetry(
        "ingest", environ={"OTEL_SERVICE_NAME": "ingest-canary"}, instrument_grpc=False
    )
    try:
        assert tel.service_name == "ingest-canary"
        assert tel.resource.attributes["service.name"] == "ingest-canary"
    finally:
        tel.shutdown()


async def _echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    return request


@pytest.mark.usefixtures("fresh_globals")
@pytest.mark.parametrize(
    "environ",
    [{}, {telemetry.GRPC_EXCLUDED_SERVICES: "grpc.health.v1.Health"}],  # as k8s/base sets it
    ids=["default", "variable-set"],
)
async def test_grpc_is_traced_except_health_checks_and_reflection(
    spans: InMemorySpanExporter, environ: dict[str, str]
) -> None:
    original_server = grpc.aio.server
    tel = init_telemetry("ingest", environ=environ)
    tel.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    try:
        assert grpc.aio.server is not original_server  # patched before servers are created
        server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
        echo = grpc.unary_unary_rpc_method_handler(_echo)
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("test.Echo", {"Say": echo}),)
        )
        reflection.enable_server_reflection(("test.Echo",), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                check = health_pb2_grpc.HealthStub(channel).Check
                reply = await check(health_pb2.HealthCheckRequest(), timeout=5)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
                assert await channel.unary_unary("/test.Echo/Say")(b"hi", timeout=5) == b"hi"
                # A reflection stream cancelled mid-way, as grpcurl ends one: not traced, so
                # no instrumentation wrapper is left for the collector to close elsewhere.
                info = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")] * 50)
                )
                assert (await info.read()).list_services_response.service
                info.cancel()
        finally:
            await server.stop(None)
    finally:
        tel.shutdown()
    assert grpc.aio.server is original_server  # shutdown un-instruments

    names = [s.name for s in spans.get_finished_spans()]
    assert names.count("/test.Echo/Say") == 2  # server and client
    assert not [n for n in names if "Health" in n or "Reflection" in n], names
