"""Meta spend: the Marketing API's Ads Insights of an ad account (docs/platforms.md §1.1, §1.10),

    GET {graph_url}/{version}/act_{account_id}/insights?level=campaign&time_increment=1
        &fields=campaign_id,campaign_name,spend,account_currency,date_start,date_stop
        &time_range={"since":"YYYY-MM-DD","until":"YYYY-MM-DD"}&limit=500

following `paging.next` until there is none. `spend` is a decimal string in the account's
currency (`account_currency`); with time_increment=1 each row is one campaign on one day.

The access token (the credentials files dispatch-meta reads: {"access_token", "app_secret"?}
or the bare token) travels in an `Authorization: Bearer` header, never in the URL: Graph takes
it there as well as in the `access_token` parameter, and URLs end up in proxy and access logs
(dispatch-meta keeps it in its POST bodies for the same reason). `appsecret_proof` goes as a
parameter when the credentials carry the app secret. A `paging.next` URL is followed by its
path and query on the configured Graph URL, without any `access_token` in it, so the token
never goes to another host.

Usage: every answer's `X-Business-Use-Case-Usage` (call_count, total_cputime, total_time,
estimated_time_to_regain_access in minutes), `x-fb-ads-insights-throttle` (app_id_util_pct,
acc_id_util_pct), `X-Ad-Account-Usage` (acc_id_util_pct, reset_time_duration in seconds) and
`X-App-Usage` are read. At `usage_threshold` (90 %) or above, or whenever Meta names a time to
regain access, the next call for that account (for every account when the app's own usage is
the high one) waits: Meta's estimate when given, else `usage_pause` seconds. A wait longer than
`max_wait` is not slept through: the call raises ReportingUnavailable with it instead.

Errors (classified as dispatch-meta does): 4, 17, 32, 341, 613 and 80000-80014 are throttles
(ReportingUnavailable after Retry-After, else the usage headers' estimate); 190, 102 and 104
(the token) and 10, 200-299 and 100 (permission, no such account, a parameter Meta refuses)
are ReportingRefused; 1, 2, 368, is_transient and HTTP 5xx are ReportingUnavailable, counted
by the breaker.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
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

API_VERSION = "v27.0"  # dispatch-meta's default (CONVHUB_META_API_VERSION)
FIELDS = "campaign_id,campaign_name,spend,account_currency,date_start,date_stop"
PAGE_SIZE = 500
USER_AGENT = "convhub-attribution"
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80015)})
REFUSED_CODES = frozenset({10, 100, 102, 104, 190, *range(200, 300)})
APP = ""  # the key of waits that hold every account (the app's own usage)
MAX_PAGES = 10_000  # a runaway `next` loop stops here
_VERSION = re.compile(r"^v\d+\.\d+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class _Usage:
    """The highest usage percentages in an answer's headers, and Meta's wait, if any."""

    account: float = 0.0
    app: float = 0.0
    regain: float | None = None  # estimated_time_to_regain_access, in seconds: blocked now
    reset: float | None = None  # X-Ad-Account-Usage reset_time_duration, in seconds


class MetaSpendReports:
    """SpendReports for Meta ad accounts (the port's docstring has the contract)."""

    platform = "meta"

    def __init__(
        self,
        graph_url: str,
        credentials: CredentialStore,
        *,
        api_version: str = API_VERSION,
        requests_per_second: float = 2.0,
        page_size: int = PAGE_SIZE,
        breaker: CircuitBreaker | None = None,
        usage_threshold: float = 90.0,
        usage_pause: float = 60.0,
        max_wait: float = 300.0,
        timeout: float = 30.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not _VERSION.match(api_version):
            raise ValueError(f"Graph API version {api_version!r}: expected e.g. v27.0")
        if not 1 <= page_size <= 5000:
            raise ValueError("page_size: 1 to 5000 rows")
        self._version = api_version
        self._store = credentials
        self._page_size = page_size
        self._threshold = usage_threshold
        self._pause = usage_pause
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._resume_at: dict[str, float] = {}  # account (or APP) -> clock time
        self.guard = Guard(
            self.platform,
            requests_per_second=requests_per_second,
            breaker=breaker,
            clock=clock,
            sleep=sleep,
        )
        self._http = http.client(base_url=graph_url, timeout=timeout, user_agent=USER_AGENT)

    async def spend(self, account: SpendAccount, since: date, until: date) -> list[SpendRow]:
        account_id = account.account_id.strip().removeprefix("act_")
        what = f"Meta ad account act_{account_id}"
        if not account_id.isdigit():
            raise ReportingRefused(f"{what}: an ad account id is digits (with or without act_)")
        if until < since:
            return []
        token, app_secret = self._credentials(account, what)
        secrets = (token, app_secret)
        params = {
            "level": "campaign",
            "time_increment": "1",
            "fields": FIELDS,
            "time_range": json.dumps(
                {"since": since.isoformat(), "until": until.isoformat()}, separators=(",", ":")
            ),
            "limit": str(self._page_size),
        }
        if app_secret:
            params["appsecret_proof"] = _proof(token, app_secret)
        url = f"/{self._version}/act_{account_id}/insights"
        rows: list[SpendRow] = []
        for _ in range(MAX_PAGES):
            await self._wait_for_usage(account_id, what)
            get = functools.partial(self._get, url, token, params)
            response = await self.guard.send(get, what, secrets)
            self._note_usage(account_id, response)
            body = http.json_object(response)
            if response.status_code != 200 or "error" in body:
                raise self._refusal(response, body, account_id, what, secrets)
            rows += self._rows(body, what, secrets)
            self.guard.answered()
            following = _next(body, app_secret, token)
            if following is None:
                return merged(rows)
            url, params = following, {}
        raise ReportingUnavailable(f"{what}: more than {MAX_PAGES} pages of insights")

    async def close(self) -> None:
        await self._http.aclose()

    # --- one request ---------------------------------------------------------------------------

    async def _get(self, url: str, token: str, params: dict[str, str]) -> httpx.Response:
        return await http.get(
            self._http,
            url,
            destination="meta-reporting",
            headers={"authorization": f"Bearer {token}"},
            params=params or None,
        )

    def _credentials(self, account: SpendAccount, what: str) -> tuple[str, str]:
        try:
            value = self._store.read_json(account.credentials_ref)
        except CredentialsMissing as exc:
            raise ReportingRefused(f"{what}: {exc}") from None
        token, secret = value.get("access_token"), value.get("app_secret")
        if not isinstance(token, str) or not token.strip():
            ref = account.credentials_ref
            raise ReportingRefused(f"{what}: credentials reference {ref!r} has no access_token")
        return token.strip(), secret.strip() if isinstance(secret, str) else ""

    def _rows(self, body: Mapping[str, Any], what: str, secrets: tuple[str, ...]) -> list[SpendRow]:
        rows = []
        for entry in _dicts(body.get("data")):
            name, currency = entry.get("campaign_name"), entry.get("account_currency")
            amount, day = decimal(entry.get("spend")), _day(entry.get("date_start"))
            if (
                not isinstance(name, str)
                or amount is None
                or day is None
                or not isinstance(currency, str)
                or not _CURRENCY.match(currency)
            ):
                shown = scrub(orjson.dumps(entry).decode(), secrets)[:200]
                raise ReportingUnavailable(f"{what}: an insights row convhub cannot read: {shown}")
            rows.append(SpendRow(name, day, amount, currency))
        return rows

    # --- usage -------------------------------------------------------------------------------

    async def _wait_for_usage(self, account_id: str, what: str) -> None:
        resume = max(self._resume_at.get(account_id, 0.0), self._resume_at.get(APP, 0.0))
        wait = resume - self._clock()
        if wait <= 0:
            return
        if wait > self._max_wait:
            raise throttled(f"{what}: Meta's usage is high; next call in {wait:.0f}s", wait)
        await self._sleep(wait)

    def _note_usage(self, account_id: str, response: httpx.Response) -> None:
        usage = _usage(response.headers)
        if usage.regain or usage.account >= self._threshold:
            self._hold(account_id, usage.regain or usage.reset or self._pause)
        if usage.app >= self._threshold:
            self._hold(APP, usage.regain or self._pause)

    def _hold(self, key: str, seconds: float) -> None:
        until = self._clock() + seconds
        self._resume_at[key] = max(self._resume_at.get(key, 0.0), until)

    # --- errors ------------------------------------------------------------------------------

    def _refusal(
        self,
        response: httpx.Response,
        body: Mapping[str, Any],
        account_id: str,
        what: str,
        secrets: tuple[str, ...],
    ) -> Exception:
        error = _dict(body.get("error"))
        code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
        parts = [str(error.get(k) or "") for k in ("message", "error_user_title", "error_user_msg")]
        label = f"{code}/{subcode}" if code is not None and subcode else str(code or "")
        detail = " - ".join(p for p in parts if p) or f"HTTP {response.status_code}"
        text = scrub(f"{what}: {label + ': ' if label else ''}{detail}", secrets)[:MESSAGE_CHARS]
        if code in THROTTLE_CODES or (code is None and response.status_code == 429):
            wait = parse_retry_after(response.headers.get("retry-after"))
            if wait is None:
                usage = _usage(response.headers)
                wait = usage.regain or usage.reset
            if wait:  # the next call waits too, whoever makes it
                self._hold(account_id, wait)
            return throttled(text, wait)
        if code in REFUSED_CODES and error.get("is_transient") is not True:
            self.guard.answered()
            return ReportingRefused(text + _HINTS.get(code or 0, ""))
        # 1, 2, 368, is_transient, 5xx, an answer that is no Graph error, or a code nobody
        # classified: not a verdict on the credentials, so try again later.
        return self.guard.trouble(text, parse_retry_after(response.headers.get("retry-after")))


_HINTS = {
    190: " (the access token expired or was revoked: issue a new one for the credentials file)",
    102: " (the session expired: issue a new access token for the credentials file)",
    200: " (the token's user cannot read this ad account: grant ads_read)",
    10: " (the app lacks the permission: ads_read)",
}


def _usage(headers: httpx.Headers) -> _Usage:
    account = app = 0.0
    regain: float | None = None
    for entries in _json(headers.get("x-business-use-case-usage")).values():
        for entry in _dicts(entries):
            account = max(account, *(_pct(entry.get(k)) for k in _USAGE_KEYS))
            minutes = _pct(entry.get("estimated_time_to_regain_access"))
            if minutes > 0:
                regain = max(regain or 0.0, minutes * 60.0)
    insights = _json(headers.get("x-fb-ads-insights-throttle"))
    account = max(account, _pct(insights.get("acc_id_util_pct")))
    app = max(app, _pct(insights.get("app_id_util_pct")))
    ad_account = _json(headers.get("x-ad-account-usage"))
    account = max(account, _pct(ad_account.get("acc_id_util_pct")))
    reset = _pct(ad_account.get("reset_time_duration")) or None
    app_usage = _json(headers.get("x-app-usage"))
    app = max(app, *(_pct(app_usage.get(k)) for k in _USAGE_KEYS))
    return _Usage(account, app, regain, reset)


_USAGE_KEYS = ("call_count", "total_cputime", "total_time")


def _next(body: Mapping[str, Any], app_secret: str, token: str) -> str | None:
    """The path and query of `paging.next` (no access_token in it), or None on the last page."""
    following = _dict(body.get("paging")).get("next")
    if not isinstance(following, str) or not following:
        return None
    parts = urlsplit(following)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "access_token"
    ]
    if app_secret and not any(k == "appsecret_proof" for k, _ in query):
        query.append(("appsecret_proof", _proof(token, app_secret)))
    return f"{parts.path}?{urlencode(query)}" if query else parts.path


def _proof(token: str, app_secret: str) -> str:
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _pct(value: object) -> float:
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return 0.0


def _int(value: object) -> int | None:
    try:
        return int(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
    except ValueError:
        return None


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: object) -> Iterator[dict[str, Any]]:
    return (v for v in value if isinstance(v, dict)) if isinstance(value, list) else iter(())
