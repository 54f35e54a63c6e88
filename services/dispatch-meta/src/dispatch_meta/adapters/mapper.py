"""DispatchRequested (hashed conversion) -> one Meta server event, or why Meta cannot take it.

Field by field per platform-contracts.md §1.3-§1.6. Personal identifiers are sent only as the
Meta-rule SHA-256 hashes ingest computed; anything that is not 64 lowercase hex fails the event
(it would be plain personal data) and is never sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from convhub.events.v1 import events_pb2
from dispatch_meta.domain import events, rules
from hubkit.dispatch.model import ErrorClass, PlatformError

# HashedIdentifiers field -> Meta user_data key (all hashed, sent as one-element lists).
HASHED_KEYS = (
    ("email", "em"),
    ("phone", "ph"),
    ("first_name", "fn"),
    ("last_name", "ln"),
    ("gender", "ge"),
    ("date_of_birth", "db"),
    ("city", "ct"),
    ("state", "st"),
    ("zip", "zp"),
    ("country", "country"),
    ("external_id", "external_id"),
)


def bad(message: str, code: str = "INVALID") -> PlatformError:
    return PlatformError(ErrorClass.BAD_INPUT, code, message)


def event_id_of(request: events_pb2.DispatchRequested) -> str:
    """Meta's dedupe key part: ingest's stable event_id, else convhub's conversion id."""
    conversion = request.conversion
    return conversion.event_id or conversion.conversion_id or request.conversion_id


def to_server_event(
    request: events_pb2.DispatchRequested, now: datetime
) -> dict[str, Any] | PlatformError:
    """The `data[i]` object for this request, or a BAD_INPUT / TOO_OLD / CONFIG refusal."""
    conversion = request.conversion
    if not conversion.HasField("event_time"):
        return bad("event_time is required", "REQUIRED")
    at = conversion.event_time.ToDatetime(UTC)
    if rules.too_old(at, now):
        return PlatformError(
            ErrorClass.TOO_OLD, "TOO_OLD", "event_time is more than 7 days old (Meta's limit)"
        )
    if rules.too_far_ahead(at, now):
        return bad("event_time is in the future", "IN_FUTURE")
    name = events.event_name(conversion.event_type, request.target.event_name)
    if name is None:
        return bad("event_type gives no valid Meta event name", "INVALID_EVENT_NAME")
    event_id = event_id_of(request)
    source = events.action_source(conversion.action_source, bool(conversion.page_url))
    if source == "website" and not (conversion.page_url and conversion.user_agent):
        return bad(
            "website events need event_source_url (page_url) and client_user_agent",
            "WEBSITE_FIELDS",
        )

    user_data = _user_data(request, at)
    if isinstance(user_data, PlatformError):
        return user_data
    event: dict[str, Any] = {
        "event_name": name,
        "event_time": min(int(at.timestamp()), int(now.timestamp())),
        "event_id": event_id,
        "action_source": source,
        "user_data": user_data,
    }
    if conversion.page_url:
        event["event_source_url"] = conversion.page_url
    if conversion.referrer_url:
        event["referrer_url"] = conversion.referrer_url
    custom = _custom_data(request)
    if isinstance(custom, PlatformError):
        return custom
    if custom:
        event["custom_data"] = custom
    return event


def _user_data(
    request: events_pb2.DispatchRequested, at: datetime
) -> dict[str, Any] | PlatformError:
    conversion = request.conversion
    hashed = conversion.user_data.meta
    user: dict[str, Any] = {}
    for field, key in HASHED_KEYS:
        value = getattr(hashed, field)
        if not value:
            continue
        if not rules.is_hashed(value):
            # Never echo the value: it may be the plain personal data this check keeps out.
            return bad(f"user_data.meta.{field} is not a SHA-256 hash", "NOT_HASHED")
        user[key] = [value]
    if conversion.client_ip:
        user["client_ip_address"] = conversion.client_ip
    if conversion.user_agent:
        user["client_user_agent"] = conversion.user_agent
    clicks = conversion.click_ids
    if clicks.fbc:
        user["fbc"] = clicks.fbc
    elif clicks.fbclid:
        # The click time is unknown; the conversion cannot precede its click, so its time is
        # the closest bound we have.
        user["fbc"] = rules.fbc_from_fbclid(clicks.fbclid, int(at.timestamp() * 1000))
    if clicks.fbp:
        user["fbp"] = clicks.fbp
    if not user:
        return bad(
            "no customer information parameters (Meta requires at least one)",
            "INSUFFICIENT_USER_DATA",
        )
    return user


def _custom_data(request: events_pb2.DispatchRequested) -> dict[str, Any] | PlatformError:
    conversion = request.conversion
    custom: dict[str, Any] = {}
    if conversion.value:
        value = _number(conversion.value)
        if value is None:
            return bad("value is not a decimal number", "INVALID_VALUE")
        if len(conversion.currency) != 3 or not conversion.currency.isalpha():
            return bad("value needs an ISO 4217 currency", "INVALID_CURRENCY")
        custom["value"] = value
        custom["currency"] = conversion.currency.lower()  # the SDK's normalisation
    if conversion.order_id:
        custom["order_id"] = conversion.order_id
    contents = []
    for item in conversion.items:
        if not item.id:
            continue
        line: dict[str, Any] = {"id": item.id, "quantity": max(item.quantity, 1)}
        price = _number(item.price) if item.price else None
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


def _number(text: str) -> float | None:
    """A JSON number for an exact decimal string. Money has far fewer than the 15 significant
    digits a float keeps exactly, so the shortest float repr is the decimal itself."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return float(value)
