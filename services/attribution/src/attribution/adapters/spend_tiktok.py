"""TikTok spend: synchronous integrated reports of the Business API (docs/platforms.md §3.3),

    GET {api_url}/open_api/v1.3/report/integrated/get/?advertiser_id=...&report_type=BASIC
        &data_level=AUCTION_CAMPAIGN&dimensions=["campaign_id","stat_time_day"]
        &metrics=["spend","campaign_name","currency"]&start_date=...&end_date=...
        &page=N&page_size=1000

with the `Access-Token` header (the credentials files dispatch-tiktok reads: {"access_token"}
or the bare token), list parameters JSON-encoded as TikTok takes them in a GET. Every page is
read (`data.page_info.total_page`). A report by day spans at most 30 days: a longer window is
asked for in consecutive pieces of 30 days or less.

Currency: `currency` is an attribute metric of the report (the advertiser's currency, which
`spend` is in), so each row names it. TikTok answers an attribute it cannot give as "-"; then
(or when a row has none) the currency comes from `GET /open_api/v1.3/advertiser/info/`
(`advertiser_ids=["..."]`, `fields=["currency"]`), asked once per advertiser and remembered.

Answers are TikTok's envelope `{"code", "message", "request_id", "data"}`, errors mostly with
HTTP 200 (§3.3): 40100 (rate limit) and 40700 are ReportingUnavailable; 40104 and 40105 (the
token), 40001 (no permission on the advertiser) and 40002 (a parameter refused) and any other
4xxxx are ReportingRefused; 5xxxx, HTTP 5xx and answers that are no envelope (nginx's HTML)
are ReportingUnavailable, counted by the breaker.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

import orjson

from attribution.adapters.spend_http import (
    MESSAGE_CHARS,
    Clock,
    Guard,
    Sleep,
    decimal,
    merged,
    throttled,
)
from attribution.app.spend_ports import (
    ReportingRefused,
    ReportingUnavailable,
    SpendAccount,
    SpendRow,
)
from hubkit.dispatch import http
from hubkit.dispatch.credentials import CredentialsMissing, CredentialStore
from hubkit.dispatch.redaction import scrub
from hubkit.resilience import CircuitBreaker, parse_retry_after

REPORT_PATH = "/open_api/v1.3/report/integrated/get/"
ADVERTISER_PATH = "/open_api/v1.3/advertiser/info/"
MAX_DAYS = 30  # TikTok's longest range for a report by day
PAGE_SIZE = 1000  # TikTok's largest page
USER_AGENT = "convhub-attribution"
DIMENSIONS = orjson.dumps(["campaign_id", "stat_time_day"]).decode()
METRICS = orjson.dumps(["spend", "campaign_name", "currency"]).decode()
THROTTLE_CODES = frozenset({40100})
RETRY_CODES = frozenset({40700})
TOKEN_CODES = frozenset({40104, 40105})
MAX_PAGES = 10_000
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_HINTS = {
    40104: " (no usable access token: issue a new one for the credentials file)",
    40105: " (the access token is wrong or was revoked: issue a new one for the credentials file)",
    40001: " (the token cannot read this advertiser: grant it access in TikTok Business Center)",
}


class TikTokSpendReports:
    """SpendReports for TikTok advertisers (the port's docstring has the contract)."""

    platform = "tiktok"

    def __init__(
        self,
        api_url: str,
        credentials: CredentialStore,
        *,
        requests_per_second: float = 5.0,
        page_size: int = PAGE_SIZE,
        breaker: CircuitBreaker | None = None,
        timeout: float = 30.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"page_size: 1 to {PAGE_SIZE} rows")
        self._store = credentials
        self._page_size = page_size
        self._currencies: dict[str, str] = {}  # advertiser -> currency (advertiser/info)
        self.guard = Guard(
            self.platform,
            requests_per_second=requests_per_second,
            breaker=breaker,
            clock=clock,
            sleep=sleep,
        )
        self._http = http.client(base_url=api_url, timeout=timeout, user_agent=USER_AGENT)

    async def spend(self, account: SpendAccount, since: date, until: date) -> list[SpendRow]:
        advertiser = account.account_id.strip()
        what = f"TikTok advertiser {advertiser}"
        if not advertiser.isdigit():
            raise ReportingRefused(f"{what}: an advertiser id is digits")
        token = self._token(account, what)
        rows: list[SpendRow] = []
        for start, end in windows(since, until):
            rows += await self._window(advertiser, token, start, end, what)
        return merged(rows)

    async def close(self) -> None:
        await self._http.aclose()

    # --- reports -------------------------------------------------------------------------------

    async def _window(
        self, advertiser: str, token: str, start: date, end: date, what: str
    ) -> list[SpendRow]:
        params = {
            "advertiser_id": advertiser,
            "report_type": "BASIC",
            "data_level": "AUCTION_CAMPAIGN",
            "dimensions": DIMENSIONS,
            "metrics": METRICS,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "page_size": str(self._page_size),
        }
        rows: list[SpendRow] = []
        page, total_pages = 1, 1
        while page <= total_pages and page <= MAX_PAGES:
            data = await self._call(REPORT_PATH, {**params, "page": str(page)}, token, what)
            for entry in _dicts(data.get("list")):
                rows.append(await self._row(entry, advertiser, token, what))
            info = _dict(data.get("page_info"))
            total_pages = _count(info.get("total_page"))
            page += 1
        return rows

    async def _row(
        self, entry: Mapping[str, Any], advertiser: str, token: str, what: str
    ) -> SpendRow:
        dimensions, metrics = _dict(entry.get("dimensions")), _dict(entry.get("metrics"))
        name, amount = metrics.get("campaign_name"), decimal(metrics.get("spend"))
        day = _day(dimensions.get("stat_time_day"))
        if not isinstance(name, str) or amount is None or day is None:
            shown = orjson.dumps(entry).decode()[:200]
            raise ReportingUnavailable(f"{what}: a report row convhub cannot read: {shown}")
        currency = metrics.get("currency")
        if not isinstance(currency, str) or not _CURRENCY.match(currency):
            currency = await self._currency(advertiser, token, what)
        return SpendRow(name, day, amount, currency)

    async def _currency(self, advertiser: str, token: str, what: str) -> str:
        """The advertiser's currency from advertiser/info (once per advertiser)."""
        known = self._currencies.get(advertiser)
        if known is not None:
            return known
        params = {
            "advertiser_ids": orjson.dumps([advertiser]).decode(),
            "fields": orjson.dumps(["currency"]).decode(),
        }
        data = await self._call(ADVERTISER_PATH, params, token, what)
        for info in _dicts(data.get("list")):
            currency = info.get("currency")
            mine = str(info.get("advertiser_id")) == advertiser
            if mine and isinstance(currency, str) and _CURRENCY.match(currency):
                self._currencies[advertiser] = currency
                return currency
        raise ReportingUnavailable(f"{what}: TikTok named no currency for the advertiser")

    # --- one request ---------------------------------------------------------------------------

    async def _call(
        self, path: str, params: dict[str, str], token: str, what: str
    ) -> dict[str, Any]:
        get = functools.partial(
            http.get,
            self._http,
            path,
            destination="tiktok-reporting",
            headers={"Access-Token": token},
            params=params,
        )
        response = await self.guard.send(get, what, (token,))
        body = http.json_object(response)
        code = body.get("code")
        if response.status_code >= 500 or not isinstance(code, int) or isinstance(code, bool):
            text = f"{what}: HTTP {response.status_code}, no TikTok answer"
            raise self.guard.trouble(text, parse_retry_after(response.headers.get("retry-after")))
        if code == 0:
            self.guard.answered()
            return _dict(body.get("data"))
        message = str(body.get("message") or "")
        request_id = str(body.get("request_id") or "")
        text = scrub(f"{what}: {code}: {message} (request {request_id})", (token,))
        text = text[:MESSAGE_CHARS]
        if code in THROTTLE_CODES:
            raise throttled(text, parse_retry_after(response.headers.get("retry-after")))
        if code in RETRY_CODES or code >= 50000:
            raise self.guard.trouble(text)
        self.guard.answered()
        raise ReportingRefused(text + _HINTS.get(code, ""))

    def _token(self, account: SpendAccount, what: str) -> str:
        try:
            token = self._store.read_json(account.credentials_ref).get("access_token")
        except CredentialsMissing as exc:
            raise ReportingRefused(f"{what}: {exc}") from None
        if not isinstance(token, str) or not token.strip():
            ref = account.credentials_ref
            raise ReportingRefused(f"{what}: credentials reference {ref!r} has no access_token")
        return token.strip()


def windows(since: date, until: date, days: int = MAX_DAYS) -> Iterator[tuple[date, date]]:
    """since..until (inclusive) in consecutive pieces of at most `days` days."""
    start = since
    while start <= until:
        end = min(until, start + timedelta(days=days - 1))
        yield start, end
        start = end + timedelta(days=1)


def _day(value: object) -> date | None:
    """stat_time_day: "YYYY-MM-DD 00:00:00" (or the bare day)."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _count(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else 0


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: object) -> Iterator[dict[str, Any]]:
    return (v for v in value if isinstance(v, dict)) if isinstance(value, list) else iter(())
