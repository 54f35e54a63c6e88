"""DispatchRequested (hashed conversion) -> one Data Manager event (docs/platforms.md
§2B.4-§2B.6) or one Ads API click conversion (§2.4-§2.6), or why Google cannot take it.

Both are returned exactly as they will be sent: the engine freezes their bytes at intake and
resends those bytes, so a retry never restates a conversion (§2B.11). Personal identifiers go
only as the Google-rule SHA-256 hashes ingest computed; anything else fails the event, never
sent. Times are whole seconds in both APIs, so one conversion has one time whichever carries it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from dispatch_google.domain import rules
from dispatch_google.domain.model import parse_action
from hubkit.dispatch.model import PlatformError
from hubkit.money import json_number
from hubkit.vocabulary import ErrorClass

# ActionSource -> Data Manager eventSource; anything else is OTHER.
EVENT_SOURCES = {
    common_pb2.ACTION_SOURCE_UNSPECIFIED: "WEB",
    common_pb2.ACTION_SOURCE_WEBSITE: "WEB",
    common_pb2.ACTION_SOURCE_APP: "APP",
    common_pb2.ACTION_SOURCE_PHYSICAL_STORE: "IN_STORE",
    common_pb2.ACTION_SOURCE_PHONE_CALL: "PHONE",
    common_pb2.ACTION_SOURCE_CHAT: "MESSAGE",
    common_pb2.ACTION_SOURCE_EMAIL: "MESSAGE",
}
DM_CONSENT = {
    common_pb2.CONSENT_STATUS_GRANTED: "CONSENT_GRANTED",
    common_pb2.CONSENT_STATUS_DENIED: "CONSENT_DENIED",
}
ADS_CONSENT = {
    common_pb2.CONSENT_STATUS_GRANTED: "GRANTED",
    common_pb2.CONSENT_STATUS_DENIED: "DENIED",
}
NO_ACTION = "CONVERSION_ACTION"


def transaction_id_of(request: events_pb2.DispatchRequested) -> str:
    """Google's key for one conversion (Data Manager transactionId, Ads API orderId): the order
    id, else ingest's stable event id, else convhub's conversion id. Never empty: a resend
    without it would be a second conversion (§2B.11)."""
    c = request.conversion
    return c.order_id or c.event_id or c.conversion_id or request.conversion_id


event_id_of = transaction_id_of  # the engine's dedupe key is Google's


def destination_of(request: events_pb2.DispatchRequested) -> tuple[str, str] | None:
    """(operating account, conversion action id): the account that owns the action (§2B.3),
    the target's customer id for a bare action id; None when the target names no usable one."""
    parsed = parse_action(request.target.conversion_action)
    if parsed is None:
        return None
    owner, action = parsed
    return owner or request.target.account_id, action


def refused(refusal: rules.Refusal) -> PlatformError:
    """Google's rule as the engine's error: TOO_OLD for the age rule, else BAD_INPUT."""
    error_class = ErrorClass.TOO_OLD if refusal.too_old else ErrorClass.BAD_INPUT
    return PlatformError(error_class, refusal.code, refusal.message)


def to_dm_event(
    request: events_pb2.DispatchRequested, now: datetime
) -> dict[str, Any] | PlatformError:
    """The Data Manager `events[i]` object, or why it cannot go (CONFIG, BAD_INPUT, TOO_OLD)."""
    if destination_of(request) is None:
        return _no_action()
    c = request.conversion
    at = int(c.event_time.seconds) if c.HasField("event_time") else None
    event: dict[str, Any] = {"transactionId": transaction_id_of(request)}
    if at is not None:
        event["eventTimestamp"] = _rfc3339(at)
    event["eventSource"] = EVENT_SOURCES.get(c.action_source, "OTHER")
    _money(event, c, "conversionValue", "currency")
    click = _click_id(c.click_ids)
    if click is not None:
        event["adIdentifiers"] = {click[0]: click[1]}
    device = {k: v for k, v in (("userAgent", c.user_agent), ("ipAddress", c.client_ip)) if v}
    if device:
        event["eventDeviceInfo"] = device
    hashed = c.user_data.google
    identifiers = [
        {key: value}
        for key, value in (("emailAddress", hashed.email), ("phoneNumber", hashed.phone))
        if value
    ]
    if identifiers:
        event["userData"] = {"userIdentifiers": identifiers}
    consent = {
        key: DM_CONSENT[status]
        for key, status in (
            ("adUserData", c.consent.ad_user_data),
            ("adPersonalization", c.consent.ad_personalization),
        )
        if status in DM_CONSENT
    }
    if consent:
        event["consent"] = consent
    items = _items(c, "merchantProductId", str)  # int64: a JSON string
    if items:
        event["cartData"] = {"items": items}
    refusal = rules.dm_refusal(event, now)
    if refusal is not None:
        return refused(refusal)
    _not_ahead(event, "eventTimestamp", at, now, _rfc3339)
    return event


def to_ads_conversion(
    request: events_pb2.DispatchRequested, now: datetime
) -> dict[str, Any] | PlatformError:
    """The Ads API `conversions[i]` object, or why it cannot go. No IP address or session
    attributes: they draw CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE since 2026-02-02 (§2.4)."""
    destination = destination_of(request)
    if destination is None:
        return _no_action()
    c = request.conversion
    at = int(c.event_time.seconds) if c.HasField("event_time") else None
    conversion: dict[str, Any] = {}
    click = _click_id(c.click_ids)
    if click is not None:
        conversion[click[0]] = click[1]
    owner, action = destination
    conversion["conversionAction"] = f"customers/{owner}/conversionActions/{action}"
    if at is not None:
        conversion["conversionDateTime"] = _ads_time(at)
    _money(conversion, c, "conversionValue", "currencyCode")
    conversion["orderId"] = transaction_id_of(request)
    hashed = c.user_data.google
    identifiers = [
        {"userIdentifierSource": "FIRST_PARTY", key: value}
        for key, value in (("hashedEmail", hashed.email), ("hashedPhoneNumber", hashed.phone))
        if value
    ]
    if identifiers:
        conversion["userIdentifiers"] = identifiers
    # Only adUserData: ad_personalization is for other services (§2.6).
    if c.consent.ad_user_data in ADS_CONSENT:
        conversion["consent"] = {"adUserData": ADS_CONSENT[c.consent.ad_user_data]}
    items = _items(c, "productId", int)
    if items:
        conversion["cartData"] = {"items": items}
    refusal = rules.ads_refusal(conversion, now)
    if refusal is not None:
        return refused(refusal)
    _not_ahead(conversion, "conversionDateTime", at, now, _ads_time)
    return conversion


def _no_action() -> PlatformError:
    return PlatformError(
        ErrorClass.CONFIG,
        NO_ACTION,
        "the site's Google destination names no conversion action for this event type"
        " (customers/<customer id>/conversionActions/<id>)",
    )


def _click_id(ids: common_pb2.ClickIds) -> tuple[str, str] | None:
    """One click id, the most precise: Google takes one (gbraid with wbraid is refused)."""
    for name in rules.CLICK_IDS:
        value: str = getattr(ids, name)
        if value:
            return name, value
    return None


def _money(
    target: dict[str, Any], c: common_pb2.HashedConversion, value_key: str, currency_key: str
) -> None:
    if c.value:  # an explicit "0" is sent
        target[value_key] = _number(c.value)
    if c.currency:
        target[currency_key] = c.currency.upper()


def _items(
    c: common_pb2.HashedConversion, product_key: str, quantity: Callable[[int], Any]
) -> list[dict[str, Any]]:
    lines = []
    for item in c.items:
        if not item.id:  # nothing Google could match it to
            continue
        line: dict[str, Any] = {product_key: item.id, "quantity": quantity(max(item.quantity, 1))}
        if item.price:
            line["unitPrice"] = _number(item.price)
        lines.append(line)
    return lines


def _number(text: str) -> float | str:
    """The JSON number; text that is none stays text, for the rules to refuse (never sent)."""
    value = json_number(text)
    return text if value is None else value


def _not_ahead(
    event: dict[str, Any], key: str, at: int | None, now: datetime, form: Callable[[int], str]
) -> None:
    """Within the tolerated skew, a time ahead of ours is sent as now."""
    current = int(now.timestamp())
    if at is not None and at > current:
        event[key] = form(current)


def _rfc3339(seconds: int) -> str:
    return _format("%Y-%m-%dT%H:%M:%SZ", seconds)


def _ads_time(seconds: int) -> str:
    return _format("%Y-%m-%d %H:%M:%S+00:00", seconds)


def _format(pattern: str, seconds: int) -> str:
    try:
        return time.strftime(pattern, time.gmtime(seconds))
    except (OverflowError, OSError, ValueError):  # no date: the rules refuse the empty text
        return ""
