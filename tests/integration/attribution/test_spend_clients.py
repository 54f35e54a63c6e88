"""The spend sync's reporting clients against the platform simulators, over real HTTP on
loopback: Google Ads searchStream (OAuth through the kit), Meta insights, TikTok integrated
reports. Every page read, amounts exact, throttles and refusals reported as the port says,
Meta's usage headers waited out, TikTok's 30-day limit, the breaker."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from attribution.adapters.spend_google import GoogleSpendReports
from attribution.adapters.spend_meta import MetaSpendReports
from attribution.adapters.spend_tiktok import TikTokSpendReports, windows
from attribution.app.spend_ports import (
    ReportingRefused,
    ReportingUnavailable,
    SpendAccount,
    SpendRow,
)
from convhub_sim.google import GoogleSimulator
from convhub_sim.meta import MetaSimulator
from convhub_sim.tiktok import TikTokSimulator
from hubkit.dispatch.credentials import CredentialStore
from hubkit.resilience import CircuitBreaker

CUSTOMER = "1234567890"
MANAGER = "9876543210"
AD_ACCOUNT = "101202303"
ADVERTISER = "7100000000000000001"
MAY = date(2026, 5, 1)
GOOGLE_SECRETS = {
    "client_id": "100000000042-test.apps.googleusercontent.com",
    "client_secret": "google-client-secret",
    "refresh_token": "dev-refresh-token",
    "developer_token": "dev-developer-token",
}
META_TOKEN = "EAAB-meta-token-0123456789"
META_SECRET = "meta-app-secret"
TIKTOK_TOKEN = "dev-tiktok-token"

GOOGLE = SpendAccount("google", CUSTOMER, "g")
META = SpendAccount("meta", AD_ACCOUNT, "m")
TIKTOK = SpendAccount("tiktok", ADVERTISER, "t")


def seeded(count: int, amount: str = "12.345678", campaign: str = "spring") -> list[Any]:
    return [
        {"campaign": campaign, "date": (MAY + timedelta(days=i)).isoformat(), "amount": amount}
        for i in range(count)
    ]


def expected(count: int, amount: str, currency: str, campaign: str = "spring") -> list[SpendRow]:
    return [
        SpendRow(campaign, MAY + timedelta(days=i), Decimal(amount), currency) for i in range(count)
    ]


class FakeTime:
    """A clock that moves only when slept on; the sleeps are recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def open_breaker() -> CircuitBreaker:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=42.0)
    breaker.record_failure()
    return breaker


@pytest.fixture
def credentials(tmp_path: Path) -> CredentialStore:
    directory = tmp_path / "credentials"
    directory.mkdir()
    (directory / "g").write_text(json.dumps(GOOGLE_SECRETS))
    (directory / "m").write_text(json.dumps({"access_token": META_TOKEN}))
    (directory / "m-proof").write_text(
        json.dumps({"access_token": META_TOKEN, "app_secret": META_SECRET})
    )
    (directory / "t").write_text(TIKTOK_TOKEN)  # a bare token, as dispatch-tiktok reads it
    (directory / "empty").write_text("{}")
    return CredentialStore(directory)


# --- Google ----------------------------------------------------------------------------------


@pytest.fixture
async def google_sim() -> AsyncIterator[GoogleSimulator]:
    simulator = GoogleSimulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def google(
    google_sim: GoogleSimulator, credentials: CredentialStore
) -> AsyncIterator[GoogleSpendReports]:
    client = GoogleSpendReports(google_sim.url, f"{google_sim.url}/token", credentials, timeout=5.0)
    yield client
    await client.close()


def searches(sim: GoogleSimulator) -> list[Any]:
    return [r for r in sim.platform_requests() if r.path.endswith("googleAds:searchStream")]


async def test_google_reads_every_batch_exactly(
    google: GoogleSpendReports, google_sim: GoogleSimulator
) -> None:
    google_sim.seed_spend(CUSTOMER, seeded(7), currency="USD")
    google_sim.seed_spend(CUSTOMER, seeded(2, "0", "paused"), currency="USD")
    google_sim.report_page_size(2)  # 4 batches in the stream

    rows = await google.spend(GOOGLE, MAY, date(2026, 5, 31))

    assert rows == expected(7, "12.345678", "USD")  # cost_micros 12345678 -> 12.345678
    (request,) = searches(google_sim)
    assert request.path == f"/v26/customers/{CUSTOMER}/googleAds:searchStream"
    assert request.headers["Authorization"].startswith("Bearer ya29.sim-")
    assert request.headers["developer-token"] == "dev-developer-token"
    assert "login-customer-id" not in request.headers
    assert request.json()["query"] == (
        "SELECT campaign.id, campaign.name, segments.date, metrics.cost_micros,"
        " customer.currency_code FROM campaign"
        " WHERE segments.date BETWEEN '2026-05-01' AND '2026-05-31' AND metrics.cost_micros > 0"
    )
    through_manager = SpendAccount("google", "123-456-7890", "g", login_customer_id=MANAGER)
    assert await google.spend(through_manager, MAY, MAY) == expected(1, "12.345678", "USD")
    assert searches(google_sim)[-1].headers["login-customer-id"] == MANAGER
    assert google_sim.tokens_issued == 1  # the token is cached between calls


async def test_campaigns_of_one_name_spend_together(
    google: GoogleSpendReports, google_sim: GoogleSimulator
) -> None:
    copies = [
        {"campaign": "sale", "campaign_id": ident, "date": "2026-05-01", "amount": amount}
        for ident, amount in (("111", "1.25"), ("222", "2.000001"))
    ]
    google_sim.seed_spend(CUSTOMER, copies)
    assert await google.spend(GOOGLE, MAY, MAY) == [
        SpendRow("sale", MAY, Decimal("3.250001"), "EUR")
    ]


async def test_google_throttle_reports_googles_wait(
    google: GoogleSpendReports, google_sim: GoogleSimulator
) -> None:
    google_sim.throttle(retry_delay=17)  # quotaErrorDetails.retryDelay "17s"
    with pytest.raises(ReportingUnavailable) as caught:
        await google.spend(GOOGLE, MAY, MAY)
    assert caught.value.retry_after == 17
    assert "RESOURCE_TEMPORARILY_EXHAUSTED" in str(caught.value)
    google_sim.throttle(retry_delay=9, retry_info=True)  # google.rpc.RetryInfo too
    with pytest.raises(ReportingUnavailable) as caught:
        await google.spend(GOOGLE, MAY, MAY)
    assert caught.value.retry_after == 9
    assert google.guard.breaker.failures == 0  # a throttle is no failure
    assert await google.spend(GOOGLE, MAY, MAY) == []


async def test_google_expired_token_is_refreshed_once(
    google: GoogleSpendReports, google_sim: GoogleSimulator
) -> None:
    google_sim.seed_spend(CUSTOMER, seeded(3, "4.5"))
    assert len(await google.spend(GOOGLE, MAY, date(2026, 5, 3))) == 3
    google_sim.expire_tokens()  # every token minted so far now answers ACCESS_TOKEN_EXPIRED

    rows = await google.spend(GOOGLE, MAY, date(2026, 5, 3))

    assert rows == expected(3, "4.5", "EUR")
    assert google_sim.tokens_issued == 2
    assert [r.status for r in searches(google_sim)] == [200, 401, 200]
    assert google.guard.breaker.failures == 0


async def test_google_refusals_and_trouble(
    google: GoogleSpendReports, google_sim: GoogleSimulator, credentials: CredentialStore
) -> None:
    google_sim.deny_customer(CUSTOMER, "USER_PERMISSION_DENIED")
    with pytest.raises(ReportingRefused, match="USER_PERMISSION_DENIED"):
        await google.spend(GOOGLE, MAY, MAY)
    with pytest.raises(ReportingRefused, match="has no client_id"):
        await google.spend(SpendAccount("google", CUSTOMER, "empty"), MAY, MAY)
    google_sim.server_error(status=503)
    with pytest.raises(ReportingUnavailable):
        await google.spend(SpendAccount("google", "5550001111", "g"), MAY, MAY)
    assert google.guard.breaker.failures == 1

    google_sim.revoke_refresh_token("dev-refresh-token")
    fresh = GoogleSpendReports(google_sim.url, f"{google_sim.url}/token", credentials)
    try:
        with pytest.raises(ReportingRefused, match="invalid_grant") as caught:
            await fresh.spend(GOOGLE, MAY, MAY)
    finally:
        await fresh.close()
    for secret in GOOGLE_SECRETS.values():
        assert secret not in str(caught.value)


async def test_google_open_breaker_sends_nothing(
    google_sim: GoogleSimulator, credentials: CredentialStore
) -> None:
    client = GoogleSpendReports(
        google_sim.url, f"{google_sim.url}/token", credentials, breaker=open_breaker()
    )
    try:
        with pytest.raises(ReportingUnavailable, match="circuit breaker open") as caught:
            await client.spend(GOOGLE, MAY, MAY)
    finally:
        await client.close()
    assert 40 <= caught.value.retry_after <= 42
    assert searches(google_sim) == []


# --- Meta ------------------------------------------------------------------------------------


@pytest.fixture
async def meta_sim() -> AsyncIterator[MetaSimulator]:
    simulator = MetaSimulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def meta(
    meta_sim: MetaSimulator, credentials: CredentialStore, time_: FakeTime
) -> AsyncIterator[MetaSpendReports]:
    client = MetaSpendReports(
        meta_sim.url,
        credentials,
        requests_per_second=1000,
        timeout=5.0,
        clock=time_.clock,
        sleep=time_.sleep,
    )
    yield client
    await client.close()


def insights_calls(sim: MetaSimulator) -> list[Any]:
    return [r for r in sim.platform_requests() if r.path.endswith("/insights")]


async def test_meta_reads_every_page(meta: MetaSpendReports, meta_sim: MetaSimulator) -> None:
    meta_sim.seed_spend(AD_ACCOUNT, seeded(7, "10.05"), currency="USD")
    meta_sim.report_page_size(3)  # 3 pages of 3, 3, 1

    rows = await meta.spend(META, MAY, date(2026, 5, 31))

    assert rows == expected(7, "10.05", "USD")
    calls = insights_calls(meta_sim)
    assert len(calls) == 3
    first = calls[0]
    assert first.path == f"/v27.0/act_{AD_ACCOUNT}/insights"
    assert first.query["level"] == "campaign" and first.query["time_increment"] == "1"
    assert first.query["fields"] == (
        "campaign_id,campaign_name,spend,account_currency,date_start,date_stop"
    )
    assert json.loads(first.query["time_range"]) == {"since": "2026-05-01", "until": "2026-05-31"}
    assert first.query["limit"] == "500"
    for call in calls:  # the token in a header only, never in a URL
        assert call.headers["Authorization"] == f"Bearer {META_TOKEN}"
        assert "access_token" not in call.query
    assert "after" in calls[1].query


async def test_meta_sends_the_appsecret_proof(credentials: CredentialStore) -> None:
    proving = MetaSimulator(app_secrets={META_TOKEN: META_SECRET})
    await proving.start()
    client = MetaSpendReports(proving.url, credentials, requests_per_second=1000)
    try:
        proving.seed_spend(AD_ACCOUNT, seeded(3, "1"))
        proving.report_page_size(2)
        with_proof = SpendAccount("meta", f"act_{AD_ACCOUNT}", "m-proof")
        assert len(await client.spend(with_proof, MAY, MAY + timedelta(days=2))) == 3
        with pytest.raises(ReportingRefused, match="appsecret_proof"):
            await client.spend(META, MAY, MAY)
    finally:
        await client.close()
        await proving.stop()


async def test_meta_throttle_reports_the_time_to_regain_access(
    meta: MetaSpendReports, meta_sim: MetaSimulator, time_: FakeTime
) -> None:
    meta_sim.throttle(code=80000, subcode=2446079, regain_minutes=4, usage_type="ads_insights")
    with pytest.raises(ReportingUnavailable, match="80000") as caught:
        await meta.spend(META, MAY, MAY)
    assert caught.value.retry_after == 240
    assert meta.guard.breaker.failures == 0
    # The next call waits Meta's estimate out before it goes.
    assert await meta.spend(META, MAY, MAY) == []
    assert time_.sleeps == [240]
    meta_sim.throttle(code=17, subcode=2446079, retry_after=30)
    with pytest.raises(ReportingUnavailable) as caught:
        await meta.spend(META, MAY, MAY)
    assert caught.value.retry_after == 30


async def test_meta_usage_at_95_percent_waits_before_the_next_call(
    meta: MetaSpendReports, meta_sim: MetaSimulator, time_: FakeTime
) -> None:
    meta_sim.seed_spend(AD_ACCOUNT, seeded(3, "2.5"))
    meta_sim.report_page_size(1)
    meta_sim.insights_usage(95)  # no estimate: the client's own pause (60 s)

    rows = await meta.spend(META, MAY, date(2026, 5, 3))

    assert rows == expected(3, "2.5", "EUR")
    assert time_.sleeps == [60, 60]  # before pages 2 and 3
    meta_sim.insights_usage(95, regain_minutes=2)  # Meta's estimate wins over the pause
    await meta.spend(META, MAY, MAY)  # waits the hold page 3 left
    assert time_.sleeps == [60, 60, 60]
    meta_sim.insights_usage(50)
    await meta.spend(META, MAY, MAY)  # waits Meta's 2 minutes, then usage is low again
    await meta.spend(META, MAY, MAY)
    assert time_.sleeps == [60, 60, 60, 120]


async def test_meta_long_hold_is_reported_not_slept(
    meta: MetaSpendReports, meta_sim: MetaSimulator, time_: FakeTime
) -> None:
    meta_sim.insights_usage(99, regain_minutes=30)
    await meta.spend(META, MAY, MAY)
    with pytest.raises(ReportingUnavailable, match="usage is high") as caught:
        await meta.spend(META, MAY, MAY)
    assert caught.value.retry_after == 1800
    assert time_.sleeps == [] and len(insights_calls(meta_sim)) == 1


async def test_meta_refusals(meta: MetaSpendReports, meta_sim: MetaSimulator) -> None:
    meta_sim.expire_token(META_TOKEN)
    with pytest.raises(ReportingRefused, match="190/463") as caught:
        await meta.spend(META, MAY, MAY)
    assert META_TOKEN not in str(caught.value)
    meta_sim.expired_tokens.clear()
    meta_sim.deny_account(AD_ACCOUNT, code=200)
    with pytest.raises(ReportingRefused, match="200"):
        await meta.spend(META, MAY, MAY)
    meta_sim.deny_account(AD_ACCOUNT, code=100)
    with pytest.raises(ReportingRefused, match="100/33"):
        await meta.spend(META, MAY, MAY)
    with pytest.raises(ReportingRefused, match="has no access_token"):
        await meta.spend(SpendAccount("meta", AD_ACCOUNT, "empty"), MAY, MAY)
    assert meta.guard.breaker.failures == 0
    meta_sim.server_error(status=503, code=2)
    with pytest.raises(ReportingUnavailable):
        await meta.spend(SpendAccount("meta", "555", "m"), MAY, MAY)
    assert meta.guard.breaker.failures == 1


async def test_meta_open_breaker_sends_nothing(
    meta_sim: MetaSimulator, credentials: CredentialStore
) -> None:
    client = MetaSpendReports(meta_sim.url, credentials, breaker=open_breaker())
    try:
        with pytest.raises(ReportingUnavailable, match="circuit breaker open"):
            await client.spend(META, MAY, MAY)
    finally:
        await client.close()
    assert insights_calls(meta_sim) == []


# --- TikTok ----------------------------------------------------------------------------------


@pytest.fixture
async def tiktok_sim() -> AsyncIterator[TikTokSimulator]:
    simulator = TikTokSimulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def tiktok(
    tiktok_sim: TikTokSimulator, credentials: CredentialStore
) -> AsyncIterator[TikTokSpendReports]:
    client = TikTokSpendReports(tiktok_sim.url, credentials, requests_per_second=1000, timeout=5.0)
    yield client
    await client.close()


def reports(sim: TikTokSimulator) -> list[Any]:
    return [r for r in sim.platform_requests() if "/report/integrated/get" in r.path]


async def test_tiktok_reads_every_page(
    tiktok: TikTokSpendReports, tiktok_sim: TikTokSimulator
) -> None:
    tiktok_sim.seed_spend(ADVERTISER, seeded(7, "20.50"), currency="JPY")
    tiktok_sim.report_page_size(3)  # 3 pages of 3, 3, 1

    rows = await tiktok.spend(TIKTOK, MAY, date(2026, 5, 20))

    assert rows == expected(7, "20.50", "JPY")
    calls = reports(tiktok_sim)
    assert [c.query["page"] for c in calls] == ["1", "2", "3"]
    assert [c.code for c in calls] == [0, 0, 0]
    first = calls[0]
    assert {k.lower(): v for k, v in first.headers.items()}["access-token"] == TIKTOK_TOKEN
    assert {k: first.query[k] for k in ("report_type", "data_level", "page_size")} == {
        "report_type": "BASIC",
        "data_level": "AUCTION_CAMPAIGN",
        "page_size": "1000",
    }
    assert json.loads(first.query["dimensions"]) == ["campaign_id", "stat_time_day"]
    assert json.loads(first.query["metrics"]) == ["spend", "campaign_name", "currency"]


async def test_tiktok_splits_ranges_longer_than_30_days(
    tiktok: TikTokSpendReports, tiktok_sim: TikTokSimulator
) -> None:
    tiktok_sim.seed_spend(ADVERTISER, seeded(75, "1.01"))
    until = MAY + timedelta(days=74)

    rows = await tiktok.spend(TIKTOK, MAY, until)

    assert rows == expected(75, "1.01", "EUR")
    spans = [(c.query["start_date"], c.query["end_date"]) for c in reports(tiktok_sim)]
    assert spans == [
        ("2026-05-01", "2026-05-30"),
        ("2026-05-31", "2026-06-29"),
        ("2026-06-30", "2026-07-14"),
    ]
    assert list(windows(MAY, MAY)) == [(MAY, MAY)] and list(windows(MAY, MAY - timedelta(1))) == []


async def test_tiktok_currency_from_advertiser_info(
    tiktok: TikTokSpendReports, tiktok_sim: TikTokSimulator
) -> None:
    tiktok_sim.seed_spend(ADVERTISER, seeded(4, "3"), currency="GBP")
    tiktok_sim.report_currency(False)  # the attribute comes back as "-"
    assert await tiktok.spend(TIKTOK, MAY, date(2026, 5, 4)) == expected(4, "3", "GBP")
    assert await tiktok.spend(TIKTOK, MAY, MAY) == expected(1, "3", "GBP")
    infos = [r for r in tiktok_sim.platform_requests() if "/advertiser/info" in r.path]
    assert len(infos) == 1  # asked once, remembered


async def test_tiktok_throttle_and_refusals(
    tiktok: TikTokSpendReports, tiktok_sim: TikTokSimulator
) -> None:
    tiktok_sim.throttle()
    with pytest.raises(ReportingUnavailable, match="40100") as caught:
        await tiktok.spend(TIKTOK, MAY, MAY)
    assert caught.value.retry_after == 60  # TikTok names no wait
    assert tiktok.guard.breaker.failures == 0
    tiktok_sim.deny_advertiser(ADVERTISER)
    with pytest.raises(ReportingRefused, match="40001"):
        await tiktok.spend(TIKTOK, MAY, MAY)
    tiktok_sim.revoke_token(TIKTOK_TOKEN)
    with pytest.raises(ReportingRefused, match="40105") as caught:
        await tiktok.spend(TIKTOK, MAY, MAY)
    assert TIKTOK_TOKEN not in str(caught.value)
    with pytest.raises(ReportingRefused, match="has no access_token"):
        await tiktok.spend(SpendAccount("tiktok", ADVERTISER, "empty"), MAY, MAY)
    tiktok_sim.server_error(status=502)
    with pytest.raises(ReportingUnavailable, match="HTTP 502"):
        await tiktok.spend(SpendAccount("tiktok", "555", "t"), MAY, MAY)
    assert tiktok.guard.breaker.failures == 1


async def test_tiktok_open_breaker_sends_nothing(
    tiktok_sim: TikTokSimulator, credentials: CredentialStore
) -> None:
    client = TikTokSpendReports(tiktok_sim.url, credentials, breaker=open_breaker())
    try:
        with pytest.raises(ReportingUnavailable, match="circuit breaker open"):
            await client.spend(TIKTOK, MAY, MAY)
    finally:
        await client.close()
    assert tiktok_sim.platform_requests() == []
