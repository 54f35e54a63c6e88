"""Metrics on the OpenTelemetry meter (exported by the SDK hubkit.telemetry installs)."""

from __future__ import annotations

from opentelemetry import metrics

from router.domain.site import Mode

meter = metrics.get_meter("router")


class OtelMetrics:
    def __init__(self) -> None:
        self._sgtm = meter.create_counter(
            "events_routed_sgtm", unit="{conversion}", description="Conversions routed to sGTM"
        )
        self._direct = meter.create_counter(
            "events_routed_direct",
            unit="{conversion}",
            description="Conversions routed straight to the ad platforms",
        )
        self._mismatch = meter.create_counter(
            "route_mode_mismatch",
            unit="{conversion}",
            description="Conversions whose mode hint disagreed with their site's mode",
        )
        self._parked = meter.create_counter(
            "events_parked", unit="{conversion}", description="Conversions parked, by reason"
        )
        self._released = meter.create_counter(
            "events_released", unit="{conversion}", description="Parked conversions released"
        )
        self._repeated = meter.create_counter(
            "routing_redelivered",
            unit="{conversion}",
            description="Conversions received again after being routed (nothing done twice)",
        )
        self._rejected = meter.create_counter(
            "routing_rejected_items",
            unit="{item}",
            description="Inbound items that could not be routed (logged with their id)",
        )

    def routed(self, site_id: str, mode: Mode, count: int) -> None:
        counter = self._sgtm if mode is Mode.SGTM else self._direct
        counter.add(count, {"site_id": site_id})

    def mode_mismatch(self, site_id: str, mode: Mode, count: int) -> None:
        self._mismatch.add(count, {"site_id": site_id, "mode": mode.value})

    def parked(self, site_id: str, reason: str, count: int) -> None:
        self._parked.add(count, {"site_id": site_id, "reason": reason})

    def released(self, site_id: str, count: int) -> None:
        self._released.add(count, {"site_id": site_id})

    def repeated(self, count: int) -> None:
        self._repeated.add(count)

    def rejected_items(self, reason: str, count: int) -> None:
        self._rejected.add(count, {"reason": reason})
