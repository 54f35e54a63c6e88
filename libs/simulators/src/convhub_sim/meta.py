"""Meta Conversions API simulator (docs/platforms.md §1, checklist §1.13).

POST /{version}/{pixel_id}/events validates like Graph does and rejects the WHOLE request for
one bad event; accepted events go through a 48 h dedupe store keyed (pixel, event_name,
event_id), whose decisions tests inspect (`received`, `duplicates()`). Knobs answer throttles,
5xx, token errors and slow responses, in-process or over HTTP (`POST /_sim/meta/faults`).

Reporting: `GET /{version}/act_{account}/insights` (Marketing API Ads Insights) serves the spend
`seed_spend` recorded at level=campaign, per day with time_increment=1 (else one row per
campaign over the range), only the requested `fields` (Meta adds date_start and date_stop),
`spend` as a decimal string in `account_currency`; pages of `limit` rows (at most
`report_page_size`), `paging.cursors` and `paging.next` (the same query with `after`) while
rows remain. The token comes in the `access_token` parameter or an `Authorization: Bearer` (or
`OAuth`) header; `next` repeats a token only when it came as a parameter. Every answer carries
`X-Business-Use-Case-Usage` (type ads_insights, `estimated_time_to_regain_access` in minutes)
and `x-fb-ads-insights-throttle` (percentages) from `insights_usage`. `expire_token` answers
190/463, `deny_account` 200 (or 10, or 100/33 "does not exist"), `throttle(code=80000, ...)`
the BUC throttle with its headers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from convhub_sim.base import Fault, Simulator, apply_fault
from convhub_sim.reporting import SeededSpend, SpendRow

MAX_EVENTS = 1000
MAX_AGE = 7 * 24 * 3600
MAX_STORE_AGE = 62 * 24 * 3600  # action_source physical_store (§1.3)
DEDUPE_WINDOW = 48 * 3600
ACTION_SOURCES = frozenset(
    {
        "email",
        "website",
        "app",
        "phone_call",
        "chat",
        "physical_store",
        "system_generated",
        "business_messaging",
        "other",
    }
)
HASHED_KEYS = ("em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country")
USER_KEYS = frozenset(
    {
        *HASHED_KEYS,
        "external_id",
        "client_ip_address",
        "client_user_agent",
        "fbc",
        "fbp",
        "subscription_id",
        "fb_login_id",
        "lead_id",
        "anon_id",
        "madid",
        "page_id",
        "page_scoped_user_id",
        "ctwa_clid",
        "ig_account_id",
        "ig_sid",
    }
)
INSIGHTS_FIELDS = frozenset(
    {
        "account_id",
        "account_currency",
        "campaign_id",
        "campaign_name",
        "spend",
        "date_start",
        "date_stop",
    }
)
INSIGHTS_LEVELS = ("account", "campaign", "adset", "ad")
DEFAULT_LIMIT = 25  # Graph's page size when `limit` is absent
MAX_LIMIT = 5000  # the simulator's own bound
_VERSION = re.compile(r"^v\d+\.\d+$")
_PIXEL = re.compile(r"^\d+$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# fbc/fbp (§1.4, checklist 8): fb.<subdomain index>.<creation time ms>.<payload>, optionally a
# fifth segment written by Meta's Parameter Builder: a 2-character language token or an
# 8-character base64url appendix. Any other appendix, or a payload with a dot, is malformed.
_APPENDIX = r"(?:\.(?:AQ|Ag|Aw|BA|BQ|Bg|[A-Za-z0-9_-]{8}))?"
_FBC = re.compile(r"fb\.[0-9]\.[0-9]{10,13}\.[!-\-/-~]{1,500}" + _APPENDIX)
_FBP = re.compile(r"fb\.[0-9]\.[0-9]{10,13}\.[0-9]{1,30}" + _APPENDIX)


def graph_error(
    message: str,
    *,
    code: int,
    subcode: int | None = None,
    type_: str = "OAuthException",
    title: str | None = None,
    user_message: str | None = None,
    is_transient: bool | None = None,
) -> dict[str, Any]:
    """The Graph API error envelope (§1.10)."""
    error: dict[str, Any] = {
        "message": message,
        "type": type_,
        "code": code,
        "fbtrace_id": _trace_id(),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if title is not None:
        error["error_user_title"] = title
    if user_message is not None:
        error["error_user_msg"] = user_message
    if is_transient is not None:
        error["is_transient"] = is_transient
    return {"error": error}


def throttle_message(code: int) -> str:
    """Graph's wording for its rate-limit codes (§1.10)."""
    if 80000 <= code <= 80014:
        return (
            f"(#{code}) There have been too many calls from this ad-account. Wait a bit and try"
            " again. For more info, please refer to"
            " https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
        )
    return {
        4: "(#4) Application request limit reached",
        32: "(#32) Page request limit reached",
        613: "(#613) Calls to this api have exceeded the rate limit.",
    }.get(code, f"(#{code}) User request limit reached")


def _trace_id() -> str:
    return secrets.token_urlsafe(16)


class Rejected(Exception):
    def __init__(self, body: dict[str, Any], status: int = 400) -> None:
        super().__init__(body["error"]["message"])
        self.body = body
        self.status = status


def _invalid(title: str, message: str, subcode: int | None = None) -> Rejected:
    return Rejected(
        graph_error(
            "Invalid parameter", code=100, subcode=subcode, title=title, user_message=message
        )
    )


@dataclass
class ReceivedEvent:
    """An event Meta accepted, and whether its dedupe key had been seen within 48 h."""

    pixel_id: str
    event_name: str
    event_id: str
    deduplicated: bool
    test_event_code: str
    at: float
    event: dict[str, Any] = field(repr=False)


class MetaSimulator(Simulator):
    name = "meta"

    def __init__(
        self,
        *,
        pixels: Iterable[str] | None = None,
        tokens: Iterable[str] | None = None,
        app_secrets: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        future_skew: float = 60.0,
    ) -> None:
        self.pixels = set(pixels) if pixels is not None else None  # None: every numeric id
        self.tokens = set(tokens) if tokens is not None else None  # None: any non-empty token
        self.app_secrets = dict(app_secrets or {})  # token -> app secret: proof required
        self.clock = clock
        self.future_skew = future_skew
        self.dedupe: dict[tuple[str, str, str], float] = {}
        self.received: list[ReceivedEvent] = []
        self.max_received = 500_000  # the log a long `make run` keeps; the dedupe store is whole
        self.poison_event_ids: set[str] = set()  # events "Meta" refuses (to test isolation)
        self.spend = SeededSpend()  # what insights reports
        self.insights_page_size = MAX_LIMIT
        self.expired_tokens: set[str] = set()
        self.denied_accounts: dict[str, int] = {}  # account -> Graph error code
        self.usage = {"call_count": 1.0, "total_cputime": 1.0, "total_time": 1.0}
        self.regain_minutes = 0
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/{version}/{pixel}/events", self._events)
        app.router.add_get("/{version}/act_{account}/insights", self._insights)
        app.router.add_get("/_sim/meta/events", self._get_events)
        app.router.add_post("/_sim/meta/faults", self._post_meta_faults)

    # --- knobs -----------------------------------------------------------------------------------

    def throttle(
        self,
        count: int = 1,
        *,
        code: int = 17,
        subcode: int | None = None,
        http_status: int = 400,
        retry_after: float | None = None,
        regain_minutes: int | None = None,
        is_transient: bool | None = None,
        seconds: float | None = None,
        usage_type: str = "ads_management",
    ) -> None:
        """Rate-limit answers: 4 / 17 (subcode 2446079) / 32 / 613 / 80000 (ads_insights) /
        80004 (ads_management) ... (§1.10), to the next `count` requests, or to every request
        for `seconds` (a storm). `regain_minutes` adds X-Business-Use-Case-Usage (type
        `usage_type`) at 100 % with that estimated_time_to_regain_access."""
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if regain_minutes is not None:
            usage = {
                "1": [
                    {
                        "type": usage_type,
                        "call_count": 100,
                        "estimated_time_to_regain_access": regain_minutes,
                    }
                ]
            }
            headers["X-Business-Use-Case-Usage"] = json.dumps(usage)
        body = graph_error(
            throttle_message(code), code=code, subcode=subcode, is_transient=is_transient
        )
        self._inject(count, seconds, Fault(status=http_status, body=body, headers=headers))

    def server_error(
        self, count: int = 1, *, status: int = 500, code: int = 2, seconds: float | None = None
    ) -> None:
        """Meta-side trouble: code 1/2 with HTTP 500/503, is_transient true (the next `count`
        requests, or every request for `seconds`)."""
        body = graph_error(
            "An unexpected error has occurred. Please retry your request later.",
            code=code,
            is_transient=True,
        )
        self._inject(count, seconds, Fault(status=status, body=body))

    def _inject(self, count: int, seconds: float | None, fault: Fault) -> None:
        if seconds is None:
            self.fail_next(count, fault)
        else:
            self.fail_for(seconds, fault)

    def token_error(self, count: int = 1, *, subcode: int = 463) -> None:
        """Expired / invalid access token: code 190."""
        body = graph_error(
            "Error validating access token: Session has expired.", code=190, subcode=subcode
        )
        self.fail_next(count, Fault(status=400, body=body))

    def slow(self, seconds: float, count: int | None = None) -> None:
        """Delay answers: the next `count` requests, or every request when count is None."""
        if count is None:
            self.latency = seconds
        else:
            self.fail_next(count, Fault(delay=seconds, passthrough=True))

    def seed_spend(
        self, account_id: str, rows: Iterable[dict[str, Any]] = (), currency: str = "EUR"
    ) -> None:
        """Spend insights reports for ad account `account_id` (digits, or act_<digits>): rows
        {"campaign", "date", "amount", "campaign_id"?} in `currency` (convhub_sim.reporting)."""
        self.spend.seed(account_id, rows, currency)

    def report_page_size(self, rows: int) -> None:
        """At most `rows` insights rows per page, whatever `limit` asks."""
        if rows < 1:
            raise ValueError("rows must be at least 1")
        self.insights_page_size = int(rows)

    def insights_usage(
        self,
        call_count: float,
        *,
        total_cputime: float | None = None,
        total_time: float | None = None,
        regain_minutes: int = 0,
    ) -> None:
        """The usage every insights answer reports from now on, in percent (cputime and time
        default to call_count): X-Business-Use-Case-Usage (ads_insights) and
        x-fb-ads-insights-throttle."""
        self.usage = {
            "call_count": float(call_count),
            "total_cputime": float(call_count if total_cputime is None else total_cputime),
            "total_time": float(call_count if total_time is None else total_time),
        }
        self.regain_minutes = int(regain_minutes)

    def expire_token(self, token: str) -> None:
        """`token` has expired: 190 subcode 463 from now on (insights)."""
        self.expired_tokens.add(token)

    def deny_account(self, account_id: str, code: int = 200) -> None:
        """Insights of `account_id` refused: 200 (permission), 10 (app permission) or 100
        subcode 33 (no such object, or no access)."""
        if code not in (200, 10, 100):
            raise ValueError("code must be 200, 10 or 100")
        self.denied_accounts[str(account_id).removeprefix("act_")] = code

    def reset(self) -> None:
        self.clear_faults()
        self.requests.clear()
        self.received.clear()
        self.dedupe.clear()
        self.poison_event_ids.clear()
        self.spend.clear()
        self.insights_page_size = MAX_LIMIT
        self.expired_tokens.clear()
        self.denied_accounts.clear()
        self.insights_usage(1)

    # --- what tests read -------------------------------------------------------------------------

    def processed(self) -> list[ReceivedEvent]:
        """Accepted events that were not duplicates: what Meta counts."""
        return [e for e in self.received if not e.deduplicated]

    def duplicates(self) -> list[ReceivedEvent]:
        return [e for e in self.received if e.deduplicated]

    def event_requests(self) -> list[dict[str, Any]]:
        """Every POST .../events body as sent (decoded), accepted or not."""
        out = []
        for r in self.platform_requests():
            try:
                out.append(_decode_body(r.headers.get("Content-Type", ""), r.body, r.query))
            except Rejected:
                out.append({})
        return out

    # --- the endpoint ----------------------------------------------------------------------------

    async def _events(self, request: web.Request) -> web.Response:
        fault = await apply_fault(self.take_fault())
        if fault is not None:
            return fault
        try:
            body = _decode_body(request.content_type, await request.read(), dict(request.query))
            pixel, test_code = self._authorize(request, body)
            events = self._validate(body)
        except Rejected as exc:
            return web.json_response(exc.body, status=exc.status)
        now = self.clock()
        self._expire(now)
        for event in events:
            event_id = str(event.get("event_id") or "")
            key = (pixel, str(event["event_name"]), event_id)
            duplicate = bool(event_id) and key in self.dedupe
            if event_id and not duplicate:
                self.dedupe[key] = now
            self.received.append(
                ReceivedEvent(pixel, key[1], event_id, duplicate, test_code, now, event)
            )
        return web.json_response(
            {"events_received": len(events), "messages": [], "fbtrace_id": _trace_id()}
        )

    async def _insights(self, request: web.Request) -> web.Response:
        usage = self._usage_headers()
        fault = self.take_fault()
        if fault is not None:
            served = await apply_fault(fault)
            if served is not None:
                return served
        try:
            token = self._insights_token(request)
            account = self._insights_account(request)
            answer = self._insights_answer(request, account, token)
        except Rejected as exc:
            return web.json_response(exc.body, status=exc.status, headers=usage)
        return web.json_response(answer, headers=usage)

    def _usage_headers(self) -> dict[str, str]:
        buc = {
            "type": "ads_insights",
            **{k: _number(v) for k, v in self.usage.items()},
            "estimated_time_to_regain_access": self.regain_minutes,
            "ads_api_access_tier": "standard_access",
        }
        util = _number(self.usage["call_count"])
        throttle = {
            "app_id_util_pct": util,
            "acc_id_util_pct": util,
            "ads_api_access_tier": "standard_access",
        }
        return {
            "X-Business-Use-Case-Usage": json.dumps({"1": [buc]}),
            "x-fb-ads-insights-throttle": json.dumps(throttle),
        }

    def _insights_token(self, request: web.Request) -> str:
        version = request.match_info["version"]
        if not _VERSION.match(version):
            raise Rejected(graph_error(f"Unknown path components: /{version}", code=2500))
        token = request.query.get("access_token", "")
        scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
        if not token and scheme.lower() in ("bearer", "oauth"):
            token = value.strip()
        if not token:
            raise Rejected(
                graph_error("An access token is required to request this resource.", code=104)
            )
        if self.tokens is not None and token not in self.tokens:
            raise Rejected(
                graph_error("Invalid OAuth access token - Cannot parse access token", code=190)
            )
        if token in self.expired_tokens:
            raise Rejected(
                graph_error(
                    "Error validating access token: Session has expired.", code=190, subcode=463
                )
            )
        secret = self.app_secrets.get(token)
        if secret is not None:
            expected = hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if request.query.get("appsecret_proof") != expected:
                raise Rejected(
                    graph_error(
                        "Invalid appsecret_proof provided in the API argument",
                        code=100,
                        type_="GraphMethodException",
                    )
                )
        return token

    def _insights_account(self, request: web.Request) -> str:
        account = request.match_info["account"]
        code = self.denied_accounts.get(account)
        if code == 200:
            message = "(#200) Ad account owner has NOT grant ads_management or ads_read permission"
            raise Rejected(graph_error(message, code=200))
        if code == 10:
            message = "(#10) Application does not have permission for this action"
            raise Rejected(graph_error(message, code=10))
        if code == 100 or not account.isdigit():
            raise Rejected(
                graph_error(
                    f"Unsupported get request. Object with ID 'act_{account}' does not exist,"
                    " cannot be loaded due to missing permissions, or does not support this"
                    " operation. Please read the Graph API documentation at"
                    " https://developers.facebook.com/docs/graph-api",
                    code=100,
                    subcode=33,
                    type_="GraphMethodException",
                )
            )
        return account

    def _insights_answer(self, request: web.Request, account: str, token: str) -> dict[str, Any]:
        query = request.query
        level = query.get("level", "account")
        if level not in INSIGHTS_LEVELS:
            raise Rejected(graph_error(f"(#100) level must be one of {INSIGHTS_LEVELS}", code=100))
        if level != "campaign":
            raise Rejected(
                graph_error("(#100) the simulator serves level=campaign only (simulator)", code=100)
            )
        fields = [f.strip() for f in query.get("fields", "spend").split(",") if f.strip()]
        for name in fields:
            if name not in INSIGHTS_FIELDS:
                raise Rejected(
                    graph_error(
                        f"(#100) {name} is not valid for fields param. please check"
                        " https://developers.facebook.com/docs/marketing-api/reference/ads-insights/"
                        " for all valid values",
                        code=100,
                    )
                )
        since, until = _time_range(query.get("time_range"))
        increment = query.get("time_increment", "all_days")
        if increment not in ("1", "all_days"):
            raise Rejected(
                graph_error("(#100) time_increment 1 or all_days only (simulator)", code=100)
            )
        limit = _int_param(query.get("limit"), DEFAULT_LIMIT, "limit")
        size = max(1, min(limit, MAX_LIMIT, self.insights_page_size))
        offset = _cursor(query.get("after"))
        if "before" in query:  # the page ending just before that row
            offset = max(0, _cursor(query["before"]) - 1 - size)
        currency = self.spend.currency(account)
        rows = self.spend.rows(account, since, until)
        entries = (
            [_daily(row) for row in rows] if increment == "1" else _over_range(rows, since, until)
        )
        page = entries[offset : offset + size]
        data = [_insight(entry, fields, account, currency) for entry in page]
        answer: dict[str, Any] = {"data": data}
        if page:
            paging: dict[str, Any] = {
                "cursors": {"before": _encode(offset), "after": _encode(offset + len(page) - 1)}
            }
            if offset + len(page) < len(entries):
                following = {**query, "after": _encode(offset + len(page) - 1)}
                paging["next"] = str(request.url.with_query(following))
            if offset > 0:
                before = {k: v for k, v in query.items() if k != "after"}
                before["before"] = _encode(offset)
                paging["previous"] = str(request.url.with_query(before))
            answer["paging"] = paging
        return answer

    def _authorize(self, request: web.Request, body: dict[str, Any]) -> tuple[str, str]:
        version, pixel = request.match_info["version"], request.match_info["pixel"]
        if not _VERSION.match(version):
            raise Rejected(graph_error(f"Unknown path components: /{version}", code=2500))
        token = str(body.get("access_token") or "")
        if not token or (self.tokens is not None and token not in self.tokens):
            raise Rejected(
                graph_error("Invalid OAuth access token - Cannot parse access token", code=190)
            )
        secret = self.app_secrets.get(token)
        if secret is not None:
            expected = hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if body.get("appsecret_proof") != expected:
                raise Rejected(
                    graph_error(
                        "Invalid appsecret_proof provided in the API argument",
                        code=100,
                        type_="GraphMethodException",
                    )
                )
        if not _PIXEL.match(pixel) or (self.pixels is not None and pixel not in self.pixels):
            raise Rejected(
                graph_error(
                    f"Unsupported post request. Object with ID '{pixel}' does not exist, cannot be"
                    " loaded due to missing permissions, or does not support this operation.",
                    code=100,
                    subcode=33,
                    type_="GraphMethodException",
                )
            )
        return pixel, str(body.get("test_event_code") or "")

    def _validate(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        data = body.get("data")
        if not isinstance(data, list) or not data:
            raise Rejected(graph_error("(#100) The parameter data is required", code=100))
        if len(data) > MAX_EVENTS:
            raise _invalid("Too Many Events", f"A batch holds at most {MAX_EVENTS} events")
        events = []
        now = self.clock()
        for index, raw in enumerate(data):
            try:
                event = json.loads(raw) if isinstance(raw, str) else raw
            except json.JSONDecodeError:
                raise _invalid("Invalid Event", f"data[{index}] is not valid JSON") from None
            if not isinstance(event, dict):
                raise _invalid("Invalid Event", f"data[{index}] is not an object")
            self._validate_event(index, event, now)
            events.append(event)
        return events

    def _validate_event(self, i: int, event: dict[str, Any], now: float) -> None:
        for name in ("event_name", "event_time", "action_source"):
            if not event.get(name):
                raise _invalid("Missing Parameter", f"data[{i}].{name} is required")
        if not isinstance(event["event_time"], int) or isinstance(event["event_time"], bool):
            raise _invalid("Invalid Timestamp", f"data[{i}].event_time must be an integer")
        store = event["action_source"] == "physical_store"
        if now - event["event_time"] > (MAX_STORE_AGE if store else MAX_AGE):
            raise _invalid(
                "Event Timestamp Too Old",
                "The timestamp for this event is too far in the past. Events need to be sent"
                f" from your server within {62 if store else 7} days of when they occurred.",
                subcode=2804003,
            )
        if event["event_time"] - now > self.future_skew:
            # No documented subcode: the simulator's own choice (docs/platforms.md §7.1).
            raise _invalid("Event Timestamp In Future (simulator)", f"data[{i}].event_time")
        if event["action_source"] not in ACTION_SOURCES:
            raise _invalid("Invalid Action Source", f"data[{i}].action_source")
        user = event.get("user_data")
        if not isinstance(user, dict):
            raise _invalid("Missing User Data", f"data[{i}].user_data is required")
        if event["action_source"] == "website" and not (
            user.get("client_user_agent") and event.get("event_source_url")
        ):
            raise _invalid(
                "Missing Website Parameters",
                f"data[{i}]: website events need client_user_agent and event_source_url",
            )
        if event["action_source"] == "app" and not isinstance(event.get("app_data"), dict):
            # §1.3: app_data is required for app events (no documented subcode: our choice).
            raise _invalid("Missing App Data (simulator)", f"data[{i}].app_data is required")
        for key in HASHED_KEYS:
            if key in user:
                values = user[key] if isinstance(user[key], list) else [user[key]]
                if not all(isinstance(v, str) and _HEX64.match(v) for v in values):
                    raise _invalid(
                        "Invalid Hashed Parameter",
                        f"data[{i}].user_data.{key} must be SHA-256 hashed (64 lowercase hex)",
                    )
        fbc = user.get("fbc")
        if fbc is not None and not (isinstance(fbc, str) and _FBC.fullmatch(fbc)):
            # [3P] a Graph answer captured by Adsmurai (facebook-conversions-api-client#6).
            raise _invalid(
                "Click ID Incorrectly Formatted",
                "The click ID (_fbc) parameter is not formatted correctly.",
                subcode=2804001,
            )
        fbp = user.get("fbp")
        if fbp is not None and not (isinstance(fbp, str) and _FBP.fullmatch(fbp)):
            raise _invalid("Invalid Browser ID (simulator)", f"data[{i}].user_data.fbp")
        if not any(user.get(k) for k in USER_KEYS):
            raise _invalid(
                "Insufficient Customer Information",
                "Provide at least one customer information parameter",
                subcode=2804050,
            )
        custom = event.get("custom_data", {})
        if not isinstance(custom, dict):
            raise _invalid("Invalid Custom Data", f"data[{i}].custom_data")
        currency = custom.get("currency")
        if currency is not None and not _is_currency(currency):
            raise _invalid("Invalid Currency", f"data[{i}].custom_data.currency")
        value = custom.get("value")
        if value is not None and not _is_number(value):
            raise _invalid("Invalid Value", f"data[{i}].custom_data.value")
        if event["event_name"] == "Purchase":
            if currency is None:
                # [3P] a Graph answer captured by Adsmurai (facebook-conversions-api-client#7).
                raise _invalid(
                    "Missing Currency for Purchase Event",
                    "Your purchase event doesn't include a currency parameter. Enter a currency"
                    " parameter. For example: USD",
                    subcode=2804010,
                )
            if value is None:
                # Meta documents value as required for Purchase; its answer is not known.
                raise _invalid("Missing Value for Purchase Event (simulator)", f"data[{i}]")
        if str(event.get("event_id", "")) in self.poison_event_ids:
            raise _invalid("Invalid Event (simulated)", f"data[{i}] was refused")

    def _expire(self, now: float) -> None:
        # Insertion order is first-seen order: expired keys are at the front.
        while self.dedupe:
            key, first_seen = next(iter(self.dedupe.items()))
            if now - first_seen <= DEDUPE_WINDOW:
                break
            del self.dedupe[key]
        if len(self.received) > self.max_received:
            del self.received[: len(self.received) - self.max_received]

    # --- control endpoints -----------------------------------------------------------------------

    async def _get_events(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "received": [
                    {
                        **{k: v for k, v in asdict(e).items() if k != "event"},
                        "user_data": e.event.get("user_data", {}),  # hashes and click ids
                    }
                    for e in self.received
                ],
                "dedupe_keys": len(self.dedupe),
                "duplicates": len(self.duplicates()),
            }
        )

    async def _post_meta_faults(self, request: web.Request) -> web.Response:
        knobs: dict[str, Callable[..., object]] = {
            "throttle": self.throttle,
            "server_error": self.server_error,
            "token_error": self.token_error,
            "slow": self.slow,
            "seed_spend": self.seed_spend,
            "report_page_size": self.report_page_size,
            "insights_usage": self.insights_usage,
            "expire_token": self.expire_token,
            "deny_account": self.deny_account,
        }
        return await self._call_knob(request, knobs)


@dataclass(frozen=True)
class _Entry:
    """One insights row before its fields are chosen."""

    campaign_id: str
    campaign: str
    start: date
    stop: date
    spend: str


def _daily(row: SpendRow) -> _Entry:
    return _Entry(row.campaign_id, row.campaign, row.day, row.day, row.text())


def _over_range(rows: list[SpendRow], since: date, until: date) -> list[_Entry]:
    """time_increment=all_days: one row per campaign, spend summed over the range."""
    totals: dict[str, list[Any]] = {}
    for row in rows:
        total = totals.setdefault(row.campaign_id, [row.campaign, 0])
        total[1] += row.amount
    return [
        _Entry(ident, name, since, until, format(amount, "f"))
        for ident, (name, amount) in sorted(totals.items())
    ]


def _insight(entry: _Entry, fields: list[str], account: str, currency: str) -> dict[str, Any]:
    values = {
        "account_id": account,
        "account_currency": currency,
        "campaign_id": entry.campaign_id,
        "campaign_name": entry.campaign,
        "spend": entry.spend,
    }
    out = {name: values[name] for name in fields if name in values}
    out["date_start"] = entry.start.isoformat()  # Graph adds the row's range to every row
    out["date_stop"] = entry.stop.isoformat()
    return out


def _time_range(raw: str | None) -> tuple[date, date]:
    if raw is None:
        raise Rejected(graph_error("(#100) time_range is required (simulator)", code=100))
    try:
        spec = json.loads(raw)
        since = date.fromisoformat(spec["since"])
        until = date.fromisoformat(spec["until"])
    except (ValueError, TypeError, KeyError):
        raise Rejected(
            graph_error(
                "(#100) time_range must be a JSON object with since and until as YYYY-MM-DD",
                code=100,
            )
        ) from None
    if until < since:
        raise Rejected(graph_error("(#100) time_range: since must not be after until", code=100))
    return since, until


def _int_param(raw: str | None, default: int, name: str) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise Rejected(graph_error(f"(#100) {name} must be a positive integer", code=100))
    return int(raw)


def _encode(offset: int) -> str:
    """An opaque cursor, as Graph's look (base64 of the row's position)."""
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def _cursor(raw: str | None) -> int:
    """The position after the row an `after` cursor names (0 without one)."""
    if not raw:
        return 0
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    if not text.isdigit():
        raise Rejected(graph_error("(#100) Invalid cursor (simulator)", code=100))
    return int(text) + 1


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _is_currency(value: object) -> bool:
    """ISO 4217 shape: 3 ASCII letters, any case (the SDK sends lower case, docs show USD)."""
    return isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _decode_body(content_type: str, raw: bytes, query: dict[str, str]) -> dict[str, Any]:
    """JSON body, or form fields with `data` as a JSON string (§1.2); query params merged."""
    body: dict[str, Any] = dict(query)
    if "json" in content_type:
        try:
            parsed = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            raise Rejected(graph_error("Malformed JSON body", code=100)) from None
        if not isinstance(parsed, dict):
            raise Rejected(graph_error("Malformed JSON body", code=100))
        body.update(parsed)
        return body
    form = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    body.update(form)
    if isinstance(body.get("data"), str):
        try:
            body["data"] = json.loads(body["data"])
        except json.JSONDecodeError:
            raise _invalid("Invalid Data", "data is not valid JSON") from None
    return body
