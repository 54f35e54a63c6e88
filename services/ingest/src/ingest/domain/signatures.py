"""Webhook signatures, checked before a byte of the body is read as data. Each answers None
when the request is the platform's, else why not (never echoing the secret or signature)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

HUBSPOT_MAX_AGE = timedelta(minutes=5)

# HubSpot signs the URI with these escapes decoded (its v3 signature reference).
_HUBSPOT_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


def _b64_hmac(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def _matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.strip().encode())


def body_hmac(secret: str, body: bytes, signature: str | None, header: str) -> str | None:
    """Shopify's X-Shopify-Hmac-Sha256 and WooCommerce's X-WC-Webhook-Signature: base64 of
    HMAC-SHA256 over the raw body."""
    if not signature:
        return f"missing {header}"
    if not _matches(_b64_hmac(secret, body), signature):
        return f"{header} does not match the body"
    return None


def hubspot_v3(
    secret: str,
    *,
    method: str,
    uri: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now: datetime,
) -> str | None:
    """X-HubSpot-Signature-v3: base64 HMAC-SHA256 over method + URI + body + timestamp, the
    timestamp (epoch ms, X-HubSpot-Request-Timestamp) at most 5 minutes old."""
    if not signature:
        return "missing X-HubSpot-Signature-v3"
    if not timestamp or not timestamp.isdigit():
        return "missing X-HubSpot-Request-Timestamp"
    age = now.timestamp() * 1000 - int(timestamp)
    if abs(age) > HUBSPOT_MAX_AGE.total_seconds() * 1000:
        return "X-HubSpot-Request-Timestamp is more than 5 minutes away: refused as a replay"
    for escaped, char in _HUBSPOT_DECODED.items():
        uri = uri.replace(escaped, char).replace(escaped.lower(), char)
    message = method.upper().encode() + uri.encode() + body + timestamp.encode()
    if not _matches(_b64_hmac(secret, message), signature):
        return "X-HubSpot-Signature-v3 does not match the request"
    return None
