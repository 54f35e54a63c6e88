"""The questions analysts ask: credit per channel or campaign under a model, models side by
side, the paths that convert, one conversion's split, and recalculation.

Rule-based models read the credits stored per conversion. Data-driven models (Markov removal
effect, simplified and conversion-rate Shapley) are computed over the site's journeys in the
range, converting or not, and cached until the site's data changes."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from attribution.app.attribute import Attribute, SettingsOf
from attribution.app.journeys import Journeys, build
from attribution.domain import markov, shapley
from attribution.domain.model import (
    DATA_DRIVEN_MODELS,
    UNATTRIBUTED,
    Model,
    Sighting,
    StoredConversion,
    Touch,
)
from attribution.domain.paths import Path, collapse
from hubkit.errors import FailedPrecondition

KEYS = ("channel", "campaign")
_DATA_DRIVEN = {
    Model.MARKOV: markov.markov_credit,
    Model.SHAPLEY: shapley.simplified_shapley,
    Model.CONVERSION_RATE_SHAPLEY: shapley.conversion_rate_shapley,
}
CACHE_SIZE = 64


class Reader(Protocol):
    async def conversions_in(
        self, site_id: str, start: datetime | None, end: datetime | None, event_types: Sequence[str]
    ) -> list[StoredConversion]: ...

    async def sightings(
        self, site_id: str, since: datetime, until: datetime | None
    ) -> list[Sighting]: ...

    async def credit_totals(
        self,
        site_id: str,
        models: Sequence[str],
        start: datetime | None,
        end: datetime | None,
        event_types: Sequence[str],
        key: str,
    ) -> list[tuple[str, str, str, Decimal, Decimal]]: ...

    async def site_version(self, site_id: str) -> int: ...


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    currency: str
    conversions: Decimal
    revenue: Decimal


@dataclass(frozen=True, slots=True)
class Credit:
    rows: list[Row]  # by revenue, descending
    unattributed: list[Row]
    total_conversions: Decimal
    total_revenue: dict[str, Decimal]


@dataclass(frozen=True, slots=True)
class PathRow:
    steps: tuple[str, ...]
    conversions: int
    revenue: dict[str, Decimal]
    average_days: float


@dataclass(frozen=True, slots=True)
class PathReport:
    paths: list[PathRow]
    total: int
    average_length: Decimal
    average_days: float
    steps: list[tuple[str, int, Decimal, Decimal]]  # key, touches, first share, last share


@dataclass
class _Cache:
    entries: dict[tuple[Any, ...], Credit] = field(default_factory=dict)

    def get(self, key: tuple[Any, ...]) -> Credit | None:
        return self.entries.get(key)

    def put(self, key: tuple[Any, ...], value: Credit) -> None:
        if len(self.entries) >= CACHE_SIZE:
            self.entries.pop(next(iter(self.entries)))
        self.entries[key] = value


class Queries:
    def __init__(self, reader: Reader, settings_of: SettingsOf, attribute: Attribute) -> None:
        self._reader = reader
        self._settings_of = settings_of
        self._attribute = attribute
        self._cache = _Cache()

    async def credit(
        self,
        site_id: str,
        model: Model,
        start: datetime | None,
        end: datetime | None,
        key: str,
        event_types: Sequence[str] = (),
    ) -> Credit:
        if model in DATA_DRIVEN_MODELS:
            return await self._data_driven(site_id, model, start, end, key, event_types)
        totals = await self._reader.credit_totals(
            site_id, [model.value], start, end, event_types, key
        )
        return _credit([Row(k or "(none)", cur, conv, rev) for _, k, cur, conv, rev in totals])

    async def _data_driven(
        self,
        site_id: str,
        model: Model,
        start: datetime | None,
        end: datetime | None,
        key: str,
        event_types: Sequence[str],
    ) -> Credit:
        version = await self._reader.site_version(site_id)
        settings = self._settings_of(site_id)
        cache_key = (site_id, model, start, end, key, tuple(event_types), version, settings)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        journeys = await self.journeys(site_id, start, end, event_types)
        result = await asyncio.to_thread(_fit, model, journeys, key)
        self._cache.put(cache_key, result)
        return result

    async def journeys(
        self, site_id: str, start: datetime | None, end: datetime | None, event_types: Sequence[str]
    ) -> Journeys:
        settings = self._settings_of(site_id)
        conversions = await self._reader.conversions_in(site_id, start, end, event_types)
        earliest = start or min((c.event_time for c in conversions), default=None)
        if earliest is None:
            return Journeys([], [])
        sightings = await self._reader.sightings(site_id, earliest - settings.lookback, end)
        return build(conversions, sightings, settings, since=start)

    async def compare(
        self,
        site_id: str,
        models: Sequence[Model],
        start: datetime | None,
        end: datetime | None,
        key: str,
        event_types: Sequence[str] = (),
    ) -> dict[tuple[str, str], dict[Model, Row]]:
        """(key, currency) -> each model's row (absent: no credit under that model)."""
        table: dict[tuple[str, str], dict[Model, Row]] = defaultdict(dict)
        for model in models:
            try:
                result = await self.credit(site_id, model, start, end, key, event_types)
            except FailedPrecondition:
                continue  # e.g. conversion-rate Shapley over more than 20 keys: left out

            for row in [*result.rows, *result.unattributed]:
                table[(row.key, row.currency)][model] = row
        return dict(table)

    async def paths(
        self,
        site_id: str,
        start: datetime | None,
        end: datetime | None,
        key: str,
        max_length: int = 10,
        top: int = 20,
    ) -> PathReport:
        journeys = await self.journeys(site_id, start, end, ())
        counts: Counter[tuple[str, ...]] = Counter()
        revenue: dict[tuple[str, ...], dict[str, Decimal]] = defaultdict(dict)
        days: dict[tuple[str, ...], float] = defaultdict(float)
        touches: Counter[str] = Counter()
        first: Counter[str] = Counter()
        last: Counter[str] = Counter()
        length = total_days = 0.0
        for c, journey in journeys.converting:
            steps = tuple(getattr(t, key) or "(none)" for t in journey)[-max_length:]
            span = (c.event_time - journey[0].occurred_at) if journey else timedelta(0)
            counts[steps] += 1
            money = revenue[steps]
            money[c.currency] = money.get(c.currency, Decimal(0)) + c.value
            days[steps] += span.total_seconds() / 86400
            length += len(journey)
            total_days += span.total_seconds() / 86400
            touches.update(steps)
            if steps:
                first[steps[0]] += 1
                last[steps[-1]] += 1
        n = len(journeys.converting)
        rows = [
            PathRow(steps, count, revenue[steps], days[steps] / count)
            for steps, count in counts.most_common(top)
        ]
        step_rows = [
            (k, t, _share(first[k], n), _share(last[k], n)) for k, t in touches.most_common()
        ]
        return PathReport(
            rows,
            n,
            _share(int(length * 1000), n * 1000) if n else Decimal(0),
            total_days / n if n else 0.0,
            step_rows,
        )

    async def recalculate(self, site_id: str, start: datetime | None, end: datetime | None) -> int:
        conversions = await self._reader.conversions_in(site_id, start, end, ())
        await self._attribute.credit_many(conversions, readers=5)
        return len(conversions)


def _fit(model: Model, journeys: Journeys, key: str) -> Credit:
    """A data-driven model over the journeys: conversions credited from one fit over every
    journey; value per currency from fits in which only that currency's conversions carry
    value. Exact at the stored precision: the rows add up to the totals."""
    rows: list[Row] = []
    converting: list[tuple[str, Decimal, tuple[str, ...]]] = []
    for c, journey in journeys.converting:
        if journey:
            converting.append((c.currency, c.value, _steps(journey, key)))
        else:
            rows.append(Row(UNATTRIBUTED, c.currency, Decimal(1), c.value))
    if not converting:
        return _credit(rows)
    lost = [Path(_steps(j, key), False) for j in journeys.non_converting]
    fit = _DATA_DRIVEN[model]
    try:
        shares = fit([*(Path(steps, True) for _, _, steps in converting), *lost])
    except ValueError as exc:  # conversion-rate Shapley: too many channels
        raise FailedPrecondition(f"{model.value}: {exc}") from None
    count = _apportion(Decimal(len(converting)), {k: v[0] for k, v in shares.items()})
    currencies = sorted({currency for currency, _, _ in converting})
    for currency in currencies:
        paths = [
            Path(steps, True, v if cur == currency else Decimal(0)) for cur, v, steps in converting
        ]
        total = sum((v for cur, v, _ in converting if cur == currency), Decimal(0))
        values = _apportion(total, {k: v[1] for k, v in fit([*paths, *lost]).items()})
        for channel in count:
            if count[channel] or values.get(channel):
                # Conversions are credited once, on the first currency's row.
                conv = count[channel] if currency == currencies[0] else Decimal(0)
                rows.append(Row(channel, currency, conv, values.get(channel, Decimal(0))))
    return _credit(rows)


def _apportion(total: Decimal, weights: dict[str, float]) -> dict[str, Decimal]:
    """`total` split by `weights` at 9 places, summing exactly to it (largest remainder)."""
    unit = Decimal("0.000000001")
    positive = {k: max(0.0, w) for k, w in weights.items()}
    whole = sum(positive.values())
    if whole <= 0 or total == 0:
        return {k: Decimal(0) for k in weights}
    ticks = int(total / unit)
    raw = {k: ticks * w / whole for k, w in positive.items()}
    floor = {k: int(v) for k, v in raw.items()}
    left = ticks - sum(floor.values())
    for k in sorted(raw, key=lambda k: (raw[k] - floor[k], k), reverse=True)[:left]:
        floor[k] += 1
    return {k: Decimal(n) * unit for k, n in floor.items()}


def _steps(journey: Sequence[Touch], key: str) -> tuple[str, ...]:
    return collapse([getattr(t, key) or "(none)" for t in journey])


def _share(part: int, whole: int) -> Decimal:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.000001")) if whole else Decimal(0)


def _credit(rows: list[Row]) -> Credit:
    attributed = [r for r in rows if r.key != UNATTRIBUTED]
    unattributed = [r for r in rows if r.key == UNATTRIBUTED]
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        revenue[r.currency] += r.revenue
    return Credit(
        sorted(attributed, key=lambda r: (-r.revenue, -r.conversions, r.key)),
        unattributed,
        sum((r.conversions for r in rows), Decimal(0)),
        dict(revenue),
    )
