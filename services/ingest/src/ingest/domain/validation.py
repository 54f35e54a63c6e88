"""Field-level validation of a submitted conversion. Messages never echo personal data."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from hubkit import pii
from hubkit.errors import FieldError
from hubkit.naming import SITE_ID_RULE, is_site_id
from ingest.domain.currencies import ISO_4217
from ingest.domain.model import ConversionInput

EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,39}")
DECIMAL = re.compile(r"\d{1,15}(\.\d{1,6})?")
GOOGLE_CLICK_ID = re.compile(r"[A-Za-z0-9_\-]{10,256}")
PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]*")

MAX_ID = 128
MAX_URL = 2048
MAX_USER_AGENT = 1024
MAX_ITEMS = 200
MAX_CLICK_ID = 500
MAX_ITEM_TEXT = 256  # keeps one conversion, and so every batch message, bounded


@dataclass(frozen=True)
class Limits:
    max_age: timedelta = timedelta(days=90)
    future_skew: timedelta = timedelta(minutes=5)


class Errors(list[FieldError]):
    def add(self, field: str, code: str, message: str) -> None:
        self.append(FieldError(field, code, message))


def validate(c: ConversionInput, now: datetime, limits: Limits) -> list[FieldError]:
    errors = Errors()
    for field in c.unreadable:
        errors.add(field, "INVALID_VALUE", f"{field} has a value this API does not know")
    if not c.site_id:
        errors.add("site_id", "REQUIRED", "site_id is required")
    elif not is_site_id(c.site_id):
        errors.add("site_id", "INVALID_FORMAT", f"site_id must be {SITE_ID_RULE}")
    _text(errors, "order_id", c.order_id, MAX_ID, required=True)
    if not c.event_type:
        errors.add("event_type", "REQUIRED", "event_type is required")
    elif not EVENT_TYPE.fullmatch(c.event_type):
        errors.add(
            "event_type",
            "INVALID_FORMAT",
            "event_type must be lower snake case (e.g. purchase, lead, sign_up), <= 40 chars",
        )
    if c.event_id is not None:
        _text(errors, "event_id", c.event_id, MAX_ID, required=True)
    _event_time(errors, c.event_time, now, limits)
    _money(errors, c.value, c.currency)
    _url(errors, "page_url", c.page_url)
    _url(errors, "referrer_url", c.referrer_url)
    _text(errors, "visitor_id", c.visitor_id, MAX_ID)
    _items(errors, c)
    return errors


def identifier_problems(c: ConversionInput) -> list[FieldError]:
    """Problems of the identifiers a platform matches on (click ids, cookies, IP, user agent):
    each makes that identifier unusable, never the conversion (the caller leaves it out and
    warns). Personal data fields are hubkit.pii's to judge."""
    warnings = Errors()
    _click_ids(warnings, c.click_ids)
    if c.client_ip:
        try:
            ipaddress.ip_address(c.client_ip)
        except ValueError:
            warnings.add(
                "user_data.client_ip", "INVALID_FORMAT", "client_ip must be an IPv4 or IPv6"
            )
    _text(warnings, "user_data.user_agent", c.user_agent, MAX_USER_AGENT)
    return warnings


def _text(errors: Errors, field: str, value: str, limit: int, *, required: bool = False) -> None:
    if not value.strip():
        if required:
            errors.add(field, "REQUIRED", f"{field} is required")
        return
    if len(value) > limit:
        errors.add(field, "TOO_LONG", f"{field} is longer than {limit} characters")
    elif not PRINTABLE.fullmatch(value):
        errors.add(field, "INVALID_FORMAT", f"{field} contains control characters")


def _event_time(errors: Errors, event_time: datetime | None, now: datetime, limits: Limits) -> None:
    if event_time is None:
        errors.add("event_time", "REQUIRED", "event_time is required")
    elif event_time > now + limits.future_skew:
        errors.add(
            "event_time",
            "IN_FUTURE",
            f"event_time is more than {int(limits.future_skew.total_seconds())} s in the future",
        )
    elif event_time < now - limits.max_age:
        errors.add("event_time", "TOO_OLD", f"event_time is older than {limits.max_age.days} days")


def _money(errors: Errors, value: str, currency: str) -> None:
    if value:
        if value.startswith("-"):
            errors.add("value", "NEGATIVE", "value must not be negative")
        elif not DECIMAL.fullmatch(value):
            errors.add(
                "value",
                "INVALID_FORMAT",
                "value must be a plain decimal like 129.99 (<= 15 digits, <= 6 decimals)",
            )
        if not currency:
            errors.add("currency", "REQUIRED", "currency is required when value is set")
    if currency and currency not in ISO_4217:
        errors.add("currency", "INVALID_CURRENCY", "currency must be an ISO 4217 code like EUR")


def _click_ids(errors: Errors, ids: dict[str, str]) -> None:
    for name in ("gclid", "gbraid", "wbraid"):
        if ids.get(name) and not GOOGLE_CLICK_ID.fullmatch(ids[name]):
            errors.add(
                f"click_ids.{name}", "INVALID_FORMAT", f"{name} must be 10-256 of A-Z a-z 0-9 _ -"
            )
    # The one rule of hubkit.pii (Meta's 4 segments, or 5 with the Parameter Builder's appendix).
    if ids.get("fbc") and not pii.is_fbc(ids["fbc"]):
        errors.add(
            "click_ids.fbc", "INVALID_FORMAT", "fbc must look like fb.1.<ms time>.<fbclid>[.<ap>]"
        )
    if ids.get("fbp") and not pii.is_fbp(ids["fbp"]):
        errors.add(
            "click_ids.fbp", "INVALID_FORMAT", "fbp must look like fb.1.<ms time>.<number>[.<ap>]"
        )
    for name in ("fbclid", "ttclid", "ttp"):
        _text(errors, f"click_ids.{name}", ids.get(name, ""), MAX_CLICK_ID)


def _url(errors: Errors, field: str, value: str) -> None:
    if not value:
        return
    if len(value) > MAX_URL:
        errors.add(field, "TOO_LONG", f"{field} is longer than {MAX_URL} characters")
    elif not value.startswith(("https://", "http://")) or " " in value:
        errors.add(field, "INVALID_FORMAT", f"{field} must be an absolute http(s) URL")


def _items(errors: Errors, c: ConversionInput) -> None:
    if len(c.items) > MAX_ITEMS:
        errors.add("items", "TOO_MANY", f"at most {MAX_ITEMS} items")
        return
    for i, item in enumerate(c.items):
        if item.quantity < 0:
            errors.add(f"items[{i}].quantity", "NEGATIVE", "quantity must not be negative")
        if item.price:
            try:
                ok = DECIMAL.fullmatch(item.price) and Decimal(item.price) >= 0
            except InvalidOperation:
                ok = False
            if not ok:
                errors.add(f"items[{i}].price", "INVALID_FORMAT", "price must be a plain decimal")
        for name in ("id", "name", "brand", "category", "variant"):
            _text(errors, f"items[{i}].{name}", getattr(item, name), MAX_ITEM_TEXT)
