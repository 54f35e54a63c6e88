"""OpenTelemetry setup, W3C trace propagation over NATS headers, and PII-safe JSON logging."""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from opentelemetry import metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import format_span_id, format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "JsonFormatter",
    "Telemetry",
    "configure_logging",
    "context_from_traceparent",
    "current_traceparent",
    "extract_context",
    "init_telemetry",
    "inject_headers",
    "redact",
]

log = logging.getLogger(__name__)

GRPC_EXCLUDED_SERVICES = "OTEL_PYTHON_GRPC_EXCLUDED_SERVICES"
# Kubernetes probes hit the health service every few seconds; their spans would drown real ones.
DEFAULT_GRPC_EXCLUDED_SERVICES = "grpc.health.v1.Health"
# Never traced, whatever the variable says. A reflection stream (grpcurl) cancelled while the
# server is between two answers leaves the instrumentation's stream wrapper to be closed by the
# garbage collector in another context, which logs a "Failed to detach context" traceback
# (opentelemetry-python-contrib#2357); nobody needs spans of reflection anyway.
ALWAYS_EXCLUDED_GRPC_SERVICES = (
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
)


# --- providers -------------------------------------------------------------------------------


@dataclass
class Telemetry:
    """The process-wide providers; ``shutdown()`` flushes pending spans and metrics."""

    service_name: str
    resource: Resource
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    traces_endpoint: str | None  # None: spans are recorded (for log ids) but not exported
    metrics_endpoint: str | None
    instrumentors: list[Any] = field(default_factory=list)
    _shut_down: bool = field(default=False, repr=False)

    @property
    def exporting(self) -> bool:
        return self.traces_endpoint is not None or self.metrics_endpoint is not None

    def flush(self, timeout_millis: int = 10_000) -> None:
        """Export what is pending; the providers stay usable (shutdown happens at exit)."""
        self.tracer_provider.force_flush(timeout_millis)
        self.meter_provider.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: int = 10_000) -> None:
        """Flush and stop exporting; safe to call more than once."""
        if self._shut_down:
            return
        self._shut_down = True
        for instrumentor in self.instrumentors:
            instrumentor.uninstrument()
        self.tracer_provider.force_flush(timeout_millis)
        self.tracer_provider.shutdown()
        self.meter_provider.force_flush(timeout_millis)
        self.meter_provider.shutdown(timeout_millis)


_lock = threading.Lock()
_current: Telemetry | None = None


def init_telemetry(
    service_name: str,
    *,
    environ: Mapping[str, str] = os.environ,
    instrument_grpc: bool = True,
) -> Telemetry:
    """Install global tracer and meter providers (once per process) and instrument grpc.aio.

    Call it first thing in ``main``: the gRPC instrumentors patch ``grpc.aio.server`` and the
    channel factories, so servers and channels created earlier are not traced. OTLP export is
    configured only when an endpoint is set, so dev runs and tests make no connection attempts.
    A second call returns the first ``Telemetry`` unchanged.
    """
    global _current
    with _lock:
        if _current is not None:
            if _current.service_name != (environ.get("OTEL_SERVICE_NAME") or service_name):
                log.warning("telemetry already initialised for %s", _current.service_name)
            return _current

        name = environ.get("OTEL_SERVICE_NAME") or service_name
        resource = Resource.create({SERVICE_NAME: name})
        traces_endpoint, metrics_endpoint = _otlp_endpoints(environ)

        tracer_provider = TracerProvider(resource=resource)
        if traces_endpoint is not None:
            # Imported lazily: the exporter pulls in grpc channel code that dev runs never need.
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            tracer_provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_endpoint))
            )

        readers: list[MetricReader] = []
        if metrics_endpoint is not None:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

            readers.append(
                PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=metrics_endpoint))
            )
        meter_provider = MeterProvider(resource=resource, metric_readers=readers)

        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)

        instrumentors = _instrument_grpc(tracer_provider, environ) if instrument_grpc else []
        _current = Telemetry(
            service_name=name,
            resource=resource,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            traces_endpoint=traces_endpoint,
            metrics_endpoint=metrics_endpoint,
            instrumentors=instrumentors,
        )
        # Global providers can be set once per process: they live until it exits.
        atexit.register(_current.shutdown)
        return _current


def _otlp_endpoints(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(traces, metrics) OTLP endpoints from the standard variables; None means don't export."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None, None
    general = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or None
    endpoints: list[str | None] = []
    for signal in ("TRACES", "METRICS"):
        endpoint = environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT", "").strip() or general
        if environ.get(f"OTEL_{signal}_EXPORTER", "").strip().lower() == "none":
            endpoint = None
        endpoints.append(endpoint)
    return endpoints[0], endpoints[1]


def _instrument_grpc(tracer_provider: TracerProvider, environ: Mapping[str, str]) -> list[Any]:
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
        filters,
    )

    excluded = environ.get(GRPC_EXCLUDED_SERVICES, DEFAULT_GRPC_EXCLUDED_SERVICES)
    listed = [s.strip() for s in excluded.split(",") if s.strip()]
    services = list(dict.fromkeys([*listed, *ALWAYS_EXCLUDED_GRPC_SERVICES]))
    if environ is os.environ:
        # The instrumentors read the variable themselves and trace what any filter lets through:
        # they must see the same list.
        os.environ[GRPC_EXCLUDED_SERVICES] = ",".join(services)
    # Passed explicitly too, so an injected environ (tests) decides the same way.
    filter_ = (
        filters.negate(filters.any_of(*(filters.service_name(s) for s in services)))
        if services
        else None
    )
    instrumentors: list[Any] = [
        GrpcAioInstrumentorServer(filter_=filter_),  # type: ignore[no-untyped-call]
        GrpcAioInstrumentorClient(filter_=filter_),  # type: ignore[no-untyped-call]
    ]
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=tracer_provider)
    return instrumentors


# --- W3C trace context over NATS -------------------------------------------------------------


class _HeaderGetter(Getter[Mapping[str, str]]):
    """Exact key first, then case-insensitive: NATS keeps header case as the publisher wrote it."""

    def get(self, carrier: Mapping[str, str], key: str) -> list[str] | None:
        value = carrier.get(key)
        if value is None:
            lowered = key.lower()
            value = next((v for k, v in carrier.items() if k.lower() == lowered), None)
        return None if value is None else [value]

    def keys(self, carrier: Mapping[str, str]) -> list[str]:
        return list(carrier.keys())


_getter = _HeaderGetter()
_tracecontext = TraceContextTextMapPropagator()


def inject_headers(
    headers: Mapping[str, str] | None = None, context: Context | None = None
) -> dict[str, str]:
    """A copy of ``headers`` plus traceparent/tracestate (and baggage) of ``context``.

    ``context`` defaults to the current one; without a valid span nothing is added.
    """
    carrier: dict[str, str] = dict(headers) if headers else {}
    propagate.inject(carrier, context=context)
    return carrier


def extract_context(headers: Mapping[str, str] | None) -> Context:
    """The context carried by NATS message headers (``msg.headers`` may be None)."""
    return propagate.extract(headers or {}, getter=_getter)


def current_traceparent(context: Context | None = None) -> tuple[str, str]:
    """(traceparent, tracestate) of the current span, ("", "") when there is none.

    For the per-item TraceContext fields of batch messages, whose items each carry their own trace.
    """
    carrier: dict[str, str] = {}
    _tracecontext.inject(carrier, context=context)
    return carrier.get("traceparent", ""), carrier.get("tracestate", "")


def context_from_traceparent(traceparent: str, tracestate: str = "") -> Context:
    """A context whose remote parent is ``traceparent``; an empty context if it is invalid.

    ``trace.get_current_span(ctx).get_span_context()`` gives the SpanContext for a batch link.
    """
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    return _tracecontext.extract(carrier)


# --- JSON logging ----------------------------------------------------------------------------

REDACTED = "[redacted]"

# One scan, leftmost match wins; at the same position earlier alternatives win. Emails come
# first so a hex-looking local part is still redacted; identifiers that merely contain digit
# runs (hashes, UUIDs, timestamps) are matched as a whole and kept, so the phone rule never
# sees their pieces.
_SCAN = re.compile(
    r"""
    (?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})
    | (?P<keep>
        \b[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\b         # UUID
      | \b[0-9A-Fa-f]{16,}\b                                             # hashes, trace/span ids
      | \b\d{4}-\d{2}-\d{2}                                              # ISO 8601 date
        (?:[T\ ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?
      )
    | (?P<phone>
        (?<![\w.+])(?<!\w-)(?<!\d[\ ()-])                  # not inside an identifier or number
        \+?\(?\d(?:[\ ()-]{0,2}\d)+
        (?![\w.]|[\ ()-]{1,2}\d)                           # and not followed by more of one
      )
    """,
    re.VERBOSE,
)
_PHONE_DIGITS = range(7, 16)  # E.164 allows at most 15 digits


def _replace(match: re.Match[str]) -> str:
    if match.lastgroup == "email":
        return REDACTED
    if match.lastgroup == "phone":
        digits = sum(c.isdigit() for c in match.group())
        if digits in _PHONE_DIGITS:
            return REDACTED
    return match.group()


def redact(text: str) -> str:
    """Replace email addresses and phone-number-looking digit runs with "[redacted]".

    Defense in depth only: callers must not log personal data in the first place. Long bare
    numbers in text (epoch seconds, 7+ digit ids) are redacted too; log those as int fields.
    """
    return _SCAN.sub(_replace, text)


def _redact_value(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(v) for v in value]
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the current trace/span ids and redacted text."""

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self.service_name = service_name

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
            "service": self.service_name,
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            out["trace_id"] = format_trace_id(span_context.trace_id)
            out["span_id"] = format_span_id(span_context.span_id)
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                name = str(key)
                # Never let a field overwrite the envelope (a "msg" field must not hide msg).
                out[f"field_{name}" if name in out else name] = _redact_value(value)
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            out["exc"] = redact(record.exc_text)
        if record.stack_info:
            out["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(out, ensure_ascii=False, default=str)


class _JsonHandler(logging.StreamHandler[TextIO]):
    """Marks the handler configure_logging owns, so a second call replaces it."""


def configure_logging(
    service_name: str, level: str = "INFO", stream: TextIO | None = None
) -> logging.Handler:
    """Send all logging to ``stream`` (stderr by default) as JSON lines; returns the handler.

    Replaces a handler installed by an earlier call and leaves other root handlers alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _JsonHandler):
            root.removeHandler(handler)
            handler.close()
    handler = _JsonHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter(service_name))
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
