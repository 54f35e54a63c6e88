"""What Google refuses per event, judged on the mapped event: Data Manager's fast-fail rules
(docs/platforms.md §2B.4-§2B.9) and the Ads API's per-row rules (§2.3-§2.9).

Data Manager fails a whole request for one bad event (§2B.9), so a refused event fails at
intake, alone, with Google's reason code. Where Google publishes no code for a rule (the Ads
API's time and currency checks) the Data Manager one is used for both APIs. Messages name
fields, never values: a value may be personal data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MAX_EVENTS_PER_REQUEST = 2000  # both APIs (§2.3, §2B.7)
MAX_DM_IDENTIFIERS = 10  # userData.userIdentifiers (§2B.5)
MAX_ADS_IDENTIFIERS = 5  # userIdentifiers of one click conversion (§2.4)
FUTURE_SKEW = timedelta(minutes=5)  # ours: Google publishes no tolerance (§2B.7)
# The longest click-through window: Data Manager reports older events only later
# (EVENT_TOO_OLD, §2B.10) and the Ads API as EXPIRED_EVENT; convhub refuses them at intake.
MAX_EVENT_AGE = timedelta(days=90)

CLICK_IDS = ("gclid", "gbraid", "wbraid")  # the most precise first
DM_EVENT_SOURCES = frozenset({"WEB", "APP", "IN_STORE", "PHONE", "MESSAGE", "OTHER"})
DM_CONSENT = frozenset({"CONSENT_GRANTED", "CONSENT_DENIED"})
ADS_CONSENT = frozenset({"GRANTED", "DENIED"})
DM_IDENTIFIER_KEYS = frozenset({"emailAddress", "phoneNumber"})
ADS_IDENTIFIER_KEYS = frozenset({"hashedEmail", "hashedPhoneNumber"})

# Google's codes (§2B.9 ErrorReason, §2.9 ConversionUploadError, §2B.10 processing reasons).
REQUIRED_FIELD_MISSING = "REQUIRED_FIELD_MISSING"
EVENT_TIME_INVALID = "EVENT_TIME_INVALID"
EVENT_TOO_OLD = "EVENT_TOO_OLD"
EXPIRED_EVENT = "EXPIRED_EVENT"
INVALID_ENUM_VALUE = "INVALID_ENUM_VALUE"
NO_IDENTIFIERS_PROVIDED = "NO_IDENTIFIERS_PROVIDED"
GBRAID_WBRAID_BOTH_SET = "GBRAID_WBRAID_BOTH_SET"
TOO_MANY_USER_IDENTIFIERS = "TOO_MANY_USER_IDENTIFIERS"
INVALID_USER_IDENTIFIER = "INVALID_USER_IDENTIFIER"
UNSUPPORTED_USER_IDENTIFIER = "UNSUPPORTED_USER_IDENTIFIER"
INVALID_HEX_ENCODING = "INVALID_HEX_ENCODING"
INVALID_SHA256_FORMAT = "INVALID_SHA256_FORMAT"
INVALID_CURRENCY_CODE = "INVALID_CURRENCY_CODE"
INVALID_NUMBER_FORMAT = "INVALID_NUMBER_FORMAT"

_DM_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})\Z", re.ASCII
)
_ADS_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}\Z", re.ASCII)
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+\Z")  # Data Manager decodes hex case-insensitively
_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")  # the Ads API wants lowercase hex (§2.5)
_CURRENCY = re.compile(r"^[A-Z]{3}\Z")
_INT64 = re.compile(r"^-?\d{1,19}\Z", re.ASCII)  # int64 travels as a JSON string (§2B.5)

Event = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why Google would refuse one event: its code and a message free of personal data."""

    code: str
    message: str
    too_old: bool = False  # TOO_OLD (no resend can ever help), else BAD_INPUT


def dm_refusal(event: Event, now: datetime) -> Refusal | None:
    """The first rule the Data Manager `events[i]` object breaks, or None."""
    return dm_refusal_in_time(event, now) or _first(event, _DM_RULES)


def ads_refusal(conversion: Event, now: datetime) -> Refusal | None:
    """The first rule the Ads API `conversions[i]` object breaks, or None."""
    return ads_refusal_in_time(conversion, now) or _first(conversion, _ADS_RULES)


def dm_refusal_in_time(event: Event, now: datetime) -> Refusal | None:
    """The only rules whose verdict time changes: for bytes frozen at intake, judged again
    before they are sent (by now too old: TOO_OLD, never sent)."""
    return _time(event.get("eventTimestamp"), "eventTimestamp", _DM_TIME, EVENT_TOO_OLD, now)


def ads_refusal_in_time(conversion: Event, now: datetime) -> Refusal | None:
    """As `dm_refusal_in_time`, for an Ads API conversion."""
    at = conversion.get("conversionDateTime")
    return _time(at, "conversionDateTime", _ADS_TIME, EXPIRED_EVENT, now)


def _first(event: Event, rules: Sequence[Callable[[Event], Refusal | None]]) -> Refusal | None:
    for rule in rules:
        found = rule(event)
        if found is not None:
            return found
    return None


def _time(
    value: Any, name: str, form: re.Pattern[str], too_old: str, now: datetime
) -> Refusal | None:
    if value is None:
        return Refusal(REQUIRED_FIELD_MISSING, f"{name} is required")
    at = _parse_time(value, form)
    if at is None:
        return Refusal(EVENT_TIME_INVALID, f"{name} is no valid date-time with a UTC offset")
    if now - at > MAX_EVENT_AGE:
        return Refusal(
            too_old,
            f"{name} is more than {MAX_EVENT_AGE.days} days in the past (the longest"
            " click-through window Google Ads allows)",
            too_old=True,
        )
    if at - now > FUTURE_SKEW:
        return Refusal(EVENT_TIME_INVALID, f"{name} is in the future")
    return None


def _parse_time(value: Any, form: re.Pattern[str]) -> datetime | None:
    if not isinstance(value, str) or not form.match(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # well formed, yet no date (month 13)
        return None


# --- Data Manager (§2B.4-§2B.6) ------------------------------------------------------------


def _dm_transaction(event: Event) -> Refusal | None:
    if not _text(event.get("transactionId")):
        return Refusal(
            REQUIRED_FIELD_MISSING,
            "transactionId is required: without it a resend is a second conversion",
        )
    return None


def _dm_source(event: Event) -> Refusal | None:
    source = event.get("eventSource")
    if source is None:
        return Refusal(REQUIRED_FIELD_MISSING, "eventSource is required for offline conversions")
    if source not in DM_EVENT_SOURCES:
        return Refusal(INVALID_ENUM_VALUE, "eventSource is not one of Data Manager's values")
    return None


def _dm_identifiers(event: Event) -> Refusal | None:
    ads = event.get("adIdentifiers")
    if not event.get("userData") and not ads:
        return Refusal(
            NO_IDENTIFIERS_PROVIDED, "an event needs userData or adIdentifiers (a click id)"
        )
    return _braids(ads, "adIdentifiers.") if isinstance(ads, Mapping) else None


def _dm_user_data(event: Event) -> Refusal | None:
    user = event.get("userData")
    if user is None:
        return None
    found = user.get("userIdentifiers") if isinstance(user, Mapping) else None
    if not isinstance(found, list) or not found:
        return Refusal(REQUIRED_FIELD_MISSING, "userData needs userIdentifiers")
    if len(found) > MAX_DM_IDENTIFIERS:
        return Refusal(
            TOO_MANY_USER_IDENTIFIERS,
            f"userData.userIdentifiers holds more than {MAX_DM_IDENTIFIERS} identifiers",
        )
    for i, entry in enumerate(found):
        name = f"userData.userIdentifiers[{i}]"
        keys = list(entry) if isinstance(entry, Mapping) else []
        if len(keys) != 1 or keys[0] not in DM_IDENTIFIER_KEYS:
            return Refusal(
                INVALID_USER_IDENTIFIER, f"{name} must hold one of {_names(DM_IDENTIFIER_KEYS)}"
            )
        value = entry[keys[0]]
        if not isinstance(value, str) or not _HEX.match(value):
            return Refusal(INVALID_HEX_ENCODING, f"{name}.{keys[0]} is not HEX encoded")
        if len(value) != 64:
            return Refusal(INVALID_SHA256_FORMAT, f"{name}.{keys[0]} is not a SHA-256 hash")
    return None


def _dm_money(event: Event) -> Refusal | None:
    return _money(event, "conversionValue", "currency")


def _dm_consent(event: Event) -> Refusal | None:
    return _consent(event, ("adUserData", "adPersonalization"), DM_CONSENT)


def _dm_cart(event: Event) -> Refusal | None:
    return _cart(event, "merchantProductId", _is_int64_text)


_DM_RULES = (
    _dm_transaction,
    _dm_source,
    _dm_identifiers,
    _dm_user_data,
    _dm_money,
    _dm_consent,
    _dm_cart,
)


# --- Ads API (§2.3-§2.6) -------------------------------------------------------------------


def _ads_action(conversion: Event) -> Refusal | None:
    if not _text(conversion.get("conversionAction")):
        return Refusal(REQUIRED_FIELD_MISSING, "conversionAction is required")
    return None


def _ads_identifiers(conversion: Event) -> Refusal | None:
    if not conversion.get("userIdentifiers") and not any(conversion.get(k) for k in CLICK_IDS):
        return Refusal(
            NO_IDENTIFIERS_PROVIDED,
            "a click conversion needs a click id (gclid, gbraid or wbraid) or userIdentifiers",
        )
    return _braids(conversion, "")


def _ads_user_identifiers(conversion: Event) -> Refusal | None:
    found = conversion.get("userIdentifiers")
    if found is None:
        return None
    if not isinstance(found, list):
        return Refusal(INVALID_USER_IDENTIFIER, "userIdentifiers must be a list")
    if len(found) > MAX_ADS_IDENTIFIERS:
        return Refusal(
            TOO_MANY_USER_IDENTIFIERS,
            f"userIdentifiers holds more than {MAX_ADS_IDENTIFIERS} identifiers",
        )
    for i, entry in enumerate(found):
        name = f"userIdentifiers[{i}]"
        keys = (
            [k for k in entry if k != "userIdentifierSource"] if isinstance(entry, Mapping) else []
        )
        if len(keys) != 1 or keys[0] not in ADS_IDENTIFIER_KEYS:
            return Refusal(
                UNSUPPORTED_USER_IDENTIFIER,
                f"{name} must hold one of {_names(ADS_IDENTIFIER_KEYS)}",
            )
        value = entry[keys[0]]
        if not isinstance(value, str) or not _SHA256.match(value):
            return Refusal(
                INVALID_USER_IDENTIFIER,
                f"{name}.{keys[0]} is not a SHA-256 hash (64 lowercase hex)",
            )
    return None


def _ads_money(conversion: Event) -> Refusal | None:
    return _money(conversion, "conversionValue", "currencyCode")


def _ads_consent(conversion: Event) -> Refusal | None:
    return _consent(conversion, ("adUserData",), ADS_CONSENT)


def _ads_cart(conversion: Event) -> Refusal | None:
    return _cart(conversion, "productId", _is_int)


_ADS_RULES = (
    _ads_action,
    _ads_identifiers,
    _ads_user_identifiers,
    _ads_money,
    _ads_consent,
    _ads_cart,
)


# --- shared --------------------------------------------------------------------------------


def _braids(ids: Mapping[str, Any], prefix: str) -> Refusal | None:
    if ids.get("gbraid") and ids.get("wbraid"):
        return Refusal(
            GBRAID_WBRAID_BOTH_SET, f"{prefix}gbraid and {prefix}wbraid are both set: send one"
        )
    return None


def _money(event: Event, value_key: str, currency_key: str) -> Refusal | None:
    currency = event.get(currency_key)
    if currency is not None and not (isinstance(currency, str) and _CURRENCY.match(currency)):
        return Refusal(INVALID_CURRENCY_CODE, f"{currency_key} must be an ISO 4217 code")
    if value_key in event and not _is_number(event[value_key]):
        return Refusal(INVALID_NUMBER_FORMAT, f"{value_key} must be a finite number")
    return None


def _consent(event: Event, keys: Sequence[str], allowed: frozenset[str]) -> Refusal | None:
    consent = event.get("consent")
    if consent is None:
        return None
    for key in keys:
        value = consent.get(key) if isinstance(consent, Mapping) else ""
        if value is not None and value not in allowed:
            return Refusal(INVALID_ENUM_VALUE, f"consent.{key} must be one of {_names(allowed)}")
    return None


def _cart(event: Event, product_key: str, quantity_ok: Callable[[Any], bool]) -> Refusal | None:
    cart = event.get("cartData")
    items = cart.get("items") if isinstance(cart, Mapping) else None
    for i, item in enumerate(items or ()):
        name = f"cartData.items[{i}]"
        if not isinstance(item, Mapping) or not _text(item.get(product_key)):
            return Refusal(REQUIRED_FIELD_MISSING, f"{name}.{product_key} is required")
        if "quantity" in item and not quantity_ok(item["quantity"]):
            return Refusal(INVALID_NUMBER_FORMAT, f"{name}.quantity must be an integer")
        if "unitPrice" in item and not _is_number(item["unitPrice"]):
            return Refusal(INVALID_NUMBER_FORMAT, f"{name}.unitPrice must be a finite number")
    return None


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _names(values: frozenset[str]) -> str:
    return ", ".join(sorted(values))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_int64_text(value: Any) -> bool:
    return isinstance(value, str) and _INT64.match(value) is not None
