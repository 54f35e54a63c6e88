"""TikTok Events API 2.0 simulator (docs/platforms.md §3, checklist §3.8).

`POST /open_api/v1.3/event/track/` answers like TikTok's Business API: always the envelope
`{"code", "message", "request_id", "data"}`, application errors with HTTP 200 and a non-zero
code (40105 token, 40001 pixel permission, 40002 parameters, 40100 throttle), nginx-style HTML
for HTTP 5xx. One bad event rejects the WHOLE request, the message naming the first offending
event TikTok's way (`Batch.<i>.<path>: <reason>`, i from 0). Accepted events go through a 48 h
dedupe store keyed (event_source_id, event, event_id) (§3.4): a duplicate is accepted (code 0)
and recorded in `duplicates()`, not in `processed()`; events without an event_id are never
deduplicated (TikTok's `_ttp` fallback is not simulated).

Reporting: `GET /open_api/v1.3/report/integrated/get/` (synchronous BASIC reports at
data_level AUCTION_CAMPAIGN, dimensions ["campaign_id", "stat_time_day"], the metrics in
`REPORT_METRICS`, JSON-encoded list parameters like TikTok's) serves the spend `seed_spend`
recorded: `data.list` rows `{"dimensions": {...}, "metrics": {...}}` (values as strings,
stat_time_day as "YYYY-MM-DD 00:00:00"), `data.page_info` {page, page_size, total_number,
total_page}; a daily report spans at most 30 days (40002 beyond), page_size 1..1000 (served
at most `report_page_size`). The `currency` attribute metric is the advertiser's currency, or
"-" after `report_currency(False)` (TikTok's placeholder for an attribute it cannot give);
`GET /open_api/v1.3/advertiser/info/` gives it too. `revoke_token` answers 40105,
`deny_advertiser` 40001, `throttle` 40100 on every route.

Knobs (`throttle`, `server_error`, `token_error`, `reject_code`, `slow`, `poison_event_ids`,
`seed_spend`, `report_page_size`, `report_currency`, `revoke_token`, `deny_advertiser`) work
in-process or over HTTP (`POST /_sim/tiktok/faults`); every answer's envelope code is recorded
(`Recorded.code`, `answers()`). Wording: "Not a valid string" is captured from TikTok; the other
reasons follow the same (marshmallow) style; rules the contract does not give are marked
"(simulator)" in their messages.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from http import HTTPStatus
from typing import Any, NamedTuple

from aiohttp import web

from convhub_sim.base import RECORD_KEY, Fault, Recorded, Simulator
from convhub_sim.reporting import SeededSpend, SpendRow

TRACK_PATH = "/open_api/v1.3/event/track/"
TRACK_PATHS = frozenset({TRACK_PATH, TRACK_PATH.rstrip("/")})
REPORT_PATH = "/open_api/v1.3/report/integrated/get/"
ADVERTISER_PATH = "/open_api/v1.3/advertiser/info/"
REPORT_METRICS = frozenset({"spend", "campaign_name", "currency"})
REPORT_DIMENSIONS = ("campaign_id", "stat_time_day")
MAX_REPORT_DAYS = 30  # a report with stat_time_day spans at most 30 days
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 10
MAX_EVENTS = 1000
DEDUPE_WINDOW = 48 * 3600
MAX_RECEIVED = 500_000  # the log a long `make run` keeps; the dedupe store is bounded by time
DEFAULT_TOKENS = frozenset({"dev-tiktok-token"})
EVENT_SOURCES = ("web", "app", "offline", "crm")
CONTENT_TYPES = ("product", "product_group")
HASHED_USER_KEYS = ("email", "phone", "external_id")
# [3P] only (Stape and RudderStack hash them before sending): hashed when present.
EXTRA_HASHED_USER_KEYS = ("first_name", "last_name", "zip_code")
PLAIN_USER_KEYS = (
    "ttclid",
    "ttp",
    "ip",
    "user_agent",
    "locale",
    "idfa",
    "idfv",
    "gaid",
    "city",
    "state",
    "country",
)
PROPERTY_STRINGS = (
    "content_type",
    "order_id",
    "shop_id",
    "search_string",
    "query",
    "description",
)
CONTENT_STRINGS = ("content_id", "content_name", "content_category", "brand", "content_type")
REQUEST_ID_HEX = 20  # 14 timestamp digits + 20 upper-case hex, as in the §3.3 example

CODE_OK = 0
CODE_NO_PERMISSION = 40001
CODE_INVALID_PARAMETER = 40002
CODE_TOO_MANY_REQUESTS = 40100
CODE_INVALID_TOKEN = 40105
MESSAGE_OK = "OK"
MESSAGE_TOO_MANY_REQUESTS = "Too many requests. Please retry in some time."
MESSAGE_INVALID_TOKEN = "Access token is incorrect or has been revoked."

REQUIRED = "Missing data for required field"
NOT_STRING = "Not a valid string"
NOT_INTEGER = "Not a valid integer"
NOT_NUMBER = "Not a valid number"
NOT_BOOLEAN = "Not a valid boolean"
NOT_LIST = "Not a valid list"
NOT_MAPPING = "Invalid input type"
NOT_SHA256 = "Not a valid SHA256 hash"
NOT_CURRENCY = "Not a valid currency code"

# Pixel codes look like "C4ABCDEFGHIJKLMN1234" (20 upper-case alphanumerics, §3.7); app and
# event-set ids are numeric. The exact shape is not documented: accept 8-32 of [A-Z0-9].
_SOURCE_ID = re.compile(r"[A-Z0-9]{8,32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_UNIX_SECONDS = 10**10  # beyond is milliseconds (or year 2286): refused (simulator)


def pixel_permission_message(code: str) -> str:
    return (
        f"No permission to operate pixel code: {code}. You must be an admin or operator of this"
        " advertiser account."
    )


def advertiser_permission_message(advertiser_id: str) -> str:
    return (
        f"No permission to operate advertiser: {advertiser_id}. You must be an admin or operator"
        " of this advertiser account (simulator)."
    )


def nginx_error_page(status: int) -> str:
    """The HTML an nginx front answers for a 5xx (RudderStack's captured 502)."""
    try:
        title = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        title = str(status)
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )


def envelope(code: int, message: str, request_id: str | None = None) -> dict[str, Any]:
    """TikTok's answer envelope (§3.3); `request_id` None: filled in when served."""
    return {"code": code, "message": message, "request_id": request_id, "data": {}}


class Rejected(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _invalid(path: str, reason: str) -> Rejected:
    return Rejected(CODE_INVALID_PARAMETER, f"{path}: {reason}")


@dataclass
class ReceivedEvent:
    """An event TikTok accepted, and whether its dedupe key had been seen within 48 h."""

    pixel: str  # the request's event_source_id
    event: str
    event_id: str
    deduplicated: bool
    test_event_code: str
    at: float
    event_source: str = "web"
    request_id: str = ""
    payload: dict[str, Any] = field(default_factory=dict, repr=False)  # the event as sent


class Answer(NamedTuple):
    at: float
    http_status: int
    code: int | None  # the envelope code; None for a non-envelope answer (nginx HTML)


class TikTokSimulator(Simulator):
    name = "tiktok"

    def __init__(
        self,
        *,
        tokens: Iterable[str] | None = DEFAULT_TOKENS,
        pixels: Iterable[str] | None = None,
        clock: Callable[[], float] = time.time,
        max_event_age: float | None = None,
        max_received: int = MAX_RECEIVED,
    ) -> None:
        self.tokens = set(tokens) if tokens is not None else None  # None: any non-empty token
        self.pixels = set(pixels) if pixels is not None else None  # None: any well-shaped id
        self.clock = clock
        self.max_event_age = max_event_age  # seconds; None: no limit (§3.6)
        self.dedupe: dict[tuple[str, str, str], float] = {}
        self.received: deque[ReceivedEvent] = deque(maxlen=max_received)
        self.poison_event_ids: set[str] = set()  # events "TikTok" refuses (to test isolation)
        self.spend = SeededSpend()  # what the reports give
        self.page_size_cap = MAX_PAGE_SIZE
        self.currency_metric = True
        self.revoked_tokens: set[str] = set()
        self.denied_advertisers: set[str] = set()
        super().__init__()

    def routes(self, app: web.Application) -> None:
        for path in sorted(TRACK_PATHS):
            app.router.add_post(path, self._track)
        for path in (REPORT_PATH, REPORT_PATH.rstrip("/")):
            app.router.add_get(path, self._report)
        for path in (ADVERTISER_PATH, ADVERTISER_PATH.rstrip("/")):
            app.router.add_get(path, self._advertiser_info)
        app.router.add_get("/_sim/tiktok/events", self._get_events)
        app.router.add_post("/_sim/tiktok/faults", self._post_tiktok_faults)

    # --- knobs -----------------------------------------------------------------------------------

    def throttle(self, count: int = 1, *, seconds: float | None = None) -> None:
        """Code 40100 with HTTP 200 (§3.3) to the next `count` requests, or to every request for
        `seconds` (a storm)."""
        self.reject_code(
            CODE_TOO_MANY_REQUESTS, MESSAGE_TOO_MANY_REQUESTS, count=count, seconds=seconds
        )

    def server_error(
        self, count: int = 1, *, status: int = 502, seconds: float | None = None
    ) -> None:
        """HTTP 5xx with nginx's HTML page (no envelope), to the next `count` requests or for
        `seconds`."""
        self._inject(count, seconds, Fault(status=status, body=nginx_error_page(status)))

    def token_error(self, count: int = 1, *, seconds: float | None = None) -> None:
        """Code 40105: the token was revoked."""
        self.reject_code(CODE_INVALID_TOKEN, MESSAGE_INVALID_TOKEN, count=count, seconds=seconds)

    def reject_code(
        self,
        code: int,
        message: str,
        count: int = 1,
        *,
        seconds: float | None = None,
        http_status: int = 200,
    ) -> None:
        """Any envelope answer (20001, 40700, 50000, ...) to the next `count` requests or for
        `seconds`."""
        self._inject(count, seconds, Fault(status=http_status, body=envelope(code, message)))

    def slow(self, seconds: float, count: int | None = None) -> None:
        """Delay answers: the next `count` requests, or every request when count is None."""
        if count is None:
            self.latency = seconds
        else:
            self.fail_next(count, Fault(delay=seconds, passthrough=True))

    def _inject(self, count: int, seconds: float | None, fault: Fault) -> None:
        if seconds is None:
            self.fail_next(count, fault)
        else:
            self.fail_for(seconds, fault)

    def seed_spend(
        self, account_id: str, rows: Iterable[dict[str, Any]] = (), currency: str = "EUR"
    ) -> None:
        """Spend the reports give for advertiser `account_id`: rows {"campaign", "date",
        "amount", "campaign_id"?} in `currency` (convhub_sim.reporting)."""
        self.spend.seed(account_id, rows, currency)

    def report_page_size(self, rows: int) -> None:
        """Serve at most `rows` report rows per page, whatever page_size asks."""
        if rows < 1:
            raise ValueError("rows must be at least 1")
        self.page_size_cap = int(rows)

    def report_currency(self, enabled: bool = True) -> None:
        """False: reports give the currency attribute as "-" (advertiser/info still has it)."""
        self.currency_metric = bool(enabled)

    def revoke_token(self, token: str) -> None:
        """`token` answers 40105 from now on (reports and advertiser info)."""
        self.revoked_tokens.add(token)

    def deny_advertiser(self, advertiser_id: str) -> None:
        """Reports and advertiser info of `advertiser_id` answer 40001."""
        self.denied_advertisers.add(str(advertiser_id))

    def reset(self) -> None:
        self.clear_faults()
        self.requests.clear()
        self.received.clear()
        self.dedupe.clear()
        self.poison_event_ids.clear()
        self.spend.clear()
        self.page_size_cap = MAX_PAGE_SIZE
        self.currency_metric = True
        self.revoked_tokens.clear()
        self.denied_advertisers.clear()

    # --- what tests read -------------------------------------------------------------------------

    def processed(self) -> list[ReceivedEvent]:
        """Accepted events that were not duplicates: what TikTok counts."""
        return [e for e in self.received if not e.deduplicated]

    def duplicates(self) -> list[ReceivedEvent]:
        return [e for e in self.received if e.deduplicated]

    def track_requests(self) -> list[Recorded]:
        return [r for r in self.platform_requests() if r.path in TRACK_PATHS]

    def event_requests(self) -> list[dict[str, Any]]:
        """Every POST /event/track body as sent (decoded), accepted or not ({} if not JSON)."""
        out: list[dict[str, Any]] = []
        for r in self.track_requests():
            try:
                body = json.loads(r.body)
            except ValueError:
                body = {}
            out.append(body if isinstance(body, dict) else {})
        return out

    def answers(self) -> list[Answer]:
        """What each /event/track request got: (arrival time, HTTP status, envelope code)."""
        return [Answer(r.at, r.status, r.code) for r in self.track_requests()]

    # --- the endpoint ----------------------------------------------------------------------------

    async def _track(self, request: web.Request) -> web.Response:
        response, code = await self._answer(request)
        record = request.get(RECORD_KEY)
        if record is not None:
            record.code = code
        return response

    async def _answer(self, request: web.Request) -> tuple[web.Response, int | None]:
        fault = self.take_fault()
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if not fault.passthrough:
                return self._fault_response(fault)
        try:
            self._check_token(request.headers.get("Access-Token", ""))
            body = _decode(await request.read())
            source_id = self._check_source_id(body)
            events = self._validate(body)
        except Rejected as exc:
            return self._envelope(exc.code, exc.message), exc.code
        now = self.clock()
        self._expire(now)
        request_id = self.request_id()
        test_code = str(body.get("test_event_code") or "")
        for event in events:
            event_id = str(event.get("event_id") or "")
            key = (source_id, str(event["event"]), event_id)
            duplicate = bool(event_id) and key in self.dedupe
            if event_id and not duplicate:
                self.dedupe[key] = now
            self.received.append(
                ReceivedEvent(
                    source_id,
                    key[1],
                    event_id,
                    duplicate,
                    test_code,
                    now,
                    event_source=str(body["event_source"]),
                    request_id=request_id,
                    payload=event,
                )
            )
        return self._envelope(CODE_OK, MESSAGE_OK, request_id), CODE_OK

    async def _report(self, request: web.Request) -> web.Response:
        return await self._reporting(request, self._report_data)

    async def _advertiser_info(self, request: web.Request) -> web.Response:
        return await self._reporting(request, self._advertiser_data)

    async def _reporting(
        self,
        request: web.Request,
        answer: Callable[[web.Request], dict[str, Any]],
    ) -> web.Response:
        """Fault, token, then the route's data in the envelope; the code recorded."""
        fault = self.take_fault()
        response: web.Response | None = None
        code: int | None = None
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if not fault.passthrough:
                response, code = self._fault_response(fault)
        if response is None:
            try:
                self._check_token(request.headers.get("Access-Token", ""))
                if request.headers.get("Access-Token", "") in self.revoked_tokens:
                    raise Rejected(CODE_INVALID_TOKEN, MESSAGE_INVALID_TOKEN)
                data = answer(request)
            except Rejected as exc:
                response, code = self._envelope(exc.code, exc.message), exc.code
            else:
                body = envelope(CODE_OK, MESSAGE_OK, self.request_id())
                response, code = web.json_response({**body, "data": data}), CODE_OK
        record = request.get(RECORD_KEY)
        if record is not None:
            record.code = code
        return response

    def _advertiser(self, value: object, name: str) -> str:
        if not isinstance(value, str) or not value:
            raise _invalid(name, REQUIRED)
        if not value.isdigit():
            raise _invalid(name, NOT_INTEGER)
        if value in self.denied_advertisers:
            raise Rejected(CODE_NO_PERMISSION, advertiser_permission_message(value))
        return value

    def _report_data(self, request: web.Request) -> dict[str, Any]:
        query = request.query
        advertiser = self._advertiser(query.get("advertiser_id"), "advertiser_id")
        if query.get("report_type") != "BASIC":
            raise _invalid("report_type", "Only BASIC reports are simulated (simulator)")
        if query.get("data_level") != "AUCTION_CAMPAIGN":
            raise _invalid("data_level", "Only AUCTION_CAMPAIGN is simulated (simulator)")
        dimensions = _json_list(query.get("dimensions"), "dimensions")
        if sorted(dimensions) != sorted(REPORT_DIMENSIONS):
            raise _invalid("dimensions", 'Only ["campaign_id", "stat_time_day"] (simulator)')
        metrics = _json_list(query.get("metrics"), "metrics")
        for metric in metrics:
            if metric not in REPORT_METRICS:
                raise _invalid("metrics", f"Invalid metric: {metric} (simulator)")
        start = _report_date(query.get("start_date"), "start_date")
        end = _report_date(query.get("end_date"), "end_date")
        if end < start:
            raise _invalid("end_date", "end_date must not be earlier than start_date")
        if (end - start).days + 1 > MAX_REPORT_DAYS:
            raise _invalid(
                "end_date",
                f"The time span between start_date and end_date must not exceed"
                f" {MAX_REPORT_DAYS} days when stat_time_day is a dimension (simulator)",
            )
        page = _page_param(query.get("page"), 1, "page", None)
        page_size = _page_param(query.get("page_size"), DEFAULT_PAGE_SIZE, "page_size", 1000)
        size = min(page_size, self.page_size_cap)
        rows = self.spend.rows(advertiser, start, end)
        currency = self.spend.currency(advertiser) if self.currency_metric else "-"
        chosen = rows[(page - 1) * size : page * size]
        return {
            "list": [_report_row(row, metrics, currency) for row in chosen],
            "page_info": {
                "page": page,
                "page_size": size,
                "total_number": len(rows),
                "total_page": math.ceil(len(rows) / size),
            },
        }

    def _advertiser_data(self, request: web.Request) -> dict[str, Any]:
        ids = _json_list(request.query.get("advertiser_ids"), "advertiser_ids")
        fields = _json_list(
            request.query.get("fields") or '["advertiser_id", "currency"]', "fields"
        )
        found = []
        for value in ids:
            advertiser = self._advertiser(value, "advertiser_ids")
            info = {
                "advertiser_id": advertiser,
                "name": f"Advertiser {advertiser} (simulator)",
                "currency": self.spend.currency(advertiser),
                "timezone": "Etc/GMT",
            }
            found.append({k: v for k, v in info.items() if k in fields or k == "advertiser_id"})
        return {"list": found}

    def request_id(self) -> str:
        """A UTC timestamp (YYYYmmddHHMMSS) and upper-case hex, as TikTok's request ids look."""
        stamp = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y%m%d%H%M%S")
        return stamp + secrets.token_hex(REQUEST_ID_HEX // 2).upper()

    def _envelope(self, code: int, message: str, request_id: str | None = None) -> web.Response:
        return web.json_response(envelope(code, message, request_id or self.request_id()))

    def _fault_response(self, fault: Fault) -> tuple[web.Response, int | None]:
        body = fault.body
        if isinstance(body, dict) and "code" in body:
            filled = {**body, "request_id": body.get("request_id") or self.request_id()}
            return (
                web.json_response(filled, status=fault.status, headers=fault.headers),
                int(filled["code"]),
            )
        if body is None and fault.status >= 500:
            body = nginx_error_page(fault.status)
        if isinstance(body, str):
            text = web.Response(
                text=body, status=fault.status, content_type="text/html", headers=fault.headers
            )
            return text, None
        return web.json_response(
            body if body is not None else {}, status=fault.status, headers=fault.headers
        ), None

    # --- checks, in TikTok's order: token, pixel permission, parameters --------------------------

    def _check_token(self, token: str) -> None:
        if not token or (self.tokens is not None and token not in self.tokens):
            raise Rejected(CODE_INVALID_TOKEN, MESSAGE_INVALID_TOKEN)

    def _check_source_id(self, body: dict[str, Any]) -> str:
        if "event_source_id" not in body:
            raise _invalid("event_source_id", REQUIRED)
        source_id = body["event_source_id"]
        if not isinstance(source_id, str):
            raise _invalid("event_source_id", NOT_STRING)
        known = (
            _SOURCE_ID.fullmatch(source_id) is not None
            if self.pixels is None
            else source_id in self.pixels
        )
        if not known:
            raise Rejected(CODE_NO_PERMISSION, pixel_permission_message(source_id))
        return source_id

    def _validate(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        source = body.get("event_source")
        if source is None:
            raise _invalid("event_source", REQUIRED)
        if source not in EVENT_SOURCES:
            raise _invalid("event_source", "Must be one of: " + ", ".join(EVENT_SOURCES))
        for name in ("test_event_code", "partner_name"):
            if name in body and not isinstance(body[name], str):
                raise _invalid(name, NOT_STRING)
        data = body.get("data")
        if data is None:
            raise _invalid("data", REQUIRED)
        if not isinstance(data, list):
            raise _invalid("data", NOT_LIST)
        if not 1 <= len(data) <= MAX_EVENTS:
            raise _invalid("data", f"Length must be between 1 and {MAX_EVENTS}")
        now = self.clock()
        for index, event in enumerate(data):
            self._validate_event(f"Batch.{index}", event, str(source), now)
        return data

    def _validate_event(self, at: str, event: object, source: str, now: float) -> None:
        if not isinstance(event, dict):
            raise _invalid(at, NOT_MAPPING)
        _required_string(event, "event", at)
        if "event_time" not in event:
            raise _invalid(f"{at}.event_time", REQUIRED)
        event_time = event["event_time"]
        if not _is_int(event_time):
            raise _invalid(f"{at}.event_time", NOT_INTEGER)
        if not 0 < event_time < MAX_UNIX_SECONDS:
            raise _invalid(f"{at}.event_time", "Not a Unix time in seconds (simulator)")
        if self.max_event_age is not None and now - event_time > self.max_event_age:
            raise _invalid(
                f"{at}.event_time",
                f"Event is more than {self.max_event_age:g} seconds old (simulator)",
            )
        _optional_string(event, "event_id", at)
        if "limited_data_use" in event and not isinstance(event["limited_data_use"], bool):
            raise _invalid(f"{at}.limited_data_use", NOT_BOOLEAN)
        user = _optional_mapping(event, "user", at)
        if user is not None:
            for key in (*HASHED_USER_KEYS, *EXTRA_HASHED_USER_KEYS):
                if key in user:
                    _check_hashed(user[key], f"{at}.user.{key}")
            for key in PLAIN_USER_KEYS:
                _optional_string(user, key, f"{at}.user")
        properties = _optional_mapping(event, "properties", at)
        if properties is not None:
            _validate_properties(properties, f"{at}.properties")
        page = _optional_mapping(event, "page", at)
        if page is not None:
            _optional_string(page, "url", f"{at}.page")
            _optional_string(page, "referrer", f"{at}.page")
        if source == "crm":
            lead = event.get("lead")
            if lead is None:
                raise _invalid(f"{at}.lead", REQUIRED)
            if not isinstance(lead, dict):
                raise _invalid(f"{at}.lead", NOT_MAPPING)
            _required_string(lead, "lead_id", f"{at}.lead")
        if event.get("event_id") and event["event_id"] in self.poison_event_ids:
            raise _invalid(f"{at}.event_id", "Event refused (simulator)")

    def _expire(self, now: float) -> None:
        # Insertion order is first-seen order: expired keys are at the front.
        while self.dedupe:
            key, first_seen = next(iter(self.dedupe.items()))
            if now - first_seen <= DEDUPE_WINDOW:
                break
            del self.dedupe[key]

    # --- control endpoints -----------------------------------------------------------------------

    async def _get_events(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "received": [
                    {k: v for k, v in asdict(e).items() if k != "payload"} for e in self.received
                ],
                "dedupe_keys": len(self.dedupe),
                "duplicates": len(self.duplicates()),
            }
        )

    async def _post_tiktok_faults(self, request: web.Request) -> web.Response:
        """{"kind": "throttle" | "server_error" | "token_error" | "reject_code" | "slow", ...the
        knob's arguments}, or {"kind": "poison", "event_ids": [...]}."""
        knobs: dict[str, Callable[..., object]] = {
            "throttle": self.throttle,
            "server_error": self.server_error,
            "token_error": self.token_error,
            "reject_code": self.reject_code,
            "slow": self.slow,
            "poison": self._poison,
            "seed_spend": self.seed_spend,
            "report_page_size": self.report_page_size,
            "report_currency": self.report_currency,
            "revoke_token": self.revoke_token,
            "deny_advertiser": self.deny_advertiser,
        }
        return await self._call_knob(request, knobs)

    def _poison(self, event_ids: Iterable[str]) -> None:
        self.poison_event_ids.update(str(i) for i in event_ids)

    async def _post_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({})


def _json_list(raw: str | None, name: str) -> list[str]:
    """A list parameter the way TikTok takes it in a GET: JSON text, e.g. ["a","b"]."""
    if raw is None:
        raise _invalid(name, REQUIRED)
    try:
        value = json.loads(raw)
    except ValueError:
        raise _invalid(name, NOT_LIST) from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(name, NOT_LIST)
    return value


def _report_date(raw: str | None, name: str) -> date:
    if raw is None:
        raise _invalid(name, REQUIRED)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _invalid(name, "Not a valid date (YYYY-MM-DD)") from None


def _page_param(raw: str | None, default: int, name: str, most: int | None) -> int:
    if raw is None:
        return default
    if not raw.isdigit():
        raise _invalid(name, NOT_INTEGER)
    value = int(raw)
    if value < 1 or (most is not None and value > most):
        bound = f"between 1 and {most}" if most is not None else "at least 1"
        raise _invalid(name, f"Must be {bound}")
    return value


def _report_row(row: SpendRow, metrics: list[str], currency: str) -> dict[str, Any]:
    values = {"spend": row.text(), "campaign_name": row.campaign, "currency": currency}
    return {
        "dimensions": {
            "campaign_id": row.campaign_id,
            "stat_time_day": f"{row.day.isoformat()} 00:00:00",
        },
        "metrics": {m: values[m] for m in metrics},
    }


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise _invalid("body", "Not valid JSON (simulator)") from None
    if not isinstance(body, dict):
        raise _invalid("body", NOT_MAPPING)
    return body


def _validate_properties(properties: dict[str, Any], at: str) -> None:
    if "value" in properties and not _is_number(properties["value"]):
        raise _invalid(f"{at}.value", NOT_NUMBER)
    if "currency" in properties:
        currency = properties["currency"]
        if not isinstance(currency, str):
            raise _invalid(f"{at}.currency", NOT_STRING)
        if not _CURRENCY.fullmatch(currency):
            raise _invalid(f"{at}.currency", NOT_CURRENCY)
    for key in PROPERTY_STRINGS:
        _optional_string(properties, key, at)
    if properties.get("content_type", "product") not in CONTENT_TYPES:
        raise _invalid(f"{at}.content_type", "Must be one of: " + ", ".join(CONTENT_TYPES))
    if "num_items" in properties and not _is_int(properties["num_items"]):
        raise _invalid(f"{at}.num_items", NOT_INTEGER)
    if "content_ids" in properties:
        ids = properties["content_ids"]
        if not isinstance(ids, list):
            raise _invalid(f"{at}.content_ids", NOT_LIST)
        for j, content_id in enumerate(ids):
            if not isinstance(content_id, str):
                raise _invalid(f"{at}.content_ids.{j}", NOT_STRING)
    if "contents" in properties:
        contents = properties["contents"]
        if not isinstance(contents, list):
            raise _invalid(f"{at}.contents", NOT_LIST)
        for j, content in enumerate(contents):
            where = f"{at}.contents.{j}"
            if not isinstance(content, dict):
                raise _invalid(where, NOT_MAPPING)
            for key in CONTENT_STRINGS:
                _optional_string(content, key, where)
            if "price" in content and not _is_number(content["price"]):
                raise _invalid(f"{where}.price", NOT_NUMBER)
            if "quantity" in content and not _is_int(content["quantity"]):
                raise _invalid(f"{where}.quantity", NOT_INTEGER)


def _check_hashed(value: object, at: str) -> None:
    """A SHA-256 hex string, or a list of them (§3.2: string or string[])."""
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, str):
            raise _invalid(at, NOT_STRING)
        if not _HEX64.fullmatch(item):
            raise _invalid(at, NOT_SHA256)


def _required_string(obj: dict[str, Any], key: str, at: str) -> None:
    if key not in obj or obj[key] is None:
        raise _invalid(f"{at}.{key}", REQUIRED)
    if not isinstance(obj[key], str):
        raise _invalid(f"{at}.{key}", NOT_STRING)
    if not obj[key]:
        raise _invalid(f"{at}.{key}", "Field may not be blank")


def _optional_string(obj: dict[str, Any], key: str, at: str) -> None:
    if key in obj and obj[key] is not None and not isinstance(obj[key], str):
        raise _invalid(f"{at}.{key}", NOT_STRING)


def _optional_mapping(obj: dict[str, Any], key: str, at: str) -> dict[str, Any] | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, dict):
        raise _invalid(f"{at}.{key}", NOT_MAPPING)
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
