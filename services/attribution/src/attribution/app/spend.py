"""Spend in: RecordSpend's entries checked field by field, and the spend sync, which reads
each of a site's ad accounts from its platform's reporting API. A throttled or failing
platform is waited out on its own; the others go on."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Protocol

from attribution.app.sites import SiteView
from attribution.app.spend_ports import (
    ReportingRefused,
    ReportingUnavailable,
    SpendAccount,
    SpendReports,
)
from attribution.domain.spend import PLATFORM_CHANNEL, ExchangeRate, SpendRecord
from convhub.attribution.v1 import attribution_pb2 as pb
from hubkit.errors import FieldError
from hubkit.resilience import Backoff

log = logging.getLogger(__name__)
DECIMAL = re.compile(r"\d{1,15}(\.\d{1,6})?")
CURRENCY = re.compile(r"[A-Z]{3}")
PLATFORMS = ("", "google", "meta", "tiktok")
MAX_TEXT = 256


class SpendStore(Protocol):
    async def record_spend(self, site_id: str, records: Sequence[SpendRecord]) -> int: ...

    async def replace_account_spend(
        self,
        site_id: str,
        platform: str,
        account_id: str,
        since: date,
        until: date,
        records: Sequence[SpendRecord],
    ) -> int:
        """The account's stored spend of since..until (inclusive) becomes exactly `records`."""
        ...

    async def record_rates(self, site_id: str, rates: Sequence[ExchangeRate]) -> int: ...


def check_spend(entries: Sequence[pb.SpendEntry]) -> tuple[list[SpendRecord], list[FieldError]]:
    """The entries that can be recorded, and field errors for the others ("entries[i].x")."""
    records, errors = [], []
    for i, e in enumerate(entries):
        problems: list[FieldError] = []

        def bad(
            field: str, code: str, message: str, i: int = i, problems: list[FieldError] = problems
        ) -> None:
            problems.append(FieldError(f"entries[{i}].{field}", code, message))

        if not e.channel.strip():
            bad("channel", "REQUIRED", "the channel the spend belongs to (paid_search, ...)")
        for name in ("channel", "campaign", "account_id"):
            if len(getattr(e, name)) > MAX_TEXT:
                bad(name, "TOO_LONG", f"at most {MAX_TEXT} characters")
        if e.platform not in PLATFORMS:
            bad("platform", "INVALID_VALUE", "google, meta, tiktok, or empty")
        day = _day(e.date)
        if day is None:
            bad("date", "INVALID_FORMAT", "a day as YYYY-MM-DD")
        if not DECIMAL.fullmatch(e.amount.value):
            bad("amount.value", "INVALID_FORMAT", "a non-negative plain decimal, <= 6 places")
        if not CURRENCY.fullmatch(e.amount.currency):
            bad("amount.currency", "INVALID_FORMAT", "an ISO 4217 code like EUR")
        if problems or day is None:
            errors += problems
            continue
        records.append(
            SpendRecord(
                e.platform,
                e.account_id.strip(),
                e.channel.strip(),
                e.campaign.strip(),
                day,
                Decimal(e.amount.value),
                e.amount.currency,
            )
        )
    return records, errors


def check_rates(rates: Sequence[pb.ExchangeRate]) -> tuple[list[ExchangeRate], list[FieldError]]:
    good, errors = [], []
    for i, r in enumerate(rates):
        day = _day(r.date)
        rate = _positive(r.rate.value)
        problems = []
        if day is None:
            problems.append(FieldError(f"rates[{i}].date", "INVALID_FORMAT", "YYYY-MM-DD"))
        if not CURRENCY.fullmatch(r.currency):
            problems.append(FieldError(f"rates[{i}].currency", "INVALID_FORMAT", "ISO 4217"))
        if rate is None:
            problems.append(
                FieldError(f"rates[{i}].rate.value", "INVALID_FORMAT", "a positive decimal")
            )
        if problems or day is None or rate is None:
            errors += problems
            continue
        good.append(ExchangeRate(day, r.currency, rate))
    return good, errors


class SyncSpend:
    """Reads every ad account of a site for the last `days` days (today included) and replaces
    the stored spend of those days: run twice, run late, the same rows."""

    def __init__(
        self,
        store: SpendStore,
        reports: Mapping[str, SpendReports],
        sites: Callable[[str], SiteView],
        *,
        clock: Callable[[], datetime],
        patience: timedelta = timedelta(minutes=10),
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._reports = reports
        self._sites = sites
        self._clock = clock
        self._patience = patience
        self._backoff = backoff or Backoff(schedule=(1, 2, 4, 8, 16, 32), max_delay=120)
        self._sleep = sleep

    async def __call__(self, site_id: str, days: int) -> Counter[str]:
        today = self._clock().date()
        since = today - timedelta(days=max(days, 1) - 1)
        accounts = [a for a in self._sites(site_id).accounts if a.platform in self._reports]
        results = await asyncio.gather(
            *(self._account(site_id, a, since, today) for a in accounts), return_exceptions=True
        )
        counts: Counter[str] = Counter(accounts=len(accounts))
        failed = []
        for account, result in zip(accounts, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, ReportingUnavailable | ReportingRefused):
                    raise result
                failed.append(f"{account.platform} {account.account_id}: {result}")
            else:
                counts["rows"] += result
        if failed:
            raise SpendSyncFailed("; ".join(failed), counts)
        return counts

    async def _account(self, site_id: str, account: SpendAccount, since: date, until: date) -> int:
        started, attempt = self._clock(), 0
        while True:
            try:
                rows = await self._reports[account.platform].spend(account, since, until)
                break
            except ReportingUnavailable as exc:
                attempt += 1
                wait = self._backoff.delay(attempt, exc.retry_after)
                if self._clock() - started + timedelta(seconds=wait) > self._patience:
                    raise
                log.warning(
                    "spend report waits",
                    extra={"platform": account.platform, "error": str(exc), "retry_in_s": wait},
                )
                await self._sleep(wait)
        channel = PLATFORM_CHANNEL[account.platform]
        records = [
            SpendRecord(
                account.platform,
                account.account_id,
                channel,
                r.campaign,
                r.day,
                r.amount,
                r.currency,
            )
            for r in rows
        ]
        return await self._store.replace_account_spend(
            site_id, account.platform, account.account_id, since, until, records
        )


class SpendSyncFailed(Exception):
    """Some accounts could not be read (the others were stored); `counts` says what was."""

    def __init__(self, message: str, counts: Counter[str]) -> None:
        super().__init__(message)
        self.counts = counts


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def _positive(text: str) -> Decimal | None:
    if not re.fullmatch(r"\d{1,12}(\.\d{1,12})?", text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value > 0 else None
