"""Google Ads spend: `POST {ads_url}/{version}/customers/{customer_id}/googleAds:searchStream`
with one GAQL query per account and window (docs/platforms.md §2.2, §2.8):

    SELECT campaign.id, campaign.name, segments.date, metrics.cost_micros,
           customer.currency_code
    FROM campaign
    WHERE segments.date BETWEEN 'since' AND 'until' AND metrics.cost_micros > 0

The answer is a JSON array of batches, each with `results` (camelCase rows: campaign.name,
segments.date, metrics.costMicros as an int64 string, customer.currencyCode); every batch is
read. The amount is cost_micros / 1,000,000, exactly.

Headers: `Authorization: Bearer` (an access token from the kit's TokenProvider over the site's
refresh token: hubkit.dispatch.google_oauth, the same credentials files dispatch-google reads),
`developer-token` when the credentials carry one, `login-customer-id` when the account goes
through a manager. Answers (Google's google.rpc.Status with a GoogleAdsFailure, classified as
dispatch-google's ads_client does):

- 429 / RESOURCE_EXHAUSTED / quotaError: ReportingUnavailable after Google's wait (RetryInfo,
  else quotaErrorDetails.retryDelay, else Retry-After);
- 401 ACCESS_TOKEN_EXPIRED (authenticationError OAUTH_TOKEN_EXPIRED), or any other 401: the
  token is invalidated and the request made once more with a fresh one (a second 401 is
  ReportingRefused);
- 403 (PERMISSION_DENIED: USER_PERMISSION_DENIED, CUSTOMER_NOT_ENABLED,
  DEVELOPER_TOKEN_NOT_APPROVED, ...), 400 and 404: ReportingRefused, as is a refresh token
  Google refuses;
- 5xx and internalErrors: ReportingUnavailable, counted by the breaker.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import orjson

from attribution.adapters.spend_http import MESSAGE_CHARS, Clock, Guard, Sleep, merged, throttled
from attribution.app.spend_ports import (
    ReportingRefused,
    ReportingUnavailable,
    SpendAccount,
    SpendRow,
)
from hubkit.dispatch import http
from hubkit.dispatch.credentials import CredentialsMissing, CredentialStore
from hubkit.dispatch.google_credentials import GoogleCredentialFiles, GoogleCredentials
from hubkit.dispatch.google_oauth import OAuthClient
from hubkit.dispatch.redaction import scrub
from hubkit.dispatch.tokens import TokenProvider, TokenUnavailable
from hubkit.resilience import CircuitBreaker, parse_retry_after
from hubkit.vocabulary import ErrorClass

API_VERSION = "v26"  # dispatch-google's default (CONVHUB_GOOGLE_ADS_API_VERSION)
QUERY = (
    "SELECT campaign.id, campaign.name, segments.date, metrics.cost_micros,"
    " customer.currency_code FROM campaign"
    " WHERE segments.date BETWEEN '{since}' AND '{until}' AND metrics.cost_micros > 0"
)
USER_AGENT = "convhub-attribution"
_VERSION = re.compile(r"^v\d+$")
_DURATION = re.compile(r"^(\d{1,12}(?:\.\d{1,9})?)s$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class GoogleSpendReports:
    """SpendReports for Google Ads accounts (the port's docstring has the contract)."""

    platform = "google"

    def __init__(
        self,
        ads_url: str,
        oauth_url: str,
        credentials: CredentialStore,
        *,
        api_version: str = API_VERSION,
        requests_per_second: float = 5.0,
        breaker: CircuitBreaker | None = None,
        timeout: float = 30.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not _VERSION.match(api_version):
            raise ValueError(f"Google Ads API version {api_version!r}: expected e.g. v26")
        self._version = api_version
        self._files = GoogleCredentialFiles(credentials)
        self._oauth = OAuthClient(
            oauth_url, self._files.credentials, timeout=timeout, user_agent=USER_AGENT
        )
        self.tokens = TokenProvider(self._oauth.fetch)
        self.guard = Guard(
            self.platform,
            requests_per_second=requests_per_second,
            breaker=breaker,
            clock=clock,
            sleep=sleep,
        )
        self._http = http.client(base_url=ads_url, timeout=timeout, user_agent=USER_AGENT)

    async def spend(self, account: SpendAccount, since: date, until: date) -> list[SpendRow]:
        customer = _digits(account.account_id)
        what = f"Google Ads customer {customer or account.account_id!r}"
        if not customer:
            raise ReportingRefused(f"{what}: a customer id is 10 digits (123-456-7890 or bare)")
        if until < since:
            return []
        creds = self._credentials(account, what)
        query = QUERY.format(since=since.isoformat(), until=until.isoformat())
        for attempt in (1, 2):
            token = await self._token(account, what)
            secrets = (token, creds.developer_token, creds.client_secret, creds.refresh_token)
            search = functools.partial(self._search, account, customer, creds, token, query)
            response = await self.guard.send(search, what, secrets)
            if response.status_code == 200:
                rows = _rows(response, what, secrets)
                if rows is None:
                    raise self.guard.trouble(f"{what}: searchStream answered no batches")
                self.guard.answered()
                return merged(rows)
            if response.status_code == 401 and attempt == 1:
                # ACCESS_TOKEN_EXPIRED (or a token Google no longer knows): one more request
                # with a fresh token, never a failure or a breaker count.
                self.tokens.invalidate(account.credentials_ref, token)
                continue
            raise self._refusal(response, _failure(response), what, secrets)
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def close(self) -> None:
        await self._http.aclose()
        await self._oauth.close()

    # --- one request ---------------------------------------------------------------------------

    async def _search(
        self,
        account: SpendAccount,
        customer: str,
        creds: GoogleCredentials,
        token: str,
        query: str,
    ) -> httpx.Response:
        headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
        if creds.developer_token:
            headers["developer-token"] = creds.developer_token
        login = _digits(account.login_customer_id)
        if login:
            headers["login-customer-id"] = login
        path = f"/{self._version}/customers/{customer}/googleAds:searchStream"
        return await http.post(
            self._http,
            path,
            destination="google-reporting",
            events=0,
            content=orjson.dumps({"query": query}),
            headers=headers,
        )

    def _credentials(self, account: SpendAccount, what: str) -> GoogleCredentials:
        try:
            return self._files.credentials(account.credentials_ref)
        except CredentialsMissing as exc:
            raise ReportingRefused(f"{what}: {exc}") from None

    async def _token(self, account: SpendAccount, what: str) -> str:
        try:
            return await self.tokens.get(account.credentials_ref)
        except TokenUnavailable as exc:
            error = exc.error
            message = f"{what}: no access token: {error.message}"[:MESSAGE_CHARS]
            if error.error_class is ErrorClass.THROTTLE:
                raise throttled(message, error.retry_after) from None
            if error.error_class.retryable:
                raise ReportingUnavailable(message, retry_after=error.retry_after or 30.0) from None
            raise ReportingRefused(message) from None

    def _refusal(
        self,
        response: httpx.Response,
        failure: _Failure,
        what: str,
        secrets: tuple[str, ...],
    ) -> Exception:
        status = response.status_code
        codes = ", ".join(sorted(failure.codes)) or failure.status or f"HTTP {status}"
        text = scrub(f"{what}: {codes}: {failure.message or response.reason_phrase}", secrets)
        text = text[:MESSAGE_CHARS]
        if status == 429 or failure.status == "RESOURCE_EXHAUSTED" or failure.quota:
            wait = failure.retry_delay
            if wait is None:
                wait = parse_retry_after(response.headers.get("retry-after"))
            return throttled(text, wait)
        if status >= 500 or failure.internal:
            return self.guard.trouble(text, parse_retry_after(response.headers.get("retry-after")))
        self.guard.answered()
        return ReportingRefused(text)


# --- reading the answer ---------------------------------------------------------------------


def _rows(response: httpx.Response, what: str, secrets: tuple[str, ...]) -> list[SpendRow] | None:
    """Every row of every batch; None when the answer is not a list of batches."""
    try:
        batches = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(batches, list):
        return None
    rows = []
    for batch in batches:
        if not isinstance(batch, dict):
            return None
        for result in _dicts(batch.get("results")):
            rows.append(_row(result, what, secrets))
    return rows


def _row(result: Mapping[str, Any], what: str, secrets: tuple[str, ...]) -> SpendRow:
    campaign = _dict(result.get("campaign"))
    name, micros = campaign.get("name"), _dict(result.get("metrics")).get("costMicros")
    day = _day(_dict(result.get("segments")).get("date"))
    currency = _dict(result.get("customer")).get("currencyCode")
    if (
        not isinstance(name, str)
        or day is None
        or not isinstance(currency, str)
        or not _CURRENCY.match(currency)
        or not _micros(micros)
    ):
        shown = scrub(orjson.dumps(result).decode(), secrets)[:200]
        raise ReportingUnavailable(f"{what}: a searchStream row convhub cannot read: {shown}")
    return SpendRow(name, day, _amount(int(str(micros))), currency)


def _amount(micros: int) -> Decimal:
    return Decimal(micros).scaleb(-6)  # exact: an integer over 10^6


def _micros(value: object) -> bool:
    """int64 in proto3 JSON: a string of digits (a number from lenient encoders)."""
    if isinstance(value, bool):
        return False
    return (isinstance(value, int) and value >= 0) or (isinstance(value, str) and value.isdigit())


@dataclass(frozen=True)
class _Failure:
    status: str = ""  # canonical: RESOURCE_EXHAUSTED, UNAUTHENTICATED, PERMISSION_DENIED, ...
    message: str = ""
    codes: frozenset[str] = frozenset()  # ErrorInfo reasons and GoogleAdsError codes
    retry_delay: float | None = None  # RetryInfo, else quotaErrorDetails.retryDelay
    quota: bool = False  # a quotaError
    internal: bool = False  # an internalError


def _failure(response: httpx.Response) -> _Failure:
    error = _dict(http.json_object(response).get("error"))
    codes: set[str] = set()
    retry_info: float | None = None
    quota_delay: float | None = None
    quota = internal = False
    messages: list[str] = []
    for detail in _dicts(error.get("details")):
        kind = str(detail.get("@type", "")).rpartition(".")[2]
        if kind == "ErrorInfo" and isinstance(detail.get("reason"), str):
            codes.add(detail["reason"])
        elif kind == "RetryInfo":
            retry_info = _duration(detail.get("retryDelay"))
        elif kind == "GoogleAdsFailure":
            for ads_error in _dicts(detail.get("errors")):
                for family, code in _dict(ads_error.get("errorCode")).items():
                    codes.add(str(code))
                    quota = quota or family == "quotaError"
                    internal = internal or family == "internalError"
                quota_details = _dict(_dict(ads_error.get("details")).get("quotaErrorDetails"))
                delay = _duration(quota_details.get("retryDelay"))
                quota_delay = quota_delay if delay is None else delay
                if isinstance(ads_error.get("message"), str):
                    messages.append(ads_error["message"])
    message = "; ".join(dict.fromkeys(messages)) or str(error.get("message") or "")
    return _Failure(
        status=str(error.get("status") or ""),
        message=message,
        codes=frozenset(codes),
        retry_delay=retry_info if retry_info is not None else quota_delay,
        quota=quota,
        internal=internal,
    )


def _duration(value: object) -> float | None:
    match = _DURATION.match(value) if isinstance(value, str) else None
    return float(match.group(1)) if match else None


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _digits(value: str) -> str:
    text = value.replace("-", "").strip()
    return text if text.isdigit() else ""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: object) -> Iterator[dict[str, Any]]:
    return (v for v in value if isinstance(v, dict)) if isinstance(value, list) else iter(())
