"""DispatchRequested (hashed conversion) -> one Meta server event, or why Meta cannot take it.

Field by field per docs/platforms.md §1.3-§1.6; every per-event rule Meta enforces is
checked by `domain.rules.refusal` on the mapped event. Personal identifiers are sent only as the
Meta-rule SHA-256 hashes ingest computed; anything that is not 64 lowercase hex fails the event
(it would be plain personal data) and is never sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from convhub.common.v1.common_pb2 import HashedConversion
from convhub.events.v1 import events_pb2
from dispatch_meta.domain import events, rules
from hubkit.dispatch.model import ErrorClass, PlatformError
from hubkit.money import json_number


def refused(refusal: rules.Refusal) -> PlatformError:
    """Meta's rule as the dispatch machinery's error: TOO_OLD for the age rule, else
    BAD_INPUT (the event itself is wrong; no retry can help)."""
    error_class = ErrorClass.TOO_OLD if refusal.too_old else ErrorClass.BAD_INPUT
    return PlatformError(error_class, refusal.code, refusal.message)


def event_id_of(request: events_pb2.DispatchRequested) -> str:
    """Meta's dedupe key part: ingest's stable event_id, else convhub's conversion id."""
    conversion = request.conversion
    return conversion.event_id or conversion.conversion_id or request.conversion_id


def to_server_event(
    request: events_pb2.DispatchRequested, now: datetime
) -> dict[str, Any] | PlatformError:
    """The `data[i]` object for this request, or why Meta would refuse it (BAD_INPUT /
    TOO_OLD), judged by `rules.refusal` on exactly what would be sent."""
    event = _server_event(request)
    refusal = rules.refusal(event, now)
    if refusal is not None:
        return refused(refusal)
    # Within the tolerated skew, a time ahead of ours is sent as now: Meta's own tolerance
    # for future times is not published (docs/platforms.md §7.1).
    event["event_time"] = min(event["event_time"], int(now.timestamp()))
    return event


def _server_event(request: events_pb2.DispatchRequested) -> dict[str, Any]:
    """Field by field, as given: what is missing stays missing, what is malformed stays
    malformed, for `rules.refusal` to judge (nothing is sent unless it passes)."""
    conversion = request.conversion
    at = _unix_ms(conversion.event_time) if conversion.HasField("event_time") else None
    event: dict[str, Any] = {
        "event_name": events.event_name(conversion.event_type, request.target.event_name) or ""
    }
    if at is not None:
        event["event_time"] = at // 1000
    event["event_id"] = conversion.event_id or conversion.conversion_id or request.conversion_id
    page_url = conversion.page_url
    event["action_source"] = events.action_source(conversion.action_source, bool(page_url))
    event["user_data"] = _user_data(conversion, at)
    if page_url:
        event["event_source_url"] = page_url
    if conversion.referrer_url:
        event["referrer_url"] = conversion.referrer_url
    custom = _custom_data(conversion)
    if custom:
        event["custom_data"] = custom
    return event


def _unix_ms(ts: Timestamp) -> int:
    """Milliseconds since the epoch (whole ones, toward the past), without a datetime."""
    return int(ts.seconds) * 1000 + int(ts.nanos) // 1_000_000


_USER_DATA_KEYS = dict(rules.HASHED_FIELDS)  # HashedIdentifiers field -> user_data key


def _user_data(conversion: HashedConversion, at: int | None) -> dict[str, Any]:
    """`at`: the event's time, Unix milliseconds."""
    user: dict[str, Any] = {}
    # The fields set, in field-number order (that of rules.HASHED_FIELDS).
    for field, value in conversion.user_data.meta.ListFields():
        key = _USER_DATA_KEYS.get(field.name)
        if key is not None:
            user[key] = [value]  # rules.refusal makes sure it is a SHA-256 before it goes
    if conversion.client_ip:
        user["client_ip_address"] = conversion.client_ip
    if conversion.user_agent:
        user["client_user_agent"] = conversion.user_agent
    clicks = conversion.click_ids
    if clicks.fbc:
        user["fbc"] = clicks.fbc  # as the browser wrote it: 4 or 5 segments, case kept
    elif clicks.fbclid and at is not None:
        # The click time is unknown; the conversion cannot precede its click, so its time is
        # the closest bound we have.
        user["fbc"] = rules.fbc_from_fbclid(clicks.fbclid, at)
    if clicks.fbp:
        user["fbp"] = clicks.fbp
    return user


def _custom_data(conversion: HashedConversion) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    text = conversion.value
    if text:
        value = json_number(text)
        # Not a number: kept as text so that the event is refused (INVALID_VALUE), never sent.
        custom["value"] = text if value is None else value
    currency = conversion.currency
    if currency:
        custom["currency"] = currency.lower()  # the SDK's normalisation
    if conversion.order_id:
        custom["order_id"] = conversion.order_id
    contents = []
    for item in conversion.items:
        if not item.id:
            continue
        line: dict[str, Any] = {"id": item.id, "quantity": max(item.quantity, 1)}
        price = json_number(item.price) if item.price else None
        if price is not None:
            line["item_price"] = price
        if item.name:
            line["title"] = item.name
        if item.brand:
            line["brand"] = item.brand
        if item.category:
            line["category"] = item.category
        contents.append(line)
    if contents:
        custom["contents"] = contents
        custom["content_ids"] = [c["id"] for c in contents]
        custom["content_type"] = "product"
        custom["num_items"] = sum(c["quantity"] for c in contents)
    return custom
