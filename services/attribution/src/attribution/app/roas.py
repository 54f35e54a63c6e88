"""GetRoas: attributed revenue under one model, spend, both in the site's reporting currency.
Rule-based models give revenue per day, converted at each day's rate; data-driven models give
only totals over the range, so their revenue must already be in the reporting currency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from attribution.app.queries import Queries
from attribution.app.sites import SiteView
from attribution.domain.model import RULE_MODELS, Model
from attribution.domain.roas import Amount, MissingRates, MixedCurrencies, Roas, roas
from attribution.domain.spend import SpendRecord
from hubkit.errors import FailedPrecondition


class RoasStore(Protocol):
    async def spend_in(
        self, site_id: str, since: date | None, until: date | None
    ) -> list[SpendRecord]: ...

    async def rates(
        self, site_id: str, since: date | None, until: date | None
    ) -> dict[tuple[date, str], Decimal]: ...

    async def revenue_by_day(
        self, site_id: str, model: str, start: datetime | None, end: datetime | None, key: str
    ) -> list[Amount]: ...


class GetRoas:
    def __init__(
        self, store: RoasStore, queries: Queries, sites: Callable[[str], SiteView]
    ) -> None:
        self._store = store
        self._queries = queries
        self._sites = sites

    async def __call__(
        self, site_id: str, model: Model, start: datetime | None, end: datetime | None, key: str
    ) -> Roas:
        # Spend is per day: a day counts when it starts in the range.
        first = _day_from(start)
        last = _day_from(end)
        spend = [
            Amount(getattr(s, key) or "(none)", s.day, s.currency, s.amount)
            for s in await self._store.spend_in(site_id, first, last)
        ]
        reporting = self._sites(site_id).reporting_currency
        if model in RULE_MODELS:
            revenue = await self._store.revenue_by_day(site_id, model.value, start, end, key)
        else:
            credit = await self._queries.credit(site_id, model, start, end, key)
            # Without days, a data-driven model's revenue cannot meet a day's rate: it must
            # stand in the reporting currency already.
            foreign = sorted({r.currency for r in credit.rows if r.currency != reporting})
            if reporting and foreign:
                raise FailedPrecondition(
                    f"revenue in {', '.join(foreign)}: data-driven ROAS needs revenue in the "
                    f"reporting currency {reporting} (rule-based models convert it per day)"
                )
            revenue = [
                Amount(r.key, _NO_DAY, r.currency, r.revenue, r.conversions) for r in credit.rows
            ]
        rates = await self._store.rates(site_id, first, last)
        try:
            return roas(spend, revenue, reporting_currency=reporting, rates=rates)
        except (MixedCurrencies, MissingRates) as exc:
            raise FailedPrecondition(str(exc)) from None


_NO_DAY = date(1970, 1, 1)


def _day_from(at: datetime | None) -> date | None:
    """The first day starting at or after `at` for a range's start; a range's end likewise."""
    if at is None:
        return None
    day = at.date()
    return (
        day
        if at == datetime(day.year, day.month, day.day, tzinfo=at.tzinfo)
        else day + timedelta(days=1)
    )
