"""The simulators' reporting endpoints, from seeded spend: Google Ads `googleAds:searchStream`,
Meta `act_<id>/insights`, TikTok `report/integrated/get` (+ `advertiser/info`): paging,
throttles, expired and revoked tokens, refused accounts, envelope shapes, HTTP knobs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from convhub_sim.google import GoogleSimulator
from convhub_sim.meta import MetaSimulator
from convhub_sim.reporting import SeededSpend, campaign_id
from convhub_sim.tiktok import TikTokSimulator

CUSTOMER = "1234567890"
AD_ACCOUNT = "101202303"
ADVERTISER = "7100000000000000001"
TYPE = "type.googleapis.com/"
GAQL = (
    "SELECT campaign.id, campaign.name, segments.date, metrics.cost_micros,"
    " customer.currency_code FROM campaign WHERE segments.date BETWEEN '{since}' AND '{until}'"
    " AND metrics.cost_micros > 0"
)


def days(start: str, count: int, campaign: str = "spring", amount: str = "1.5") -> list[Any]:
    first = date.fromisoformat(start)
    return [
        {"campaign": campaign, "date": (first + timedelta(days=i)).isoformat(), "amount": amount}
        for i in range(count)
    ]


async def get(url: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as client:
        return await client.get(path, **kwargs)


async def post(url: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as client:
        return await client.post(path, **kwargs)


# --- the shared store ------------------------------------------------------------------------


def test_seeded_spend_replaces_a_campaign_day_and_checks_rows() -> None:
    spend = SeededSpend()
    spend.seed("act_42", [{"campaign": "a", "date": "2026-03-01", "amount": "1.10"}], "USD")
    spend.seed("42", [{"campaign": "a", "date": "2026-03-01", "amount": "2.5"}], "USD")
    (row,) = spend.rows("42", date(2026, 3, 1), date(2026, 3, 1))
    assert (row.amount, row.micros, row.text(), spend.currency("42")) == (
        row.amount,
        2_500_000,
        "2.5",
        "USD",
    )
    assert row.campaign_id == campaign_id("42", "a") and len(row.campaign_id) == 11
    assert spend.rows("43", date.min, date.max) == []
    for bad in (
        {"campaign": "", "date": "2026-03-01", "amount": "1"},
        {"campaign": "a", "date": "03/01/2026", "amount": "1"},
        {"campaign": "a", "date": "2026-03-01", "amount": "-1"},
        {"campaign": "a", "date": "2026-03-01", "amount": "1.0000001"},
    ):
        with pytest.raises(ValueError, match=r"rows\[0\]"):
            spend.seed("42", [bad])
    with pytest.raises(ValueError, match="currency"):
        spend.seed("42", [], "euro")


# --- Google Ads searchStream -----------------------------------------------------------------


@pytest.fixture
async def google() -> AsyncIterator[GoogleSimulator]:
    simulator = GoogleSimulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


async def mint(sim: GoogleSimulator) -> str:
    form = {
        "grant_type": "refresh_token",
        "client_id": "1-x.apps.googleusercontent.com",
        "client_secret": "s",
        "refresh_token": "dev-refresh",
    }
    answer = await post(sim.url, "/token", data=form)
    return str(answer.json()["access_token"])


async def search(
    sim: GoogleSimulator,
    query: str,
    *,
    token: str | None = None,
    customer: str = CUSTOMER,
    version: str = "v26",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    auth = {"Authorization": f"Bearer {token or await mint(sim)}", **(headers or {})}
    path = f"/{version}/customers/{customer}/googleAds:searchStream"
    return await post(sim.url, path, json={"query": query}, headers=auth)


def ads_errors(answer: httpx.Response) -> list[dict[str, Any]]:
    details = answer.json()["error"]["details"]
    failure = next(d for d in details if d["@type"].endswith("errors.GoogleAdsFailure"))
    return list(failure["errors"])


async def test_search_stream_answers_every_row_in_batches(google: GoogleSimulator) -> None:
    google.seed_spend(CUSTOMER, days("2026-05-01", 7, amount="12.345678"), currency="USD")
    google.seed_spend(CUSTOMER, [{"campaign": "idle", "date": "2026-05-02", "amount": "0"}], "USD")
    google.report_page_size(3)

    answer = await search(google, GAQL.format(since="2026-05-01", until="2026-05-31"))

    assert answer.status_code == 200, answer.text
    batches = answer.json()
    assert isinstance(batches, list) and [len(b["results"]) for b in batches] == [3, 3, 1]
    assert {b["requestId"] for b in batches} == {batches[0]["requestId"]}
    assert batches[0]["fieldMask"] == (
        "campaign.id,campaign.name,segments.date,metrics.costMicros,customer.currencyCode"
    )
    assert "queryResourceConsumption" in batches[-1]
    first = batches[0]["results"][0]
    ident = campaign_id(CUSTOMER, "spring")
    assert first == {
        "campaign": {
            "resourceName": f"customers/{CUSTOMER}/campaigns/{ident}",
            "id": ident,
            "name": "spring",
        },
        "customer": {"resourceName": f"customers/{CUSTOMER}", "currencyCode": "USD"},
        "segments": {"date": "2026-05-01"},
        "metrics": {"costMicros": "12345678"},  # int64: a JSON string
    }
    served = [r["segments"]["date"] for b in batches for r in b["results"]]
    assert served == [f"2026-05-0{d}" for d in range(1, 8)]  # the zero-cost row left out


async def test_search_stream_filters_limits_and_empty_answers(google: GoogleSimulator) -> None:
    google.seed_spend(CUSTOMER, days("2026-05-01", 5) + days("2026-05-01", 5, "autumn", "3"))
    query = GAQL.format(since="2026-05-02", until="2026-05-03")
    answer = await search(google, query + " AND campaign.name = 'autumn' LIMIT 1")
    (batch,) = answer.json()
    assert [(r["campaign"]["name"], r["segments"]["date"]) for r in batch["results"]] == [
        ("autumn", "2026-05-02")
    ]
    # Nothing seeded: one batch with the field mask and no results (proto3 omits it).
    (empty,) = (await search(google, query, customer="5550001111")).json()
    assert "results" not in empty and empty["fieldMask"]


async def test_search_stream_query_errors(google: GoogleSimulator) -> None:
    unknown = await search(google, "SELECT campaign.budget FROM campaign")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["status"] == "INVALID_ARGUMENT"
    (error,) = ads_errors(unknown)
    assert error["errorCode"] == {"queryError": "UNRECOGNIZED_FIELD"}
    assert error["trigger"] == {"stringValue": "campaign.budget"}
    undated = await search(google, "SELECT segments.date, metrics.cost_micros FROM campaign")
    assert ads_errors(undated)[0]["errorCode"] == {"queryError": "EXPECTED_FILTERS_ON_DATE_RANGE"}
    bad_customer = await search(google, GAQL, customer="12-34")
    assert ads_errors(bad_customer)[0]["errorCode"] == {"requestError": "INVALID_CUSTOMER_ID"}
    old = await search(google, GAQL, version="v20")
    assert old.status_code == 404 and "text/html" in old.headers["content-type"]


async def test_search_stream_throttle_expiry_and_refusals(google: GoogleSimulator) -> None:
    query = GAQL.format(since="2026-05-01", until="2026-05-02")
    google.throttle(retry_delay=7, retry_info=True)
    throttled = await search(google, query)
    assert throttled.status_code == 429
    error = throttled.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    (quota,) = ads_errors(throttled)
    assert quota["errorCode"] == {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"}
    assert quota["details"]["quotaErrorDetails"]["retryDelay"] == "7s"
    retry = [d for d in error["details"] if d["@type"] == TYPE + "google.rpc.RetryInfo"]
    assert retry == [{"@type": TYPE + "google.rpc.RetryInfo", "retryDelay": "7s"}]

    token = await mint(google)
    assert (await search(google, query, token=token)).status_code == 200
    google.expire_tokens()
    expired = await search(google, query, token=token)
    assert expired.status_code == 401
    assert expired.json()["error"]["status"] == "UNAUTHENTICATED"
    reasons = [d.get("reason") for d in expired.json()["error"]["details"]]
    assert "ACCESS_TOKEN_EXPIRED" in reasons
    assert ads_errors(expired)[0]["errorCode"] == {"authenticationError": "OAUTH_TOKEN_EXPIRED"}
    assert (await search(google, query)).status_code == 200  # a newly minted token works

    google.deny_customer(CUSTOMER, "CUSTOMER_NOT_ENABLED")
    denied = await search(google, query)
    assert denied.status_code == 403 and denied.json()["error"]["status"] == "PERMISSION_DENIED"
    assert ads_errors(denied)[0]["errorCode"] == {"authorizationError": "CUSTOMER_NOT_ENABLED"}
    login = await search(google, query, customer="999", headers={"login-customer-id": "12-3"})
    assert ads_errors(login)[0]["errorCode"] == {"headerError": "INVALID_LOGIN_CUSTOMER_ID"}


async def test_google_reporting_knobs_over_http(google: GoogleSimulator) -> None:
    for spec in (
        {"kind": "seed_spend", "account_id": CUSTOMER, "rows": days("2026-05-01", 3)},
        {"kind": "report_page_size", "rows": 2},
    ):
        assert (await post(google.url, "/_sim/google/faults", json=spec)).status_code == 200
    bad = {"kind": "seed_spend", "account_id": CUSTOMER, "rowz": []}
    assert (await post(google.url, "/_sim/google/faults", json=bad)).status_code == 400
    batches = (await search(google, GAQL.format(since="2026-05-01", until="2026-05-03"))).json()
    assert [len(b["results"]) for b in batches] == [2, 1]
    assert batches[0]["results"][0]["customer"]["currencyCode"] == "EUR"  # the default
    await post(google.url, "/_sim/reset")
    (empty,) = (await search(google, GAQL.format(since="2026-05-01", until="2026-05-03"))).json()
    assert "results" not in empty


# --- Meta insights ---------------------------------------------------------------------------

INSIGHTS = f"/v27.0/act_{AD_ACCOUNT}/insights"
FIELDS = "campaign_id,campaign_name,spend,account_currency,date_start,date_stop"


@pytest.fixture
async def meta() -> AsyncIterator[MetaSimulator]:
    simulator = MetaSimulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


def insights_params(since: str = "2026-05-01", until: str = "2026-05-31", **extra: str) -> Any:
    return {
        "level": "campaign",
        "time_increment": "1",
        "fields": FIELDS,
        "time_range": json.dumps({"since": since, "until": until}),
        "limit": "500",
        **extra,
    }


async def insights(sim: MetaSimulator, token: str = "meta-token", **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await get(sim.url, INSIGHTS, params=insights_params(**params), headers=headers)


async def test_insights_pages_follow_next(meta: MetaSimulator) -> None:
    meta.seed_spend(f"act_{AD_ACCOUNT}", days("2026-05-01", 7, amount="10.05"), currency="USD")
    meta.report_page_size(3)

    first = await insights(meta)

    assert first.status_code == 200, first.text
    body = first.json()
    assert len(body["data"]) == 3
    assert body["data"][0] == {
        "campaign_id": campaign_id(AD_ACCOUNT, "spring"),
        "campaign_name": "spring",
        "spend": "10.05",
        "account_currency": "USD",
        "date_start": "2026-05-01",
        "date_stop": "2026-05-01",
    }
    assert set(body["paging"]["cursors"]) == {"before", "after"}
    assert "access_token" not in body["paging"]["next"]  # the token came as a header
    seen, answer, pages = list(body["data"]), body, 1
    while "next" in answer["paging"]:
        page = await get(
            meta.url, answer["paging"]["next"], headers={"Authorization": "OAuth meta-token"}
        )
        answer, pages = page.json(), pages + 1
        seen += answer["data"]
    assert pages == 3 and [r["date_start"] for r in seen] == [f"2026-05-0{d}" for d in range(1, 8)]
    assert "previous" in answer["paging"]


async def test_insights_token_as_parameter_is_repeated_in_next(meta: MetaSimulator) -> None:
    meta.seed_spend(AD_ACCOUNT, days("2026-05-01", 2))
    meta.report_page_size(1)
    answer = await get(meta.url, INSIGHTS, params=insights_params(access_token="meta-token"))
    next_query = parse_qs(urlsplit(answer.json()["paging"]["next"]).query)
    assert next_query["access_token"] == ["meta-token"]


async def test_insights_over_the_whole_range(meta: MetaSimulator) -> None:
    meta.seed_spend(AD_ACCOUNT, days("2026-05-01", 3, amount="1.10"))
    answer = await insights(meta, time_increment="all_days", until="2026-05-10")
    assert answer.json()["data"] == [
        {
            "campaign_id": campaign_id(AD_ACCOUNT, "spring"),
            "campaign_name": "spring",
            "spend": "3.30",
            "account_currency": "EUR",
            "date_start": "2026-05-01",
            "date_stop": "2026-05-10",
        }
    ]
    assert (await insights(meta, since="2020-01-01", until="2020-01-02")).json() == {"data": []}


async def test_insights_usage_headers(meta: MetaSimulator) -> None:
    calm = await insights(meta)
    buc = json.loads(calm.headers["X-Business-Use-Case-Usage"])
    (entry,) = next(iter(buc.values()))
    assert entry["type"] == "ads_insights" and entry["call_count"] < 90
    meta.insights_usage(95, regain_minutes=3)
    busy = await insights(meta)
    (entry,) = next(iter(json.loads(busy.headers["X-Business-Use-Case-Usage"]).values()))
    assert entry["call_count"] == 95 and entry["estimated_time_to_regain_access"] == 3
    throttle = json.loads(busy.headers["x-fb-ads-insights-throttle"])
    assert throttle["acc_id_util_pct"] == 95 and throttle["app_id_util_pct"] == 95


async def test_insights_throttles(meta: MetaSimulator) -> None:
    meta.throttle(code=80000, subcode=2446079, regain_minutes=4, usage_type="ads_insights")
    answer = await insights(meta)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (
        80000,
        2446079,
        "OAuthException",
    )
    assert "too many calls from this ad-account" in error["message"]
    (entry,) = next(iter(json.loads(answer.headers["X-Business-Use-Case-Usage"]).values()))
    assert entry["estimated_time_to_regain_access"] == 4 and entry["type"] == "ads_insights"
    meta.throttle(code=17, subcode=2446079)
    assert (await insights(meta)).json()["error"]["code"] == 17
    assert (await insights(meta)).status_code == 200


async def test_insights_refusals(meta: MetaSimulator) -> None:
    bad_field = (await insights(meta, fields="spend,cpm")).json()["error"]
    assert bad_field["code"] == 100 and "cpm is not valid for fields param" in bad_field["message"]
    missing = await insights(meta, token="")
    assert missing.json()["error"]["code"] == 104
    meta.expire_token("old-token")
    expired = (await insights(meta, token="old-token")).json()["error"]
    assert (expired["code"], expired["error_subcode"]) == (190, 463)
    meta.deny_account(AD_ACCOUNT)
    assert (await insights(meta)).json()["error"]["code"] == 200
    meta.deny_account(AD_ACCOUNT, code=100)
    unknown = (await insights(meta)).json()["error"]
    assert (unknown["code"], unknown["error_subcode"]) == (100, 33)


async def test_meta_reporting_knobs_over_http(meta: MetaSimulator) -> None:
    for spec in (
        {"kind": "seed_spend", "account_id": AD_ACCOUNT, "rows": days("2026-05-01", 2)},
        {"kind": "insights_usage", "call_count": 91},
        {"kind": "expire_token", "token": "gone"},
    ):
        assert (await post(meta.url, "/_sim/meta/faults", json=spec)).status_code == 200
    answer = await insights(meta)
    assert len(answer.json()["data"]) == 2
    assert json.loads(answer.headers["x-fb-ads-insights-throttle"])["acc_id_util_pct"] == 91
    assert (await insights(meta, token="gone")).json()["error"]["code"] == 190


# --- TikTok integrated reports -----------------------------------------------------------------

REPORT = "/open_api/v1.3/report/integrated/get/"
INFO = "/open_api/v1.3/advertiser/info/"
TOKEN = {"Access-Token": "dev-tiktok-token"}


@pytest.fixture
async def tiktok() -> AsyncIterator[TikTokSimulator]:
    simulator = TikTokSimulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


def report_params(start: str = "2026-05-01", end: str = "2026-05-30", **extra: str) -> Any:
    return {
        "advertiser_id": ADVERTISER,
        "report_type": "BASIC",
        "data_level": "AUCTION_CAMPAIGN",
        "dimensions": json.dumps(["campaign_id", "stat_time_day"]),
        "metrics": json.dumps(["spend", "campaign_name", "currency"]),
        "start_date": start,
        "end_date": end,
        "page_size": "1000",
        **extra,
    }


async def report(
    sim: TikTokSimulator, headers: dict[str, str] = TOKEN, **params: str
) -> dict[str, Any]:
    answer = await get(sim.url, REPORT, params=report_params(**params), headers=headers)
    assert answer.status_code == 200  # TikTok answers its errors with HTTP 200 too
    return dict(answer.json())


async def test_report_pages_and_envelope(tiktok: TikTokSimulator) -> None:
    tiktok.seed_spend(ADVERTISER, days("2026-05-01", 7, amount="20.50"), currency="JPY")
    tiktok.report_page_size(3)

    pages = [await report(tiktok, page=str(n)) for n in (1, 2, 3)]

    assert [p["code"] for p in pages] == [0, 0, 0] and pages[0]["message"] == "OK"
    assert pages[0]["request_id"]
    assert pages[0]["data"]["page_info"] == {
        "page": 1,
        "page_size": 3,
        "total_number": 7,
        "total_page": 3,
    }
    assert pages[0]["data"]["list"][0] == {
        "dimensions": {
            "campaign_id": campaign_id(ADVERTISER, "spring"),
            "stat_time_day": "2026-05-01 00:00:00",
        },
        "metrics": {"spend": "20.50", "campaign_name": "spring", "currency": "JPY"},
    }
    rows = [r for p in pages for r in p["data"]["list"]]
    assert len(rows) == 7 and rows[-1]["dimensions"]["stat_time_day"] == "2026-05-07 00:00:00"
    assert [a.code for a in tiktok.platform_requests()] == [0, 0, 0]
    empty = await report(tiktok, start="2020-01-01", end="2020-01-02")
    assert empty["data"]["list"] == [] and empty["data"]["page_info"]["total_page"] == 0


async def test_report_limits(tiktok: TikTokSimulator) -> None:
    too_long = await report(tiktok, end="2026-05-31")  # 31 days with stat_time_day
    assert too_long["code"] == 40002 and "30 days" in too_long["message"]
    assert (await report(tiktok, page_size="1001"))["code"] == 40002
    assert (await report(tiktok, metrics=json.dumps(["spend", "cpm"])))["code"] == 40002
    assert (await report(tiktok, dimensions="campaign_id"))["code"] == 40002


async def test_report_throttle_token_and_permission(tiktok: TikTokSimulator) -> None:
    tiktok.throttle()
    throttled = await report(tiktok)
    assert (throttled["code"], throttled["message"]) == (
        40100,
        "Too many requests. Please retry in some time.",
    )
    assert (await report(tiktok))["code"] == 0
    tiktok.revoke_token("dev-tiktok-token")
    assert (await report(tiktok))["code"] == 40105
    assert (await report(tiktok, headers={}))["code"] == 40105
    tiktok.reset()
    tiktok.deny_advertiser(ADVERTISER)
    assert (await report(tiktok))["code"] == 40001


async def test_currency_placeholder_and_advertiser_info(tiktok: TikTokSimulator) -> None:
    tiktok.seed_spend(ADVERTISER, days("2026-05-01", 1), currency="GBP")
    tiktok.report_currency(False)
    (row,) = (await report(tiktok))["data"]["list"]
    assert row["metrics"]["currency"] == "-"
    params = {"advertiser_ids": json.dumps([ADVERTISER]), "fields": json.dumps(["currency"])}
    info = (await get(tiktok.url, INFO, params=params, headers=TOKEN)).json()
    assert info["code"] == 0
    assert info["data"]["list"] == [{"advertiser_id": ADVERTISER, "currency": "GBP"}]


async def test_tiktok_reporting_knobs_over_http(tiktok: TikTokSimulator) -> None:
    for spec in (
        {"kind": "seed_spend", "account_id": ADVERTISER, "rows": days("2026-05-01", 4)},
        {"kind": "report_page_size", "rows": 3},
        {"kind": "report_currency", "enabled": True},
    ):
        assert (await post(tiktok.url, "/_sim/tiktok/faults", json=spec)).status_code == 200
    answer = await report(tiktok)
    assert answer["data"]["page_info"]["total_page"] == 2
    await post(tiktok.url, "/_sim/tiktok/faults", json={"kind": "revoke_token", "token": "x"})
    assert (await report(tiktok, headers={"Access-Token": "x"}))["code"] == 40105
