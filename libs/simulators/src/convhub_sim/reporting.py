"""Seeded ad spend, shared by the reporting endpoints of the Google, Meta and TikTok simulators
(Google Ads `googleAds:searchStream`, Meta `act_<id>/insights`, TikTok `report/integrated/get`).

Each simulator keeps one `SeededSpend`: `seed(account, rows, currency)` records a campaign's
spend per day (`{"campaign": name, "date": "YYYY-MM-DD", "amount": "12.34"}`, optionally
`"campaign_id"`), in the account's one currency. Seeding the same campaign and day again
replaces it. Campaign ids are stable digits derived from the account and the name unless
given. An account nobody seeded has no spend (every report is empty)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

DEFAULT_CURRENCY = "EUR"
_CURRENCY = re.compile(r"[A-Z]{3}")
_DIGITS = re.compile(r"\d{1,20}")


@dataclass(frozen=True)
class SpendRow:
    campaign_id: str
    campaign: str
    day: date
    amount: Decimal  # in the account's currency, as seeded (never rounded)

    @property
    def micros(self) -> int:
        """Google's cost_micros (the amount has at most 6 decimal places: `seed` checks)."""
        return int(self.amount * 1_000_000)

    def text(self) -> str:
        """The amount as Meta and TikTok print it: a plain decimal string."""
        return format(self.amount, "f")


@dataclass
class SeededAccount:
    currency: str = DEFAULT_CURRENCY
    rows: dict[tuple[str, date], SpendRow] = field(default_factory=dict)


class SeededSpend:
    def __init__(self) -> None:
        self.accounts: dict[str, SeededAccount] = {}

    def seed(
        self,
        account_id: str,
        rows: Iterable[Mapping[str, Any]] = (),
        currency: str = DEFAULT_CURRENCY,
    ) -> None:
        """Record `rows` for `account_id` (see the module's docstring); ValueError names the
        first bad row. The account's currency becomes `currency`."""
        account_id = str(account_id).removeprefix("act_")
        if not _DIGITS.fullmatch(account_id):
            raise ValueError(f"account id {account_id!r}: expected digits")
        if not _CURRENCY.fullmatch(currency):
            raise ValueError(f"currency {currency!r}: expected an ISO 4217 code like EUR")
        parsed = [_row(account_id, i, row) for i, row in enumerate(rows)]
        account = self.accounts.setdefault(account_id, SeededAccount())
        account.currency = currency
        for row in parsed:
            account.rows[(row.campaign_id, row.day)] = row

    def currency(self, account_id: str) -> str:
        account = self.accounts.get(account_id)
        return account.currency if account is not None else DEFAULT_CURRENCY

    def rows(self, account_id: str, since: date, until: date) -> list[SpendRow]:
        """The account's rows within since..until (inclusive), by day then campaign id."""
        account = self.accounts.get(account_id)
        if account is None:
            return []
        found = [r for r in account.rows.values() if since <= r.day <= until]
        return sorted(found, key=lambda r: (r.day, r.campaign_id))

    def clear(self) -> None:
        self.accounts.clear()


def campaign_id(account_id: str, name: str) -> str:
    """A stable 11-digit campaign id for `name` in `account_id` (a real id's shape)."""
    digest = hashlib.sha256(f"{account_id}/{name}".encode()).digest()
    return str(10_000_000_000 + int.from_bytes(digest[:8], "big") % 89_999_999_999)


def _row(account_id: str, index: int, row: Mapping[str, Any]) -> SpendRow:
    where = f"rows[{index}]"
    name = row.get("campaign")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}.campaign: a campaign name is required")
    try:
        day = date.fromisoformat(str(row.get("date", "")))
    except ValueError:
        raise ValueError(f"{where}.date: expected YYYY-MM-DD") from None
    try:
        amount = Decimal(str(row.get("amount", "")))
    except InvalidOperation:
        raise ValueError(f"{where}.amount: expected a decimal string like 12.34") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{where}.amount: expected a non-negative amount")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        raise ValueError(f"{where}.amount: at most 6 decimal places (Google counts micros)")
    given = row.get("campaign_id")
    ident = str(given) if given is not None else campaign_id(account_id, name)
    if not _DIGITS.fullmatch(ident):
        raise ValueError(f"{where}.campaign_id: expected digits")
    return SpendRow(ident, name, day, amount)
