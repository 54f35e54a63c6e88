"""The spend sync on fakes: a throttled platform is waited out on its own, a refused one fails
alone, each account's rows are stored under its platform's channel; RecordSpend's checks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from attribution.app.sites import SiteView
from attribution.app.spend import SpendSyncFailed, SyncSpend, check_rates, check_spend
from attribution.app.spend_ports import (
    ReportingRefused,
    ReportingUnavailable,
    SpendAccount,
    SpendRow,
)
from attribution.domain.spend import ExchangeRate, SpendRecord
from convhub.attribution.v1 import attribution_pb2 as pb
from convhub.common.v1 import common_pb2
from hubkit.resilience import Backoff

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


class Store:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str, str, str, date], SpendRecord] = {}

    async def record_spend(self, site_id: str, records: Sequence[SpendRecord]) -> int:
        for r in records:
            self.rows[(site_id, r.platform, r.account_id, r.channel, r.campaign, r.day)] = r
        return len(records)

    async def record_rates(self, site_id: str, rates: Sequence[ExchangeRate]) -> int:
        return len(rates)

    async def replace_account_spend(
        self,
        site_id: str,
        platform: str,
        account_id: str,
        since: date,
        until: date,
        records: Sequence[SpendRecord],
    ) -> int:
        for key in [k for k in self.rows if k[:3] == (site_id, platform, account_id)]:
            if since <= key[5] <= until:
                del self.rows[key]
        return await self.record_spend(site_id, records)


class Reports:
    def __init__(self, platform: str, failures: list[Exception] | None = None) -> None:
        self.platform = platform
        self.failures = failures or []
        self.calls: list[tuple[date, date]] = []

    async def spend(self, account: SpendAccount, since: date, until: date) -> list[SpendRow]:
        self.calls.append((since, until))
        if self.failures:
            raise self.failures.pop(0)
        return [SpendRow(f"{self.platform}-camp", until, Decimal("12.345678"), "EUR")]


ACCOUNTS = (
    SpendAccount("google", "1234567890", "g"),
    SpendAccount("meta", "555", "m"),
    SpendAccount("tiktok", "777", "t"),
)


def sync(store: Store, reports: dict[str, Reports], sleeps: list[float]) -> SyncSpend:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(0)

    return SyncSpend(
        store,
        reports,
        lambda site: SiteView(accounts=ACCOUNTS),
        clock=lambda: NOW,
        backoff=Backoff(schedule=(1, 2), jitter=0),
        sleep=sleep,
    )


async def test_each_account_stored_under_its_channel_and_a_throttle_waited_out() -> None:
    store, sleeps = Store(), []
    meta = Reports("meta", [ReportingUnavailable("throttled", retry_after=30)])
    reports = {"google": Reports("google"), "meta": meta, "tiktok": Reports("tiktok")}
    counts = await sync(store, reports, sleeps)("shop", days=7)
    assert counts == {"accounts": 3, "rows": 3}
    assert sleeps == [30]  # the platform's wait, not ours
    assert reports["google"].calls == [(date(2026, 11, 24), date(2026, 11, 30))]
    channels = {(k[1], k[3]) for k in store.rows}
    assert channels == {
        ("google", "paid_search"),
        ("meta", "paid_social"),
        ("tiktok", "paid_social"),
    }
    again = await sync(store, {p: Reports(p) for p in reports}, sleeps)("shop", days=7)
    assert again["rows"] == 3 and len(store.rows) == 3  # run twice: the same keys


async def test_a_refused_account_fails_alone() -> None:
    store, sleeps = Store(), []
    reports = {
        "google": Reports("google", [ReportingRefused("developer token not approved")]),
        "meta": Reports("meta"),
        "tiktok": Reports("tiktok"),
    }
    with pytest.raises(SpendSyncFailed) as caught:
        await sync(store, reports, sleeps)("shop", days=1)
    assert "google 1234567890: developer token not approved" in str(caught.value)
    assert caught.value.counts["rows"] == 2 and len(store.rows) == 2


async def test_a_platform_throttling_past_patience_fails_without_blocking_others() -> None:
    store, now = Store(), [NOW]

    async def sleep(seconds: float) -> None:
        now[0] += timedelta(seconds=seconds)

    forever = [ReportingUnavailable("down", retry_after=400) for _ in range(10)]
    reports = {"google": Reports("google", forever), "meta": Reports("meta")}
    patient = SyncSpend(
        store,
        reports,
        lambda site: SiteView(accounts=ACCOUNTS[:2]),
        clock=lambda: now[0],
        patience=timedelta(minutes=10),
        sleep=sleep,
    )
    with pytest.raises(SpendSyncFailed) as caught:
        await patient("shop", days=1)
    assert "google 1234567890: down" in str(caught.value)
    assert len(reports["google"].calls) == 2  # waited 400 s once; another 400 s is past 10 min
    assert {k[1] for k in store.rows} == {"meta"}


def test_record_spend_checks_each_entry_field_by_field() -> None:
    entries = [
        pb.SpendEntry(
            channel="paid_search",
            campaign="brand",
            date="2026-11-29",
            amount=common_pb2.Money(value="40.5", currency="EUR"),
        ),
        pb.SpendEntry(
            channel="",
            date="29.11.2026",
            amount=common_pb2.Money(value="1e3", currency="eur"),
            platform="bing",
        ),
    ]
    records, errors = check_spend(entries)
    assert records == [
        SpendRecord("", "", "paid_search", "brand", date(2026, 11, 29), Decimal("40.5"), "EUR")
    ]
    assert [(e.field, e.code) for e in errors] == [
        ("entries[1].channel", "REQUIRED"),
        ("entries[1].platform", "INVALID_VALUE"),
        ("entries[1].date", "INVALID_FORMAT"),
        ("entries[1].amount.value", "INVALID_FORMAT"),
        ("entries[1].amount.currency", "INVALID_FORMAT"),
    ]
    rates, problems = check_rates(
        [
            pb.ExchangeRate(
                date="2026-11-29", currency="USD", rate=common_pb2.Decimal(value="0.9")
            ),
            pb.ExchangeRate(date="2026-11-29", currency="USD", rate=common_pb2.Decimal(value="0")),
        ]
    )
    assert rates == [ExchangeRate(date(2026, 11, 29), "USD", Decimal("0.9"))]
    assert [p.field for p in problems] == ["rates[1].rate.value"]
