"""Server-side GTM container simulator: Stape Data Client JSON and GA4 Measurement Protocol.

Claims `POST /data` (Stape Data Client: one event object, or an array when "Accept Multiple
Events" is on) and `POST /mp/collect` (GA4 MP; `/debug/mp/collect` validates only), as
docs/platforms.md §4-§5 describe them. It is stricter than a real container on purpose, so
convhub's mistakes surface in tests: user data must be SHA-256 hex, a client_id is required, and
an invalid MP request answers 400 with the debug endpoint's `validationMessages` (Google would
answer 2xx and drop it). Accepted events are recorded in `events`; faults come from the base
class (`fail_next`, `latency`, `POST /_sim/faults`).
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from convhub_sim.base import Simulator, apply_fault

MAX_BODY = 1_000_000  # sGTM answers 413 from 1 MB
MP_MAX_BODY = 130_000
MP_MAX_EVENTS = 25
MP_MAX_PARAMS = 25
_MP_VALUE_LIMITS = {"page_location": 1000, "page_referrer": 420, "page_title": 300}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_MEASUREMENT_ID = re.compile(r"^G-[A-Z0-9]{4,20}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_MP_RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
_MP_RESERVED_EVENTS = frozenset(
    {"ad_activeview", "ad_click", "ad_exposure", "ad_query", "app_remove", "app_store_refund",
     "app_store_subscription_cancel", "app_store_subscription_renew", "app_update", "error",
     "first_open", "first_visit", "in_app_purchase", "notification_dismiss",
     "notification_foreground", "notification_open", "notification_receive", "os_update",
     "session_start", "user_engagement"}
)  # fmt: skip
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "content-type, x-gtm-server-preview, authorization",
}
STAPE_FORMAT = "stape"
MP_FORMAT = "ga4_mp"


@dataclass
class ReceivedEvent:
    """One event the container accepted: its format, the event, and the request around it."""

    format: str
    event: dict[str, Any]
    request: dict[str, Any] = field(default_factory=dict)  # MP: the request-level fields
    headers: dict[str, str] = field(default_factory=dict)
    at: float = 0.0

    @property
    def event_id(self) -> str:
        source = self.event if self.format == STAPE_FORMAT else self.event.get("params", {})
        return str(source.get("event_id", ""))


class SgtmSimulator(Simulator):
    name = "sgtm"

    def __init__(
        self,
        *,
        accept_multiple_events: bool = True,
        require_hashed_user_data: bool = True,
        auth_header: str = "",
        auth_value: str = "",
        api_secret: str = "",
    ) -> None:
        self.accept_multiple_events = accept_multiple_events
        self.require_hashed_user_data = require_hashed_user_data
        self.auth_header = auth_header  # when set, requests must carry it with auth_value
        self.auth_value = auth_value
        self.api_secret = api_secret  # when set, MP requests must carry this api_secret
        self.events: list[ReceivedEvent] = []
        self.rejections: list[dict[str, Any]] = []  # what we answered 4xx to, and why
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/data", self._data)
        app.router.add_route("OPTIONS", "/data", self._preflight)
        app.router.add_post("/mp/collect", self._mp)
        app.router.add_post("/debug/mp/collect", self._mp_debug)
        app.router.add_post("/_sim/config", self._post_config)
        app.router.add_get("/_sim/events", self._get_events)

    # --- queries for tests -----------------------------------------------------------------------

    def event_ids(self) -> list[str]:
        return [e.event_id for e in self.events]

    def reset(self) -> None:
        self.clear_faults()
        self.requests.clear()
        self.events.clear()
        self.rejections.clear()

    # --- Stape Data Client -----------------------------------------------------------------------

    async def _preflight(self, request: web.Request) -> web.Response:
        return web.Response(status=200, headers=CORS_HEADERS)

    async def _data(self, request: web.Request) -> web.Response:
        refused = self._refuse_early(request, MAX_BODY)
        if refused is not None:
            return refused
        faulted = await apply_fault(self.take_fault())
        if faulted is not None:
            return faulted
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self._reject(400, "body is not JSON")
        if isinstance(body, list):
            if not self.accept_multiple_events:
                return self._reject(400, "an array body needs 'Accept Multiple Events'")
            if not body:
                return self._reject(400, "empty event array")
            batch = body
        else:
            batch = [body]
        problems = [
            f"[{i}].{p}" if isinstance(body, list) else p
            for i, event in enumerate(batch)
            for p in self._stape_problems(event)
        ]
        if problems:
            return self._reject(400, "; ".join(problems[:20]))
        now = time.time()
        headers = _kept_headers(request)
        for event in batch:
            self.events.append(ReceivedEvent(STAPE_FORMAT, event, headers=headers, at=now))
        return web.json_response(
            {
                "timestamp": int(now),
                "unique_event_id": f"{int(now * 1000)}_{random.randint(0, 999_999_999):09d}",
            },
            headers=CORS_HEADERS,
        )

    def _stape_problems(self, event: Any) -> list[str]:
        if not isinstance(event, dict):
            return ["an event must be a JSON object"]
        p: list[str] = []
        name = event.get("event_name", event.get("eventName", event.get("event", "Data")))
        if not isinstance(name, str) or not name:
            p.append("event_name must be a non-empty string")
        if not isinstance(event.get("client_id"), str) or not event["client_id"]:
            p.append("client_id is required from backends")
        p += _money_problems(event, "")
        items = event.get("items", [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            p.append("items must be an array of objects")
        else:
            for i, item in enumerate(items):
                p += [f"items[{i}].{q}" for q in _item_problems(item)]
        user_data = event.get("user_data", {})
        if not isinstance(user_data, dict):
            p.append("user_data must be an object")
        elif self.require_hashed_user_data:
            p += _hashed_problems("user_data", user_data)
        consent = event.get("consent_state", {})
        if not isinstance(consent, dict) or not all(isinstance(v, bool) for v in consent.values()):
            p.append("consent_state values must be booleans")
        cookies = event.get("common_cookie", {})
        if not isinstance(cookies, dict) or not all(isinstance(v, str) for v in cookies.values()):
            p.append("common_cookie values must be strings")
        return p

    # --- GA4 Measurement Protocol ----------------------------------------------------------------

    async def _mp(self, request: web.Request) -> web.Response:
        return await self._measurement_protocol(request, debug=False)

    async def _mp_debug(self, request: web.Request) -> web.Response:
        return await self._measurement_protocol(request, debug=True)

    async def _measurement_protocol(self, request: web.Request, *, debug: bool) -> web.Response:
        refused = self._refuse_early(request, MP_MAX_BODY)
        if refused is not None:
            return refused
        faulted = await apply_fault(self.take_fault())
        if faulted is not None:
            return faulted
        messages = _mp_query_problems(request.query)
        if not debug and self.api_secret and request.query.get("api_secret") != self.api_secret:
            return self._reject(403, "api_secret does not match the stream's")
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
            messages.append(_message("", "body is not JSON", "VALUE_INVALID"))
        if body is not None:
            messages += _mp_body_problems(body)
        if debug:
            return web.json_response({"validationMessages": messages})
        if messages:
            self.rejections.append({"status": 400, "messages": messages})
            return web.json_response({"validationMessages": messages}, status=400)
        now = time.time()
        head = {k: v for k, v in body.items() if k != "events"}
        headers = _kept_headers(request)
        for event in body["events"]:
            self.events.append(ReceivedEvent(MP_FORMAT, event, head, headers, now))
        return web.Response(status=204)

    # --- plumbing --------------------------------------------------------------------------------

    def _refuse_early(self, request: web.Request, max_body: int) -> web.Response | None:
        if self.auth_header and request.headers.get(self.auth_header) != self.auth_value:
            return self._reject(403, "missing or wrong shared-secret header")
        if (request.content_length or 0) > max_body:
            return self._reject(413, "request entity too large")
        if request.content_type != "application/json":
            return self._reject(400, "content-type must be application/json")
        return None

    def _reject(self, status: int, error: str) -> web.Response:
        self.rejections.append({"status": status, "error": error})
        return web.json_response({"error": error}, status=status, headers=CORS_HEADERS)

    async def _post_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({})

    async def _post_config(self, request: web.Request) -> web.Response:
        spec = await request.json()
        for knob in (
            "accept_multiple_events",
            "require_hashed_user_data",
            "auth_header",
            "auth_value",
            "api_secret",
        ):
            if knob in spec:
                setattr(self, knob, spec[knob])
        return web.json_response({"ok": True})

    async def _get_events(self, request: web.Request) -> web.Response:
        tail = [
            {"format": e.format, "event": e.event, "request": e.request} for e in self.events[-100:]
        ]
        return web.json_response({"count": len(self.events), "events": tail})


def _kept_headers(request: web.Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def _money_problems(data: dict[str, Any], prefix: str) -> list[str]:
    p: list[str] = []
    value = data.get("value")
    if value is not None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            p.append(f"{prefix}value must be a number")
        currency = data.get("currency")
        if not isinstance(currency, str) or not _CURRENCY.match(currency):
            p.append(f"{prefix}currency must be an ISO 4217 code when value is set")
    return p


def _item_problems(item: dict[str, Any]) -> list[str]:
    p: list[str] = []
    price = item.get("price")
    if price is not None and (not isinstance(price, int | float) or isinstance(price, bool)):
        p.append("price must be a number")
    quantity = item.get("quantity")
    if quantity is not None and (not isinstance(quantity, int) or isinstance(quantity, bool)):
        p.append("quantity must be an integer")
    return p


def _hashed_problems(path: str, data: dict[str, Any]) -> list[str]:
    """Every personal identifier must already be SHA-256 hex (no raw PII may reach sGTM)."""
    p: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            p += _hashed_problems(f"{path}.{key}", value)
        elif isinstance(value, list):
            p += [
                f"{path}.{key}[{i}] is not SHA-256 hex"
                for i, v in enumerate(value)
                if not _is_hash(v)
            ]
        elif not _is_hash(value):
            p.append(f"{path}.{key} is not SHA-256 hex")
    return p


def _is_hash(value: Any) -> bool:
    return isinstance(value, str) and bool(_SHA256.match(value))


def _message(field_path: str, description: str, code: str) -> dict[str, str]:
    return {"fieldPath": field_path, "description": description, "validationCode": code}


def _mp_query_problems(query: Any) -> list[dict[str, str]]:
    m = []
    measurement_id = query.get("measurement_id", "")
    if not measurement_id and not query.get("firebase_app_id"):
        m.append(_message("measurement_id", "measurement_id is required", "VALUE_REQUIRED"))
    elif measurement_id and not _MEASUREMENT_ID.match(measurement_id):
        m.append(_message("measurement_id", "not a measurement id", "VALUE_INVALID"))
    if not query.get("api_secret"):
        m.append(_message("api_secret", "api_secret is required", "VALUE_REQUIRED"))
    return m


def _mp_body_problems(body: Any) -> list[dict[str, str]]:
    if not isinstance(body, dict):
        return [_message("", "the body must be a JSON object", "VALUE_INVALID")]
    m = []
    if not body.get("client_id") and not body.get("app_instance_id"):
        m.append(_message("client_id", "client_id is required", "VALUE_REQUIRED"))
    if "user_data" in body and not body.get("user_id"):
        m.append(_message("user_id", "user_id is required with user_data", "VALUE_REQUIRED"))
    ts = body.get("timestamp_micros")
    if ts is not None and (not isinstance(ts, int) or isinstance(ts, bool)):
        m.append(_message("timestamp_micros", "must be an integer", "VALUE_INVALID"))
    for key, value in body.get("consent", {}).items():
        if value not in ("GRANTED", "DENIED"):
            m.append(_message(f"consent.{key}", "GRANTED or DENIED", "VALUE_INVALID"))
    m += _mp_user_data_problems(body.get("user_data", {}))
    events = body.get("events")
    if not isinstance(events, list) or not events:
        m.append(_message("events", "at least one event is required", "VALUE_REQUIRED"))
        return m
    if len(events) > MP_MAX_EVENTS:
        m.append(_message("events", f"at most {MP_MAX_EVENTS} events", "EXCEEDED_MAX_ENTITIES"))
    for i, event in enumerate(events):
        m += _mp_event_problems(f"events[{i}]", event)
    return m


def _mp_user_data_problems(user_data: Any) -> list[dict[str, str]]:
    if not isinstance(user_data, dict):
        return [_message("user_data", "must be an object", "VALUE_INVALID")]
    m = []
    for key in ("sha256_email_address", "sha256_phone_number"):
        values = user_data.get(key, [])
        if not isinstance(values, list) or len(values) > 3:
            m.append(_message(f"user_data.{key}", "at most 3 values", "EXCEEDED_MAX_ENTITIES"))
        elif not all(_is_hash(v) for v in values):
            m.append(_message(f"user_data.{key}", "values must be SHA-256 hex", "VALUE_INVALID"))
    addresses = user_data.get("address", [])
    if not isinstance(addresses, list) or len(addresses) > 2:
        m.append(_message("user_data.address", "at most 2 addresses", "EXCEEDED_MAX_ENTITIES"))
        return m
    for i, address in enumerate(addresses):
        for key, value in address.items():
            if key.startswith("sha256_") and not _is_hash(value):
                m.append(
                    _message(
                        f"user_data.address[{i}].{key}", "must be SHA-256 hex", "VALUE_INVALID"
                    )
                )
    return m


def _mp_event_problems(path: str, event: Any) -> list[dict[str, str]]:
    if not isinstance(event, dict):
        return [_message(path, "an event must be an object", "VALUE_INVALID")]
    m = []
    name = event.get("name")
    if not isinstance(name, str) or not _MP_NAME.match(name):
        m.append(_message(f"{path}.name", "invalid event name", "NAME_INVALID"))
    elif name.startswith(_MP_RESERVED_PREFIXES) or name in _MP_RESERVED_EVENTS:
        m.append(_message(f"{path}.name", "reserved event name", "NAME_RESERVED"))
    params = event.get("params", {})
    if not isinstance(params, dict):
        return [*m, _message(f"{path}.params", "must be an object", "VALUE_INVALID")]
    if len(params) > MP_MAX_PARAMS:
        m.append(_message(f"{path}.params", "at most 25 params", "EXCEEDED_MAX_ENTITIES"))
    for key, value in params.items():
        if not _MP_NAME.match(key):
            m.append(_message(f"{path}.params.{key}", "invalid parameter name", "NAME_INVALID"))
        limit = _MP_VALUE_LIMITS.get(key, 100)
        if isinstance(value, str) and len(value) > limit:
            m.append(
                _message(
                    f"{path}.params.{key}", f"at most {limit} characters", "VALUE_OUT_OF_BOUNDS"
                )
            )
    m += [
        _message(f"{path}.params.{q.split(' ')[0]}", q, "VALUE_INVALID")
        for q in _money_problems(params, "")
    ]
    return m
