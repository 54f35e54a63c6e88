"""TikTok's answers classified (docs/platforms.md §3.3): the envelope `code` decides, since
most errors come with HTTP 200; a 40002 message naming `Batch.<i>` names the bad event."""

from __future__ import annotations

import re

from hubkit.vocabulary import ErrorClass, classify_status

OK_CODES = frozenset({0, 20001})  # 20001: accepted with a warning (partial success)
THROTTLE = 40100  # QPS/QPM/QPD exceeded
AUTH_CODES = frozenset({40001, 40105})  # no permission on the pixel; token wrong or revoked
RETRY_CODES = frozenset({40700})

_BATCH_INDEX = re.compile(r"(?:^|[^A-Za-z])Batch\.(\d+)\b")


def classify(http_status: int, code: int | None) -> ErrorClass:
    """The envelope code first; the HTTP status when there is no envelope (a proxy's 502)."""
    if code is not None and http_status == 200:
        if code in OK_CODES:
            return ErrorClass.NONE
        if code == THROTTLE:
            return ErrorClass.THROTTLE
        if code in AUTH_CODES:
            return ErrorClass.AUTH
        if code in RETRY_CODES or code >= 50000:
            return ErrorClass.TRANSIENT
        if 40000 <= code < 50000:
            return ErrorClass.BAD_INPUT
        return ErrorClass.UNKNOWN
    return classify_status(http_status)


def batch_indexes(message: str) -> list[int]:
    """The event positions a rejection names ("Batch.2.user.email: ..."), in order, once."""
    seen: list[int] = []
    for match in _BATCH_INDEX.finditer(message):
        index = int(match.group(1))
        if index not in seen:
            seen.append(index)
    return seen
