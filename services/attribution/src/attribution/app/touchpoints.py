"""Touchpoints in: each checked field by field, its channel derived when not given, its id
derived when not given; bad items get errors and never reject their neighbours."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from convhub.common.v1 import common_pb2
from hubkit.errors import FieldError
from hubkit.naming import is_site_id

CHANNEL = re.compile(r"[a-z][a-z0-9_]{0,39}")
SHA256 = re.compile(r"[0-9a-f]{64}")
PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]*")
MAX_TEXT = 256
MAX_USER_KEYS = 10
FUTURE_SKEW = timedelta(minutes=5)

INTERACTIONS = {
    common_pb2.INTERACTION_TYPE_UNSPECIFIED: "click",
    common_pb2.INTERACTION_TYPE_CLICK: "click",
    common_pb2.INTERACTION_TYPE_VIEW: "view",
    common_pb2.INTERACTION_TYPE_IMPRESSION: "impression",
    common_pb2.INTERACTION_TYPE_SURVEY: "survey",
}
_PAID_SEARCH = {"cpc", "ppc", "paidsearch", "paid_search", "sem"}
_PAID_SOCIAL = {"paid_social", "paidsocial", "social_paid", "cpm_social"}
_DISPLAY = {"display", "banner", "cpm", "programmatic"}
_SOCIAL = {"facebook", "instagram", "tiktok", "linkedin", "twitter", "x", "pinterest", "reddit"}
_SEARCH = {"google", "bing", "duckduckgo", "yahoo", "ecosia", "baidu", "yandex"}


@dataclass(frozen=True, slots=True)
class CheckedTouchpoint:
    """A touchpoint ready to store."""

    site_id: str
    touchpoint_id: str
    visitor_id: str
    user_keys: tuple[str, ...]
    channel: str
    campaign: str
    interaction: str
    occurred_at: datetime


def check(
    t: common_pb2.Touchpoint, site_id: str, now: datetime
) -> CheckedTouchpoint | list[FieldError]:
    """The touchpoint to store, or every problem of it (values never echoed)."""
    errors: list[FieldError] = []
    site = t.site_id or site_id
    if t.site_id and site_id and t.site_id != site_id:
        errors.append(FieldError("site_id", "MISMATCH", "must equal the request's site_id"))
    elif not site:
        errors.append(FieldError("site_id", "REQUIRED", "site_id is required"))
    elif not is_site_id(site):
        errors.append(FieldError("site_id", "INVALID_FORMAT", "not a site id"))
    keys = tuple(k.strip().lower() for k in t.user_keys if k.strip())
    if not t.visitor_id and not keys:
        errors.append(
            FieldError("visitor_id", "REQUIRED", "a visitor id or hashed user keys are required")
        )
    if len(keys) > MAX_USER_KEYS:
        errors.append(FieldError("user_keys", "TOO_MANY", f"at most {MAX_USER_KEYS}"))
    if any(not SHA256.fullmatch(k) for k in keys):
        errors.append(FieldError("user_keys", "INVALID_FORMAT", "SHA-256 hex digests only"))
    at: datetime | None = None
    if not t.HasField("occurred_at"):
        errors.append(FieldError("occurred_at", "REQUIRED", "occurred_at is required"))
    else:
        try:
            at = t.occurred_at.ToDatetime(tzinfo=now.tzinfo)
        except (ValueError, OverflowError):
            errors.append(FieldError("occurred_at", "OUT_OF_RANGE", "not a representable time"))
            at = None
        if at is not None and at > now + FUTURE_SKEW:
            errors.append(FieldError("occurred_at", "IN_FUTURE", "more than 5 min ahead"))
    channel = t.channel.strip() or derive_channel(t)
    if not CHANNEL.fullmatch(channel):
        errors.append(FieldError("channel", "INVALID_FORMAT", "lower snake case, <= 40 chars"))
    for name in ("touchpoint_id", "visitor_id", "campaign", "source", "medium"):
        value = getattr(t, name)
        if len(value) > MAX_TEXT:
            errors.append(FieldError(name, "TOO_LONG", f"at most {MAX_TEXT} characters"))
        elif not PRINTABLE.fullmatch(value):
            errors.append(FieldError(name, "INVALID_FORMAT", "control characters"))
    if t.interaction not in INTERACTIONS:
        errors.append(FieldError("interaction", "INVALID_VALUE", "unknown interaction type"))
    if errors or at is None:
        return errors
    touchpoint_id = t.touchpoint_id or derived_id(site, t.visitor_id, at, channel, t.campaign)
    return CheckedTouchpoint(
        site_id=site,
        touchpoint_id=touchpoint_id,
        visitor_id=t.visitor_id,
        user_keys=keys,
        channel=channel,
        campaign=t.campaign,
        interaction=INTERACTIONS[t.interaction],
        occurred_at=at,
    )


def derived_id(site: str, visitor: str, at: datetime, channel: str, campaign: str) -> str:
    """Stable for the same visit, so a resent touchpoint is a duplicate."""
    text = "\x1f".join((site, visitor, at.isoformat(), channel, campaign))
    return "tp_" + hashlib.sha256(text.encode()).hexdigest()[:32]


def derive_channel(t: common_pb2.Touchpoint) -> str:
    """The channel grouping from click ids, utm_medium and utm_source (GA4-like defaults)."""
    ids = t.click_ids
    medium, source = t.medium.strip().lower(), t.source.strip().lower()
    if ids.gclid or ids.gbraid or ids.wbraid or medium in _PAID_SEARCH:
        return "paid_search"
    if ids.fbclid or ids.fbc or ids.ttclid or medium in _PAID_SOCIAL:
        return "paid_social"
    if medium in _DISPLAY:
        return "display"
    if medium in ("email", "e-mail", "newsletter"):
        return "email"
    if medium == "affiliate":
        return "affiliate"
    if source in _SOCIAL or medium in ("social", "social-network", "social_network"):
        return "organic_social"
    if medium == "organic" or source in _SEARCH:
        return "organic_search"
    if medium == "referral" or t.referrer_url:
        return "referral"
    return "direct"
