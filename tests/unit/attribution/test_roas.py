"""ROAS in one currency: each amount converted at its own day's rate, never a silent mix."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from attribution.domain.model import UNATTRIBUTED
from attribution.domain.roas import Amount, MissingRates, MixedCurrencies, roas

D1, D2 = date(2026, 11, 1), date(2026, 11, 2)


def test_per_key_and_blended_with_rates_of_each_day() -> None:
    spend = [
        Amount("search", D1, "EUR", Decimal("40")),
        Amount("social", D1, "USD", Decimal("50")),
        Amount("social", D2, "USD", Decimal("50")),
    ]
    revenue = [
        Amount("search", D1, "EUR", Decimal("100"), Decimal("1")),
        Amount("social", D2, "USD", Decimal("300"), Decimal("1.5")),
        Amount(UNATTRIBUTED, D1, "EUR", Decimal("50"), Decimal("1")),
    ]
    rates = {(D1, "USD"): Decimal("0.9"), (D2, "USD"): Decimal("0.8")}
    result = roas(spend, revenue, reporting_currency="EUR", rates=rates)
    rows = {r.key: r for r in result.rows}
    assert result.currency == "EUR"
    assert (rows["search"].spend, rows["search"].revenue, rows["search"].roas) == (
        Decimal("40"),
        Decimal("100"),
        Decimal("2.5"),
    )
    # 50 * 0.9 + 50 * 0.8 = 85 spent; 300 * 0.8 = 240 earned.
    assert (rows["social"].spend, rows["social"].revenue) == (Decimal("85"), Decimal("240"))
    assert rows["social"].roas == Decimal("2.823529")
    assert rows["social"].cost_per_conversion == Decimal("56.666667")
    assert rows[UNATTRIBUTED].roas is None  # no spend: no ratio
    # Blended: attributed revenue (340) over all spend (125).
    assert (result.total.revenue, result.total.spend) == (Decimal("340"), Decimal("125"))
    assert result.total.roas == Decimal("2.72")


def test_a_missing_rate_is_named_never_guessed() -> None:
    with pytest.raises(MissingRates) as caught:
        roas(
            [Amount("social", D2, "USD", Decimal("1"))],
            [Amount("social", D1, "GBP", Decimal("2"))],
            reporting_currency="EUR",
            rates={},
        )
    assert caught.value.missing == [("GBP", D1), ("USD", D2)]
    assert str(caught.value) == "no exchange rate for GBP on 2026-11-01, USD on 2026-11-02"


def test_without_a_reporting_currency_amounts_must_share_one() -> None:
    same = roas(
        [Amount("a", D1, "EUR", Decimal("10"))],
        [Amount("a", D1, "EUR", Decimal("30"), Decimal("1"))],
        reporting_currency="",
        rates={},
    )
    assert (same.currency, same.total.roas) == ("EUR", Decimal("3"))
    with pytest.raises(MixedCurrencies):
        roas(
            [Amount("a", D1, "EUR", Decimal("10"))],
            [Amount("a", D1, "USD", Decimal("30"))],
            reporting_currency="",
            rates={},
        )


def test_no_spend_and_no_conversions_give_no_ratios() -> None:
    result = roas([], [], reporting_currency="EUR", rates={})
    assert result.rows == [] and result.total.roas is None
    assert result.total.cost_per_conversion is None
