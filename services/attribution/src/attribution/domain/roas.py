"""Return on ad spend: attributed revenue over spend per channel or campaign, and blended, in
one currency. Amounts in other currencies are converted with the site's rate of their own day;
a missing rate is an error naming it, never a silent mix."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from attribution.domain.model import UNATTRIBUTED

MONEY = Decimal("0.000001")
RATIO = Decimal("0.000001")


@dataclass(frozen=True)
class Amount:
    """Spend or attributed revenue of one key on one day (`conversions`: credited, for revenue)."""

    key: str
    day: date
    currency: str
    amount: Decimal
    conversions: Decimal = Decimal(0)


@dataclass(frozen=True)
class RoasRow:
    key: str
    spend: Decimal
    revenue: Decimal
    conversions: Decimal

    @property
    def roas(self) -> Decimal | None:
        return (self.revenue / self.spend).quantize(RATIO) if self.spend else None

    @property
    def cost_per_conversion(self) -> Decimal | None:
        return (self.spend / self.conversions).quantize(MONEY) if self.conversions else None


@dataclass(frozen=True)
class Roas:
    currency: str
    rows: list[RoasRow]
    total: RoasRow


class MixedCurrencies(Exception):
    """Amounts in several currencies and no reporting currency to put them in."""


class MissingRates(Exception):
    """Amounts whose day has no rate into the reporting currency: (currency, day) pairs."""

    def __init__(self, missing: list[tuple[str, date]]) -> None:
        shown = ", ".join(f"{c} on {d.isoformat()}" for c, d in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        super().__init__(f"no exchange rate for {shown}{more}")
        self.missing = missing


Rates = Mapping[tuple[date, str], Decimal]  # (day, currency) -> units of reporting currency


def roas(
    spend: Iterable[Amount],
    revenue: Iterable[Amount],
    *,
    reporting_currency: str,
    rates: Rates,
) -> Roas:
    """Per key and blended. Without a reporting currency, every amount must share one."""
    spend, revenue = list(spend), list(revenue)
    currency = reporting_currency or _single_currency([*spend, *revenue])
    missing: set[tuple[str, date]] = set()

    def converted(a: Amount) -> Decimal:
        if a.currency == currency or not a.amount:
            return a.amount
        rate = rates.get((a.day, a.currency))
        if rate is None:
            missing.add((a.currency, a.day))
            return Decimal(0)
        return a.amount * rate

    spent: dict[str, Decimal] = defaultdict(Decimal)
    earned: dict[str, Decimal] = defaultdict(Decimal)
    credited: dict[str, Decimal] = defaultdict(Decimal)
    for a in spend:
        spent[a.key] += converted(a)
    for a in revenue:
        earned[a.key] += converted(a)
        credited[a.key] += a.conversions
    if missing:
        raise MissingRates(sorted(missing, key=lambda m: (m[1], m[0])))
    rows = [
        RoasRow(
            key,
            spent[key].quantize(MONEY),
            earned[key].quantize(MONEY),
            credited[key],
        )
        for key in sorted({*spent, *earned})
    ]
    # Blended: attributed revenue over all spend; revenue no touch earned is listed, not added.
    attributed = [r for r in rows if r.key != UNATTRIBUTED]
    total = RoasRow(
        "total",
        sum((r.spend for r in rows), Decimal(0)),
        sum((r.revenue for r in attributed), Decimal(0)),
        sum((r.conversions for r in attributed), Decimal(0)),
    )
    return Roas(currency, rows, total)


def _single_currency(amounts: list[Amount]) -> str:
    currencies = {a.currency for a in amounts if a.currency and a.amount}
    if len(currencies) > 1:
        raise MixedCurrencies(
            f"amounts in {', '.join(sorted(currencies))}: set the site's reporting_currency and "
            "record exchange rates"
        )
    return next(iter(currencies), "")
