"""dedupe_total and dedupe_rate per site, read back through a real OpenTelemetry meter."""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from ingest.adapters.metrics import OtelIngestMetrics
from ingest.domain.model import Status


def test_dedupe_total_and_rate_per_site(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    monkeypatch.setattr("ingest.adapters.metrics.metrics.get_meter", provider.get_meter)
    m = OtelIngestMetrics()
    for status in (Status.ACCEPTED, Status.ACCEPTED, Status.DUPLICATE, Status.REJECTED):
        m.outcome("a", status)
    m.outcome("b", Status.ACCEPTED)
    assert m.dedupe_rate("a") == 1 / 3 and m.dedupe_rate("b") == 0.0
    points = {
        (metric.name, dict(p.attributes)["site_id"]): p.value
        for rm in reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name in ("dedupe_total", "dedupe_rate")
        for p in metric.data.data_points
    }
    assert points[("dedupe_total", "a")] == 1
    assert points[("dedupe_rate", "a")] == 1 / 3 and points[("dedupe_rate", "b")] == 0.0
