"""IngestMetrics on OpenTelemetry: outcomes, dedupe_total, dedupe_rate per site, dedupe latency."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from ingest.domain.model import Status


class OtelIngestMetrics:
    def __init__(self) -> None:
        meter = metrics.get_meter("ingest")
        self._outcomes = meter.create_counter(
            "ingest_conversions_total", description="Conversions by site and outcome"
        )
        self._dedupe = meter.create_counter(
            "dedupe_total", description="Duplicates answered DUPLICATE, by site"
        )
        self._check = meter.create_histogram(
            "dedupe_check_seconds", unit="s", description="Dedupe claim time per conversion"
        )
        meter.create_observable_gauge(
            "dedupe_rate",
            callbacks=[self._observe_rates],
            description="Share of a site's valid conversions that were duplicates",
        )
        self.totals: Counter[tuple[str, Status]] = Counter()

    def outcome(self, site_id: str, status: Status, count: int = 1) -> None:
        self.totals[(site_id, status)] += count
        self._outcomes.add(count, {"site_id": site_id, "status": status.value})
        if status is Status.DUPLICATE:
            self._dedupe.add(count, {"site_id": site_id})

    def dedupe_check(self, seconds_per_conversion: float) -> None:
        self._check.record(seconds_per_conversion)

    def dedupe_rate(self, site_id: str) -> float:
        dup = self.totals[(site_id, Status.DUPLICATE)]
        seen = dup + self.totals[(site_id, Status.ACCEPTED)]
        return dup / seen if seen else 0.0

    def _observe_rates(self, options: CallbackOptions) -> Iterable[Observation]:
        sites = {site for site, _ in self.totals}
        return [Observation(self.dedupe_rate(s), {"site_id": s}) for s in sorted(sites)]
