"""Meta's acceptance rules (docs/platforms.md §1.3-§1.7) as pure checks.

`refusal(event, now)` holds one mapped server event (`data[i]`, exactly what would be sent)
against every rule Graph enforces per event. Meta rejects a whole request for one bad event
(§1.11), so such an event is failed alone, before it is batched. A refusal's code is Meta's own
`code/subcode` where it is known (so a local refusal reads like Meta's answer would), else a
convhub code; its message names fields and rules, never values (they may be personal data).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from dispatch_meta.domain import events
from hubkit.pii import is_fbc, is_fbp

MAX_EVENTS_PER_REQUEST = 1000
MAX_EVENT_AGE = timedelta(days=7)
# §1.3: physical_store events may be uploaded within 62 days of the conversion.
MAX_STORE_EVENT_AGE = timedelta(days=62)
# A clock a little ahead of ours is tolerated (sent as "now"); more is the sender's bug.
FUTURE_SKEW = timedelta(minutes=5)
_AGE_SECONDS = MAX_EVENT_AGE.total_seconds()
_STORE_AGE_SECONDS = MAX_STORE_EVENT_AGE.total_seconds()
_SKEW_SECONDS = FUTURE_SKEW.total_seconds()

ACTION_SOURCES = frozenset(
    {
        "email",
        "website",
        "app",
        "phone_call",
        "chat",
        "physical_store",
        "system_generated",
        "business_messaging",
        "other",
    }
)
# convhub's hashed identifier (HashedIdentifiers field) -> Meta user_data key. §1.4: Meta
# requires these hashed; convhub sends external_id only as its SHA-256 as well (Meta merely
# recommends it): no plain identifier ever leaves.
HASHED_FIELDS = (
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
HASHED_KEYS = tuple(key for _, key in HASHED_FIELDS)
_HASHED_KEY_SET = frozenset(HASHED_KEYS)
CUSTOMER_INFORMATION_KEYS = frozenset(
    {
        *HASHED_KEYS,
        "client_ip_address",
        "client_user_agent",
        "fbc",
        "fbp",
        "subscription_id",
        "fb_login_id",
        "lead_id",
        "anon_id",
        "madid",
        "page_id",
        "page_scoped_user_id",
        "ctwa_clid",
        "ig_account_id",
        "ig_sid",
    }
)

# Meta's codes, as convhub reports them. §1.10: too old, insufficient customer information.
TOO_OLD_SUBCODE = 2804003
TOO_OLD = f"100/{TOO_OLD_SUBCODE}"  # "Event Timestamp Too Old"
INSUFFICIENT_USER_DATA = "100/2804050"
# Not (yet) in docs/platforms.md; Graph answers captured by third parties:
# "Click ID Incorrectly Formatted" (Adsmurai-Google-Tag-Manager-Templates/
# adsmurai-facebook-conversions-api-client#6) and "Missing Currency for Purchase Event"
# (same repository, #7).
CLICK_ID_FORMAT = "100/2804001"
MISSING_CURRENCY = "100/2804010"
# convhub's own codes where Meta's subcode is not known.
INVALID_EVENT_NAME = "INVALID_EVENT_NAME"
REQUIRED = "REQUIRED"
INVALID_EVENT_TIME = "INVALID_EVENT_TIME"
IN_FUTURE = "IN_FUTURE"
INVALID_ACTION_SOURCE = "INVALID_ACTION_SOURCE"
WEBSITE_FIELDS = "WEBSITE_FIELDS"
APP_DATA_REQUIRED = "APP_DATA_REQUIRED"
NOT_HASHED = "NOT_HASHED"
INVALID_FBP = "INVALID_FBP"
INVALID_CUSTOM_DATA = "INVALID_CUSTOM_DATA"
INVALID_CURRENCY = "INVALID_CURRENCY"
INVALID_VALUE = "INVALID_VALUE"
MISSING_VALUE = "MISSING_VALUE"

PURCHASE = "Purchase"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PIXEL = re.compile(r"^[0-9]{1,20}$")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why Meta would refuse one event: its code and a message free of personal data."""

    code: str
    message: str

    @property
    def too_old(self) -> bool:
        return self.code == TOO_OLD


def is_hashed(value: str) -> bool:
    """64 lowercase hex: the only form personal data may leave convhub in."""
    return _SHA256.match(value) is not None


def is_pixel_id(value: str) -> bool:
    return _PIXEL.match(value) is not None


def max_age(source: str) -> timedelta:
    """How old an event of this action_source may be when Meta receives it."""
    return MAX_STORE_EVENT_AGE if source == "physical_store" else MAX_EVENT_AGE


def fbc_from_fbclid(fbclid: str, click_time_ms: int) -> str:
    """`fb.<subdomain_index>.<creation_time_ms>.<fbclid>` (§1.4); subdomain index 1 = the
    registrable domain, the value Meta's own pixel writes for most sites."""
    return f"fb.1.{click_time_ms}.{fbclid}"


def refusal(event: Mapping[str, Any], now: datetime) -> Refusal | None:
    """The first rule `event` breaks, or None when Meta would take it."""
    for check in (_name, _time, _source, _user_data, _custom_data):
        found = check(event, now)
        if found is not None:
            return found
    return None


def refusal_in_time(event: Mapping[str, Any], now: datetime) -> Refusal | None:
    """What `refusal` can newly find in an event it passed earlier: only the time rules can
    change their verdict (the event got too old). For bytes frozen at intake, judged again
    just before they are sent."""
    return _time(event, now)


def _name(event: Mapping[str, Any], now: datetime) -> Refusal | None:
    name = event.get("event_name")
    if not isinstance(name, str) or not events.is_event_name(name):
        return Refusal(
            INVALID_EVENT_NAME,
            "event_name is required: a standard event or a custom name of 1-40 letters,"
            " digits, spaces, '_' or '-'",
        )
    return None


def _time(event: Mapping[str, Any], now: datetime) -> Refusal | None:
    at = event.get("event_time")
    if at is None:
        return Refusal(REQUIRED, "event_time is required")
    if isinstance(at, bool) or not isinstance(at, int):
        return Refusal(INVALID_EVENT_TIME, "event_time must be an integer (Unix seconds)")
    age = now.timestamp() - at
    source = event.get("action_source")
    limit = max_age(source if isinstance(source, str) else "")
    if age > (_STORE_AGE_SECONDS if limit is MAX_STORE_EVENT_AGE else _AGE_SECONDS):
        return Refusal(
            TOO_OLD,
            f"Event Timestamp Too Old: event_time is more than {limit.days} days in the past"
            " (Meta's limit)",
        )
    if -age > _SKEW_SECONDS:
        return Refusal(IN_FUTURE, "event_time is in the future")
    return None


def _source(event: Mapping[str, Any], now: datetime) -> Refusal | None:
    source = event.get("action_source")
    if source not in ACTION_SOURCES:
        return Refusal(INVALID_ACTION_SOURCE, "action_source is required, one of Meta's values")
    user = event.get("user_data")
    agent = user.get("client_user_agent") if _is_mapping(user) else None
    if source == "website" and not (event.get("event_source_url") and agent):
        return Refusal(
            WEBSITE_FIELDS,
            "website events need event_source_url (page_url) and client_user_agent",
        )
    if source == "app" and not _is_mapping(event.get("app_data")):
        return Refusal(
            APP_DATA_REQUIRED,
            "app events need app_data (advertiser_tracking_enabled,"
            " application_tracking_enabled, extinfo)",
        )
    return None


def _user_data(event: Mapping[str, Any], now: datetime) -> Refusal | None:
    user = event.get("user_data")
    if not _is_mapping(user):
        user = {}
    informed = False  # any customer information at all
    for key, value in user.items():
        if key in _HASHED_KEY_SET and not _hashed(value):
            for field, hashed_key in HASHED_FIELDS:  # the first one in field order
                if hashed_key in user and not _hashed(user[hashed_key]):
                    # Named by convhub's field, where the fix belongs. Never echo the value:
                    # it may be the plain personal data this check keeps out.
                    return Refusal(NOT_HASHED, f"user_data.meta.{field} is not a SHA-256 hash")
        if value and key in CUSTOMER_INFORMATION_KEYS:
            informed = True
    if "fbc" in user and not is_fbc(user["fbc"]):
        return Refusal(
            CLICK_ID_FORMAT,
            "Click ID Incorrectly Formatted: fbc must be"
            " fb.<subdomain index>.<creation time ms>.<fbclid>[.<appendix>]",
        )
    if "fbp" in user and not is_fbp(user["fbp"]):
        return Refusal(
            INVALID_FBP,
            "fbp must be fb.<subdomain index>.<creation time ms>.<random>[.<appendix>]",
        )
    if not informed:
        return Refusal(
            INSUFFICIENT_USER_DATA,
            "no customer information parameters (Meta requires at least one)",
        )
    return None


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(value, (dict, Mapping))  # dict first: far cheaper than the ABC


def _hashed(value: Any) -> bool:
    """A user_data value (one string or a list of them) that is only SHA-256 hashes."""
    for v in value if isinstance(value, list) else (value,):
        if not (isinstance(v, str) and _SHA256.match(v)):
            return False
    return True


def _custom_data(event: Mapping[str, Any], now: datetime) -> Refusal | None:
    custom = event.get("custom_data", {})
    if not _is_mapping(custom):
        return Refusal(INVALID_CUSTOM_DATA, "custom_data must be an object")
    currency = custom.get("currency")
    if currency is not None and not _is_currency(currency):
        return Refusal(INVALID_CURRENCY, "currency must be an ISO 4217 code of 3 letters")
    value = custom.get("value")
    if value is not None and not _is_number(value):
        return Refusal(INVALID_VALUE, "value must be a finite number")
    if event.get("event_name") == PURCHASE:
        if currency is None:
            return Refusal(
                MISSING_CURRENCY,
                "Missing Currency for Purchase Event: a Purchase needs custom_data.currency"
                " (ISO 4217, e.g. USD)",
            )
        if value is None:
            return Refusal(MISSING_VALUE, "a Purchase needs custom_data.value")
    elif value is not None and currency is None:
        return Refusal(INVALID_CURRENCY, "value needs an ISO 4217 currency")
    return None


def _is_currency(value: object) -> bool:
    return isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
