"""Webhook signatures against what convhub_sim's senders sign: Shopify and WooCommerce body
HMACs, HubSpot's v3 request signature with its 5-minute replay window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from convhub_sim.sources import (
    hubspot_deal_event,
    hubspot_webhook,
    shopify_order,
    shopify_webhook,
    woocommerce_order,
    woocommerce_webhook,
)
from ingest.domain.signatures import body_hmac, hubspot_v3

SECRET = "shpss_0123456789abcdef-very-secret"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
SHOPIFY = "X-Shopify-Hmac-Sha256"
WOO = "X-WC-Webhook-Signature"
# A target URL whose query carries escapes HubSpot decodes before signing (and one it does not).
URL = (
    "https://ingest.example/webhooks/hubspot/shop-1"
    "?next=https%3A%2F%2Fapp.example%2Fdone%3Fa%3Db&tag=%28won%29%2Cq4&x=%2b1"
)


def test_shopify_and_woocommerce_signatures_of_the_senders_are_accepted() -> None:
    body, headers = shopify_webhook(SECRET, shopify_order(1001))
    assert body_hmac(SECRET, body, headers[SHOPIFY], SHOPIFY) is None
    # WooCommerce's PHP-style JSON ("\/", \uXXXX) is signed as the raw bytes it is.
    body, headers = woocommerce_webhook(SECRET, woocommerce_order(4711))
    assert b"\\/" in body
    assert body_hmac(SECRET, body, headers[WOO], WOO) is None
    # Surrounding whitespace in the header value is tolerated.
    assert body_hmac(SECRET, body, f" {headers[WOO]}\n", WOO) is None


@pytest.mark.parametrize("header", [SHOPIFY, WOO])
def test_a_body_signature_refuses_a_tampered_body_a_wrong_secret_and_no_header(
    header: str,
) -> None:
    body, headers = shopify_webhook(SECRET, shopify_order(1002, total_price="129.90"))
    signature = headers[SHOPIFY]
    tampered = body.replace(b'"129.90"', b'"1.00"')
    assert tampered != body

    problems = [
        body_hmac(SECRET, tampered, signature, header),
        body_hmac(SECRET + "x", body, signature, header),
        body_hmac(SECRET, body + b" ", signature, header),
        body_hmac(SECRET, body, signature[:-4] + "AAA=", header),
    ]
    assert problems == [f"{header} does not match the body"] * 4
    assert body_hmac(SECRET, body, None, header) == f"missing {header}"
    assert body_hmac(SECRET, body, "", header) == f"missing {header}"
    assert body_hmac(SECRET, body, "not base64 at all ✓", header) is not None
    for problem in problems:
        assert problem is not None
        assert SECRET not in problem and signature not in problem


def hubspot(
    *, url: str = URL, stamp_ms: int = NOW_MS, body_events: list[dict[str, Any]] | None = None
) -> tuple[bytes, dict[str, str]]:
    events = body_events or [hubspot_deal_event(10_001, portal_id=4455667, event_id=1)]
    return hubspot_webhook(SECRET, events, url=url, timestamp_ms=stamp_ms)


def check(
    body: bytes,
    headers: dict[str, str],
    *,
    uri: str = URL,
    method: str = "POST",
    secret: str = SECRET,
    now: datetime = NOW,
    timestamp: str | None = "from headers",
) -> str | None:
    return hubspot_v3(
        secret,
        method=method,
        uri=uri,
        body=body,
        signature=headers.get("X-HubSpot-Signature-v3"),
        timestamp=(
            headers.get("X-HubSpot-Request-Timestamp") if timestamp == "from headers" else timestamp
        ),
        now=now,
    )


def test_hubspot_v3_signature_of_the_sender_is_accepted() -> None:
    body, headers = hubspot()
    assert check(body, headers) is None
    # The same request with the escapes written in lowercase (as some proxies pass them on).
    lowered = URL.replace("%3A", "%3a").replace("%2F", "%2f").replace("%3F", "%3f")
    assert check(body, headers, uri=lowered) is None
    assert check(body, headers, method="post") is None
    # A URL without a query string.
    plain_url = "https://ingest.example/webhooks/hubspot/shop-1"
    body, headers = hubspot(url=plain_url)
    assert check(body, headers, uri=plain_url) is None


@pytest.mark.parametrize(
    "age", [timedelta(minutes=4, seconds=59), timedelta(minutes=-4, seconds=-59), timedelta(0)]
)
def test_hubspot_v3_accepts_a_timestamp_within_5_minutes(age: timedelta) -> None:
    body, headers = hubspot(stamp_ms=NOW_MS - int(age.total_seconds() * 1000))
    assert check(body, headers) is None


@pytest.mark.parametrize(
    "age", [timedelta(minutes=5, milliseconds=1), timedelta(hours=3), timedelta(minutes=-6)]
)
def test_hubspot_v3_refuses_an_old_or_far_future_timestamp_as_a_replay(age: timedelta) -> None:
    body, headers = hubspot(stamp_ms=NOW_MS - int(age.total_seconds() * 1000))
    problem = check(body, headers)
    assert problem is not None and "replay" in problem


@pytest.mark.parametrize("timestamp", [None, "", "12:00", "-1", "1.7e12"])
def test_hubspot_v3_refuses_a_missing_or_unreadable_timestamp(timestamp: str | None) -> None:
    body, headers = hubspot()
    assert check(body, headers, timestamp=timestamp) == "missing X-HubSpot-Request-Timestamp"


def test_hubspot_v3_refuses_anything_changed_in_the_signed_request() -> None:
    body, headers = hubspot()
    signature = headers["X-HubSpot-Signature-v3"]
    mismatch = "X-HubSpot-Signature-v3 does not match the request"
    later = str(NOW_MS + 1000)  # a fresh timestamp on an old signature
    problems = [
        check(body.replace(b"closedwon", b"closedlost"), headers),
        check(body, headers, secret="another-secret"),
        check(body, headers, uri=URL.replace("shop-1", "shop-2")),
        check(body, headers, uri=URL.split("?")[0]),
        check(body, headers, method="PUT"),
        check(body, headers, timestamp=later),
    ]
    assert problems == [mismatch] * 6
    assert check(body, {**headers, "X-HubSpot-Signature-v3": ""}) == (
        "missing X-HubSpot-Signature-v3"
    )
    without = {k: v for k, v in headers.items() if k != "X-HubSpot-Signature-v3"}
    assert check(body, without) == "missing X-HubSpot-Signature-v3"
    for problem in problems:
        assert problem is not None
        assert SECRET not in problem and signature not in problem


def test_the_v1_signature_alone_is_not_enough() -> None:
    body, headers = hubspot()
    v1_only = {k: v for k, v in headers.items() if k != "X-HubSpot-Signature-v3"}
    v1_as_v3 = {**v1_only, "X-HubSpot-Signature-v3": headers["X-HubSpot-Signature"]}
    assert check(body, v1_only) is not None
    assert check(body, v1_as_v3) == "X-HubSpot-Signature-v3 does not match the request"
