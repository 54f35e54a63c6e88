"""What TikTok refuses per event (docs/platforms.md §3.2, §3.8), judged on the mapped event:
a refused event fails at intake with TikTok's rule and never poisons a request."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MAX_EVENTS_PER_REQUEST = 1000  # more and TikTok rejects the whole request (§3.6)
FUTURE_SKEW = timedelta(minutes=5)  # ours: TikTok publishes no tolerance
HASHED_USER_FIELDS = ("email", "phone", "external_id")  # SHA-256 required (§3.2)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str  # names fields, never values


def refusal(event: Mapping[str, Any], now: datetime) -> Refusal | None:
    """Why TikTok would refuse `event` (the `data[i]` object), or None."""
    if not isinstance(event.get("event"), str) or not event["event"]:
        return Refusal("INVALID_EVENT", "event is required: a standard or custom event name")
    at = event.get("event_time")
    if isinstance(at, bool) or not isinstance(at, int):
        return Refusal("INVALID_EVENT_TIME", "event_time must be an integer (Unix seconds)")
    if at - now.timestamp() > FUTURE_SKEW.total_seconds():
        return Refusal("IN_FUTURE", "event_time is in the future")
    if not isinstance(event.get("event_id"), str) or not event["event_id"]:
        return Refusal("EVENT_ID_REQUIRED", "event_id is required (TikTok dedupes on it)")
    user = event.get("user")
    for name in HASHED_USER_FIELDS:
        values = user.get(name) if isinstance(user, Mapping) else None
        if values is not None and not all(isinstance(v, str) and _SHA256.match(v) for v in values):
            return Refusal("NOT_HASHED", f"user.{name} must be SHA-256 (64 lowercase hex)")
    properties = event.get("properties")
    if isinstance(properties, Mapping):
        value = properties.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return Refusal("INVALID_VALUE", "properties.value must be a number")
        currency = properties.get("currency")
        if currency is not None and not (isinstance(currency, str) and _CURRENCY.match(currency)):
            return Refusal("INVALID_CURRENCY", "properties.currency must be an ISO 4217 code")
        if value is not None and currency is None:
            return Refusal("CURRENCY_REQUIRED", "properties.value needs properties.currency")
        for i, item in enumerate(properties.get("contents") or ()):
            if not isinstance(item, Mapping) or not isinstance(item.get("content_id"), str):
                return Refusal(
                    "INVALID_CONTENT", f"properties.contents[{i}].content_id must be a string"
                )
    return None
