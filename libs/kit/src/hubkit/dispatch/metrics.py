"""OpenTelemetry instruments of a dispatcher (outcomes, retries, latency, batch size, breaker)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from hubkit import matchkeys
from hubkit.dispatch.model import Platform

_meter = metrics.get_meter("hubkit.dispatch")


class DispatchMetrics:
    def __init__(
        self,
        platform: Platform,
        breaker_states: Callable[[], Iterable[tuple[str, int]]],
        backlog: Callable[[], int],
    ) -> None:
        self._attrs = {"platform": platform.value}
        self.events = _meter.create_counter(
            "convhub.dispatch.events", unit="{event}", description="event outcomes per attempt"
        )
        self.requests = _meter.create_counter(
            "convhub.dispatch.requests", unit="{request}", description="platform requests"
        )
        self.batch_size = _meter.create_histogram(
            "convhub.dispatch.batch_size", unit="{event}", description="events per request"
        )
        self.request_latency = _meter.create_histogram(
            "convhub.dispatch.request_latency", unit="s", description="platform request latency"
        )
        self.delivery_latency = _meter.create_histogram(
            "convhub.dispatch.delivery_latency",
            unit="s",
            description="accepted by ingest -> confirmed by the platform",
        )

        self.received_keys = _meter.create_counter(
            "convhub.dispatch.match_keys",
            unit="{event}",
            description="deliveries received, per match key their destination receives"
            " (key=none: all of them, the denominator of each key's share)",
        )
        self.reports = _meter.create_counter(
            "convhub.dispatch.request_reports",
            unit="{request}",
            description="final platform reports on accepted requests, per state",
        )
        self.reported_errors = _meter.create_counter(
            "convhub.dispatch.reported_errors",
            unit="{event}",
            description="events a platform's report counted per error reason",
        )

        def observe_breakers(options: CallbackOptions) -> Iterable[Observation]:
            for account, state in breaker_states():
                yield Observation(state, {**self._attrs, "account": account})

        def observe_backlog(options: CallbackOptions) -> Iterable[Observation]:
            yield Observation(backlog(), self._attrs)

        _meter.create_observable_gauge(
            "convhub.dispatch.breaker_state",
            callbacks=[observe_breakers],
            description="1 closed, 2 open, 3 half-open",
        )
        _meter.create_observable_gauge(
            "convhub.dispatch.backlog", callbacks=[observe_backlog], unit="{event}"
        )

    def outcome(self, status: str, error_class: str, count: int = 1) -> None:
        self.events.add(count, {**self._attrs, "outcome": status, "error_class": error_class})

    def request(self, http_status: int, size: int, seconds: float) -> None:
        self.requests.add(1, {**self._attrs, "http_status": str(http_status)})
        self.batch_size.record(size, self._attrs)
        self.request_latency.record(seconds, self._attrs)

    def delivered(self, seconds: float) -> None:
        self.delivery_latency.record(seconds, self._attrs)

    def report(self, state: str, error_counts: Mapping[str, int]) -> None:
        self.reports.add(1, {**self._attrs, "state": state})
        for reason, count in error_counts.items():
            self.reported_errors.add(count, {**self._attrs, "reason": reason})

    def received(self, masks: list[int]) -> None:
        """Deliveries taken in: one count per match key, and their total under key=none."""
        if not masks:
            return
        self.received_keys.add(len(masks), {**self._attrs, "key": "none"})
        for key in matchkeys.MatchKey:
            count = sum(1 for m in masks if m & matchkeys.mask_of((key,)))
            if count:
                self.received_keys.add(count, {**self._attrs, "key": key.value})
