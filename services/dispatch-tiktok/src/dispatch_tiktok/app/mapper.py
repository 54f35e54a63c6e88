"""DispatchRequested (hashed conversion) -> one TikTok `data[i]` event, or why TikTok cannot
take it (docs/platforms.md §3.2). Personal identifiers go only as the TikTok-rule SHA-256
hashes ingest computed (phone E.164 with "+"); anything else fails the event, never sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from convhub.events.v1 import events_pb2
from dispatch_tiktok.domain import events, rules
from hubkit.dispatch.model import PlatformError
from hubkit.money import json_number
from hubkit.vocabulary import ErrorClass


def event_id_of(request: events_pb2.DispatchRequested) -> str:
    """TikTok dedupes on event + event_id: ingest's stable event id, else the conversion id."""
    conversion = request.conversion
    return conversion.event_id or conversion.conversion_id or request.conversion_id


def event_name_of(request: events_pb2.DispatchRequested) -> str:
    return events.event_name(request.conversion.event_type, request.target.event_name) or ""


def to_event(
    request: events_pb2.DispatchRequested, now: datetime
) -> dict[str, Any] | PlatformError:
    """The event as it will be sent, or TikTok's rule it breaks (BAD_INPUT)."""
    c = request.conversion
    event: dict[str, Any] = {"event": event_name_of(request)}
    if c.HasField("event_time"):
        event["event_time"] = int(c.event_time.seconds)
    event["event_id"] = event_id_of(request)
    user = _user(request)
    if user:
        event["user"] = user
    properties = _properties(request)
    if properties:
        event["properties"] = properties
    page = {k: v for k, v in (("url", c.page_url), ("referrer", c.referrer_url)) if v}
    if page:
        event["page"] = page
    refusal = rules.refusal(event, now)
    if refusal is not None:
        return PlatformError(ErrorClass.BAD_INPUT, refusal.code, refusal.message)
    # Within the tolerated skew, a time ahead of ours is sent as now.
    event["event_time"] = min(event["event_time"], int(now.timestamp()))
    return event


def _user(request: events_pb2.DispatchRequested) -> dict[str, Any]:
    c = request.conversion
    hashed = c.user_data.tiktok
    user: dict[str, Any] = {}
    for name in rules.HASHED_USER_FIELDS:
        value = getattr(hashed, name)
        if value:
            user[name] = [value]  # rules.refusal makes sure it is a SHA-256 before it goes
    for key, value in (
        ("ttclid", c.click_ids.ttclid),
        ("ttp", c.click_ids.ttp),
        ("ip", c.client_ip),
        ("user_agent", c.user_agent),
    ):
        if value:
            user[key] = value
    return user


def _properties(request: events_pb2.DispatchRequested) -> dict[str, Any]:
    c = request.conversion
    properties: dict[str, Any] = {}
    if c.value:
        value = json_number(c.value)
        properties["value"] = c.value if value is None else value  # text: refused, not sent
    if c.currency:
        properties["currency"] = c.currency.upper()
    if c.order_id:
        properties["order_id"] = c.order_id
    contents = []
    for item in c.items:
        if not item.id:
            continue
        line: dict[str, Any] = {"content_id": item.id, "quantity": max(item.quantity, 1)}
        price = json_number(item.price) if item.price else None
        if price is not None:
            line["price"] = price
        for key, label in (
            ("content_name", item.name),
            ("brand", item.brand),
            ("content_category", item.category),
        ):
            if label:
                line[key] = label
        contents.append(line)
    if contents:
        properties["contents"] = contents
        properties["content_type"] = "product"
    return properties
