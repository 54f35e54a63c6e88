"""Response excerpts for the audit: short, without secrets, without personal data."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hubkit.telemetry import redact

SECRET = "[secret]"
EXCERPT_CHARS = 1024

# key=value and "key": "value" forms of credential-bearing parameters and headers.
_SECRET_KEYS = (
    r"access[_-]?token|appsecret[_-]?proof|client[_-]?secret|refresh[_-]?token|api[_-]?secret"
    r"|developer[_-]?token|authorization|password|secret"
)
_KEY_VALUE = re.compile(rf"(?i)\b({_SECRET_KEYS})(\s*[=:]\s*)(\"?)(?:Bearer\s+)?[^\s\"&,;}}]+")
_BEARER = re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/=-]+")


def scrub(text: str, secrets: Iterable[str] = (), limit: int = EXCERPT_CHARS) -> str:
    """`text` with the given secrets, credential parameters, emails and phones removed."""
    for secret in secrets:
        if secret and len(secret) >= 4:  # a tiny "secret" would shred the text
            text = text.replace(secret, SECRET)
    text = _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{SECRET}", text)
    text = _BEARER.sub(f"Bearer {SECRET}", text)
    text = redact(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
