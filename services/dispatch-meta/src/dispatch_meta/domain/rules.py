"""Meta's acceptance rules (platform-contracts.md §1.3, §1.4, §1.7) as pure checks."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

MAX_EVENTS_PER_REQUEST = 1000
MAX_EVENT_AGE = timedelta(days=7)
# A clock a little ahead of ours is tolerated (sent as "now"); more is the sender's bug.
FUTURE_SKEW = timedelta(minutes=5)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PIXEL = re.compile(r"^[0-9]{1,20}$")


def is_hashed(value: str) -> bool:
    """64 lowercase hex: the only form personal data may leave convhub in."""
    return _SHA256.match(value) is not None


def is_pixel_id(value: str) -> bool:
    return _PIXEL.match(value) is not None


def too_old(event_time: datetime, now: datetime) -> bool:
    return now - event_time > MAX_EVENT_AGE


def too_far_ahead(event_time: datetime, now: datetime) -> bool:
    return event_time - now > FUTURE_SKEW


def fbc_from_fbclid(fbclid: str, click_time_ms: int) -> str:
    """`fb.<subdomain_index>.<creation_time_ms>.<fbclid>` (§1.4); subdomain index 1 = the
    registrable domain, the value Meta's own pixel writes for most sites."""
    return f"fb.1.{click_time_ms}.{fbclid}"
