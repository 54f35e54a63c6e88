"""Meta Graph API error codes to convhub error classes (docs/platforms.md §1.10)."""

from __future__ import annotations

from dispatch_meta.domain.rules import TOO_OLD_SUBCODE
from hubkit.dispatch.model import ErrorClass

# Rate limits: application, user, page, custom and Business-Use-Case throttling.
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80010)})
# Temporary on Meta's side: unknown/downtime, service temporary, batch error, connection reset,
# and 368 "temporarily blocked" (wait and retry later).
TRANSIENT_CODES = frozenset({1, 2, 99, 104, 368, 960})
AUTH_CODES = frozenset({10, 102, 190, *range(200, 300)})
NO_OBJECT_SUBCODE = 33  # bad pixel id or no access to it: convhub's site config is wrong


def classify(
    http_status: int, code: int | None, subcode: int | None, is_transient: bool | None
) -> ErrorClass:
    """Classify by Graph error code first (Meta answers most errors with HTTP 400), then by
    `is_transient`, then by HTTP status."""
    if code is not None:
        if code in THROTTLE_CODES:
            return ErrorClass.THROTTLE
        if is_transient or code in TRANSIENT_CODES:
            return ErrorClass.TRANSIENT
        if code in AUTH_CODES:
            return ErrorClass.AUTH
        if code == 100:
            if subcode == TOO_OLD_SUBCODE:
                return ErrorClass.TOO_OLD
            if subcode == NO_OBJECT_SUBCODE:
                return ErrorClass.CONFIG
            return ErrorClass.BAD_INPUT
        if code >= 2804000:  # CAPI-specific validation codes (e.g. 2804030 LDU required)
            return ErrorClass.BAD_INPUT
    if is_transient:
        return ErrorClass.TRANSIENT
    if http_status == 429:
        return ErrorClass.THROTTLE
    if http_status >= 500 or http_status in (0, 408):
        return ErrorClass.TRANSIENT
    if http_status in (401, 403):
        return ErrorClass.AUTH
    return ErrorClass.UNKNOWN


def code_text(code: int | None, subcode: int | None) -> str:
    """'100/2804003', '613', or '' (the platform_code convhub reports)."""
    if code is None:
        return ""
    return f"{code}/{subcode}" if subcode else str(code)
