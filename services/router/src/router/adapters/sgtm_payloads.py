"""Request bodies for sGTM: Stape Data Client JSON and GA4 Measurement Protocol
(docs/platforms.md §4-§5).

Only hashed user data leaves: every identifier must be 64 lowercase hex characters, anything
else is dropped here whatever upstream did. Client IP and user agent are sent as the platforms
need them (ingest removed them when consent did not allow keeping them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from convhub.common.v1 import common_pb2 as common
from convhub.events.v1 import events_pb2 as events
from hubkit.money import json_number
from router.domain.site import SgtmFormat, SgtmSettings

STAPE_MAX_BODY = 1_000_000 - 4096  # sGTM answers 413 from 1 MB; keep a margin
GA4_MAX_BODY = 130_000
GA4_MAX_EVENTS = 25
_GA4_VALUE = 100  # characters of a parameter value (page_location 1000, page_referrer 420)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GA4_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_GA4_RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
# convhub event types -> GA4 recommended event names (the common event data vocabulary).
GA4_EVENT_NAMES = {
    "lead": "generate_lead",
    "complete_registration": "sign_up",
    "initiate_checkout": "begin_checkout",
    "view_content": "view_item",
    "contact": "generate_lead",
}
_CONSENT = {common.CONSENT_STATUS_GRANTED: "GRANTED", common.CONSENT_STATUS_DENIED: "DENIED"}


class PayloadError(ValueError):
    """The conversion cannot be expressed in the format (the message says why, without data)."""


def event_name(event_type: str) -> str:
    return GA4_EVENT_NAMES.get(event_type, event_type)


def _hashed(value: str) -> str:
    return value if _SHA256.match(value) else ""


def _amount(value: str) -> float | None:
    """JSON number of an exact decimal string (the wire wants a number; storage stays exact)."""
    if not value:
        return None
    number = json_number(value)
    if number is None:
        raise PayloadError("value is not a decimal number")
    return number


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values, recursively: absent beats empty for every sGTM client."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = _compact(value)
        if value in ("", None, {}, []):
            continue
        out[key] = value
    return out


def _identifiers(c: common.HashedConversion, settings: SgtmSettings) -> common.HashedIdentifiers:
    return getattr(c.user_data, settings.user_data_rules.value)  # type: ignore[no-any-return]


def _items(c: common.HashedConversion) -> list[dict[str, Any]]:
    return [
        _compact(
            {
                "item_id": i.id,
                "item_name": i.name,
                "item_brand": i.brand,
                "item_category": i.category,
                "item_variant": i.variant,
                "price": _amount(i.price),
                "quantity": i.quantity or None,
                "currency": c.currency,
            }
        )
        for i in c.items
    ]


def _consent_bool(status: int) -> bool | None:
    if status == common.CONSENT_STATUS_GRANTED:
        return True
    if status == common.CONSENT_STATUS_DENIED:
        return False
    return None


def stape_event(item: events.ConversionAccepted, settings: SgtmSettings) -> dict[str, Any]:
    """One Stape Data Client event object (common event data; unknown keys pass through)."""
    c = item.conversion
    ids = _identifiers(c, settings)
    cookies = c.click_ids
    return _compact(
        {
            "event_name": event_name(c.event_type),
            "event_id": c.event_id or c.conversion_id,
            "transaction_id": c.order_id,
            "client_id": c.visitor_id or c.conversion_id,
            "user_id": _hashed(ids.external_id),
            "event_time": c.event_time.seconds if c.HasField("event_time") else None,
            "page_location": c.page_url,
            "page_referrer": c.referrer_url,
            "ip_override": c.client_ip,
            "user_agent": c.user_agent,
            "value": _amount(c.value),
            "currency": c.currency,
            "items": _items(c),
            "user_data": {
                "email_address": _hashed(ids.email),
                "phone_number": _hashed(ids.phone),
                "address": {
                    "first_name": _hashed(ids.first_name),
                    "last_name": _hashed(ids.last_name),
                    "city": _hashed(ids.city),
                    "region": _hashed(ids.state),
                    "postal_code": _hashed(ids.zip),
                    "country": _hashed(ids.country),
                },
            },
            "consent_state": {
                "ad_user_data": _consent_bool(c.consent.ad_user_data),
                "ad_personalization": _consent_bool(c.consent.ad_personalization),
            },
            "common_cookie": {
                "_fbc": cookies.fbc,
                "_fbp": cookies.fbp,
                "ttclid": cookies.ttclid,
                "_ttp": cookies.ttp,
            },
            "gclid": cookies.gclid,
            "gbraid": cookies.gbraid,
            "wbraid": cookies.wbraid,
            "fbclid": cookies.fbclid,
            "conversion_id": c.conversion_id,
            "action_source": _action_source(c.action_source),
        }
    )


def _action_source(value: int) -> str:
    if not value:
        return ""
    return common.ActionSource.Name(value).removeprefix("ACTION_SOURCE_").lower()


def ga4_request(
    item: events.ConversionAccepted, settings: SgtmSettings
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(request-level fields, the event) of a GA4 Measurement Protocol request.

    Requests carry one user: only events whose request-level fields are identical share one.
    """
    c = item.conversion
    name = event_name(c.event_type)
    if not _GA4_NAME.match(name) or name.startswith(_GA4_RESERVED_PREFIXES):
        raise PayloadError(f"event type '{c.event_type}' is not a valid GA4 event name")
    ids = _identifiers(c, settings)
    client_id = c.visitor_id or c.conversion_id
    user_data = _compact(
        {
            "sha256_email_address": [v for v in [_hashed(ids.email)] if v],
            "sha256_phone_number": [v for v in [_hashed(ids.phone)] if v],
            "address": [
                a
                for a in [
                    _compact(
                        {
                            "sha256_first_name": _hashed(ids.first_name),
                            "sha256_last_name": _hashed(ids.last_name),
                        }
                    )
                ]
                if a
            ],
        }
    )
    # MP requires user_id whenever user_data is sent; the hashed external id, else the client.
    user_id = _hashed(ids.external_id) or (client_id if user_data else "")
    request = _compact(
        {
            "client_id": client_id,
            "user_id": user_id,
            "timestamp_micros": (
                c.event_time.seconds * 1_000_000 + c.event_time.nanos // 1000
                if c.HasField("event_time")
                else None
            ),
            "consent": {
                "ad_user_data": _CONSENT.get(c.consent.ad_user_data),
                "ad_personalization": _CONSENT.get(c.consent.ad_personalization),
            },
            "user_data": user_data,
        }
    )
    event = {
        "name": name,
        "params": _compact(
            {
                "transaction_id": c.order_id[:_GA4_VALUE],
                "event_id": (c.event_id or c.conversion_id)[:_GA4_VALUE],
                "value": _amount(c.value),
                "currency": c.currency,
                "items": _items(c),
                "page_location": c.page_url[:1000],
                "page_referrer": c.referrer_url[:420],
                "conversion_id": c.conversion_id[:_GA4_VALUE],
            }
        ),
    }
    return request, event


Chunk = tuple[list[str], bytes]  # (delivery ids, body)


def build_bodies(
    settings: SgtmSettings, built: list[tuple[str, events.ConversionAccepted]], max_events: int
) -> tuple[list[Chunk], list[tuple[str, str]]]:
    """Bodies for the decoded conversions, and (delivery id, reason) of those that fit none."""
    if settings.format is SgtmFormat.GA4_MP:
        return _ga4_bodies(settings, built, min(max_events, GA4_MAX_EVENTS))
    return _stape_bodies(settings, built, max_events)


def _stape_bodies(
    settings: SgtmSettings, built: list[tuple[str, events.ConversionAccepted]], max_events: int
) -> tuple[list[Chunk], list[tuple[str, str]]]:
    encoded, rejected = _encode(built, lambda item: stape_event(item, settings))
    if max_events <= 1:  # one plain JSON object per request: the client need not accept arrays
        fits = [(i, e) for i, e in encoded if len(e) <= STAPE_MAX_BODY]
        rejected += [
            (i, "event exceeds the body limit") for i, e in encoded if len(e) > STAPE_MAX_BODY
        ]
        return [([i], e) for i, e in fits], rejected
    chunks, too_big = _pack(encoded, max_events, STAPE_MAX_BODY, b"[", b"]")
    return chunks, rejected + too_big


def _ga4_bodies(
    settings: SgtmSettings, built: list[tuple[str, events.ConversionAccepted]], max_events: int
) -> tuple[list[Chunk], list[tuple[str, str]]]:
    groups: dict[bytes, list[tuple[str, bytes]]] = {}
    rejected: list[tuple[str, str]] = []
    for delivery_id, item in built:
        try:
            request, event = ga4_request(item, settings)
        except PayloadError as exc:
            rejected.append((delivery_id, str(exc)))
            continue
        head = orjson.dumps(request, option=orjson.OPT_SORT_KEYS)
        groups.setdefault(head, []).append((delivery_id, orjson.dumps(event)))
    chunks: list[Chunk] = []
    for head, members in groups.items():
        prefix = head[:-1] + (b',"events":[' if head != b"{}" else b'"events":[')
        packed, too_big = _pack(members, max_events, GA4_MAX_BODY, prefix, b"]}")
        chunks += packed
        rejected += too_big
    return chunks, rejected


def _encode(
    built: list[tuple[str, events.ConversionAccepted]],
    build: Callable[[events.ConversionAccepted], dict[str, Any]],
) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    encoded: list[tuple[str, bytes]] = []
    rejected: list[tuple[str, str]] = []
    for delivery_id, item in built:
        try:
            encoded.append((delivery_id, orjson.dumps(build(item))))
        except PayloadError as exc:
            rejected.append((delivery_id, str(exc)))
    return encoded, rejected


def _pack(
    encoded: list[tuple[str, bytes]], max_events: int, max_body: int, start: bytes, end: bytes
) -> tuple[list[Chunk], list[tuple[str, str]]]:
    """Greedy packing into `start e1,e2,... end` bodies under both limits."""
    chunks: list[Chunk] = []
    rejected: list[tuple[str, str]] = []
    ids: list[str] = []
    parts: list[bytes] = []
    size = len(start) + len(end)
    for delivery_id, event in encoded:
        if len(start) + len(end) + len(event) > max_body:
            rejected.append((delivery_id, "event exceeds the body limit"))
            continue
        if parts and (len(parts) >= max_events or size + len(event) + 1 > max_body):
            chunks.append((ids, start + b",".join(parts) + end))
            ids, parts, size = [], [], len(start) + len(end)
        ids.append(delivery_id)
        parts.append(event)
        size += len(event) + 1
    if parts:
        chunks.append((ids, start + b",".join(parts) + end))
    return chunks, rejected
