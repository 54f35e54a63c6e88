"""Routing use case: decide each accepted conversion once, and record it with what it sets off."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from hubkit.vocabulary import Platform
from router.domain.events import ConversionsRouted, DispatchRequested
from router.domain.routing import Conversion, Decision, Target, decide
from router.domain.site import Mode
from router.ports import Clock, Metrics, UnitOfWork, UnitOfWorkFactory, Wakeups

log = logging.getLogger(__name__)

# Mode-mismatch logs name at most this many conversions per batch (the count is complete).
_MISMATCH_SAMPLE = 10


@dataclass(frozen=True)
class RouteReport:
    routed: int = 0
    parked: int = 0
    repeated: int = 0  # already decided earlier (redelivery): nothing done again


class Router:
    """Routes batches of one site's accepted conversions; idempotent per conversion."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, wakeups: Wakeups, metrics: Metrics
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._wakeups = wakeups
        self._metrics = metrics

    async def route(self, site_id: str, conversions: Sequence[Conversion]) -> RouteReport:
        """Decide, record and stage the outputs of every conversion not decided before.

        The decisions, the parked payloads and the outgoing messages commit together, so a
        crash or a redelivery can neither lose nor repeat an effect.
        """
        first: dict[str, Conversion] = {}
        for c in conversions:  # a conversion listed twice in one batch is routed once
            first.setdefault(c.conversion_id, c)
        unique = list(first.values())
        if not unique:
            return RouteReport()
        async with self._uow() as uow:
            record = await uow.sites.get(site_id)
            site = record.config if record is not None else None
            decisions = [decide(site, c) for c in unique]
            fresh_ids = await uow.decisions.record(decisions)
            fresh = [d for d in decisions if d.conversion_id in fresh_ids]
            parked = [d for d in fresh if d.parked]
            if parked:
                await uow.decisions.park(parked, record.revision if record is not None else 0)
            stage_outputs(uow, site_id, fresh, self._clock.now())
            await uow.commit()
        self._after_commit(site_id, fresh)
        report = RouteReport(
            routed=len(fresh) - len(parked), parked=len(parked), repeated=len(unique) - len(fresh)
        )
        if report.repeated:
            self._metrics.repeated(report.repeated)
        return report

    def _after_commit(self, site_id: str, fresh: Sequence[Decision]) -> None:
        if fresh:
            self._wakeups.outbox()
        record_metrics(self._metrics, site_id, fresh)


def stage_outputs(
    uow: UnitOfWork, site_id: str, decisions: Sequence[Decision], now: datetime
) -> None:
    """Stage what decisions set off: the routed batch and one dispatch batch per destination
    (sGTM included: the router's sGTM dispatcher consumes it like any dispatcher)."""
    if not decisions:
        return
    uow.events.add(ConversionsRouted(site_id, tuple(decisions), now))
    per_platform: dict[Platform, list[tuple[Decision, Target]]] = defaultdict(list)
    for decision in decisions:
        for target in decision.targets:
            per_platform[target.platform].append((decision, target))
    for platform, items in per_platform.items():
        uow.events.add(DispatchRequested(site_id, platform, tuple(items), now))


def record_metrics(metrics: Metrics, site_id: str, decisions: Sequence[Decision]) -> None:
    """Count routed, parked and mismatched conversions; log mismatches (ids only, no data)."""
    routed: dict[Mode, int] = defaultdict(int)
    parked: dict[str, int] = defaultdict(int)
    mismatched: list[Decision] = []
    for d in decisions:
        if d.park_reason is not None:
            parked[d.park_reason.value] += 1
        else:
            routed[d.mode] += 1
        if d.mode_mismatch:
            mismatched.append(d)
    for mode, count in routed.items():
        metrics.routed(site_id, mode, count)
    for reason, count in parked.items():
        metrics.parked(site_id, reason, count)
        log.info(
            "parked %d conversion(s) of site %s: %s",
            count,
            site_id,
            reason,
            extra={"fields": {"site_id": site_id, "reason": reason, "count": count}},
        )
    if mismatched:
        by_mode: dict[Mode, int] = defaultdict(int)
        for d in mismatched:
            by_mode[d.mode] += 1
        for mode, count in by_mode.items():
            metrics.mode_mismatch(site_id, mode, count)
        sample = mismatched[:_MISMATCH_SAMPLE]
        log.warning(
            "route_mode_mismatch: %d conversion(s) of site %s carry a mode hint that disagrees "
            "with the site's mode",
            len(mismatched),
            site_id,
            extra={
                "fields": {
                    "site_id": site_id,
                    "count": len(mismatched),
                    "conversions": [
                        {
                            "conversion_id": d.conversion_id,
                            "hint": d.conversion.mode_hint.value if d.conversion.mode_hint else "",
                            "mode": d.mode.value,
                        }
                        for d in sample
                    ],
                }
            },
        )
