"""Conversion sources: signed webhook senders for Shopify, WooCommerce and HubSpot, and a HubSpot
CRM API simulator (the reads a deal sync makes).

Senders are pure functions returning `(raw body, headers)` exactly as the platform would POST
them, so tests, the demo and benchmarks can feed ingest without the platforms:

- Shopify: a REST Admin order as the `orders/paid` / `orders/create` webhook carries it; body
  signed with `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(secret, raw body)). A retry keeps its
  `X-Shopify-Webhook-Id` (and the body, event id and trigger time): same arguments, same bytes.
- WooCommerce: a REST API v3 order as its `order.*` webhooks carry it, serialised the way PHP's
  `wp_json_encode` does (escaped "/" and non-ASCII), signed with `X-WC-Webhook-Signature`
  (base64 HMAC-SHA256 of the raw body). WooCommerce never re-sends a failed delivery (it counts
  failures and disables the webhook); its delivery id is a fresh 32-hex hash per delivery.
- HubSpot: `deal.propertyChange` events signed both ways HubSpot signs webhooks: v1
  (`X-HubSpot-Signature` = SHA-256 hex of secret + body) and v3 (`X-HubSpot-Signature-v3` =
  base64 HMAC-SHA256 of "POST" + URI + body + timestamp, the URI being the full target URL with
  HubSpot's listed percent-escapes decoded).

`HubSpotSimulator` serves `POST /crm/v3/objects/{deals,contacts}/search`,
`.../{deals,contacts}/batch/read` and `POST /crm/v4/associations/deals/contacts/batch/read`
with HubSpot's request limits (search limit 200, 10,000-result paging cap, 5 filter groups,
10 filters a group, 25 in all; batch reads of 100) and error bodies (401 INVALID_AUTHENTICATION,
429 RATE_LIMIT, 400 VALIDATION_ERROR, 207 with OBJECT_NOT_FOUND errors for missing ids). Every
API call needs `Authorization: Bearer <access_token>`. Knobs (`add_contact`, `add_deal`,
`set_stage`, `rate_limit`, `throttle`, `server_error`, `slow`) work in-process or over HTTP
(`POST /_sim/hubspot/faults`); scripted faults of the base class hit every API route. Wording
HubSpot does not publish is marked "(simulator)".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from convhub_sim.base import Fault, Simulator, apply_fault

# --- shared -----------------------------------------------------------------------------------

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
# The demo shop and WordPress site run on Berlin winter time; a fixed offset keeps payloads
# reproducible without a tz database.
SHOP_TZ = timezone(timedelta(hours=1))
VAT_RATE = Decimal("0.19")  # prices include German VAT in both demo shops
CENT = Decimal("0.01")


def _derived_id(*parts: object, digits: int = 13) -> int:
    """A stable platform-looking id from the parts (same order, same customer: same id)."""
    digest = int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest(), 16)
    low = int(10 ** (digits - 1))
    return low + digest % (9 * low)


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _included_vat(gross: Decimal) -> str:
    return _money(gross * VAT_RATE / (1 + VAT_RATE))


def _hmac_b64(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


# --- Shopify ------------------------------------------------------------------------------------

SHOPIFY_API_VERSION = "2025-10"
_SHOPIFY_ADDRESS = {
    "address1": "Invalidenstraße 117",
    "address2": "",
    "city": "Berlin",
    "province": "Berlin",
    "province_code": "BE",
    "country": "Germany",
    "country_code": "DE",
    "zip": "10115",
    "company": None,
}


def shopify_order(
    order_id: int,
    *,
    email: str = "anna.schmidt@example.com",
    phone: str = "+4915112345678",
    total_price: str = "129.90",
    currency: str = "EUR",
    financial_status: str = "paid",
    landing_site: str = "/products/linen-shirt?gclid=EAIaIQobChMIsim0demo",
    referring_site: str = "https://www.google.com/",
    browser_ip: str = "203.0.113.7",
    user_agent: str = DEFAULT_USER_AGENT,
    created_at: str | None = None,
    note_attributes: list[dict[str, str]] | None = None,
    line_items: list[dict[str, Any]] | None = None,
    test: bool = False,
    first_name: str = "Anna",
    last_name: str = "Schmidt",
    order_number: int | None = None,
) -> dict[str, Any]:
    """A REST Admin API order as Shopify's order webhooks carry it (money as strings, times
    ISO 8601 in the shop's offset). `landing_site` is the path Shopify records, not a full URL;
    `order_number` defaults to one derived from the id (name "#<order_number>")."""
    number = order_number if order_number is not None else 1000 + order_id % 1_000_000
    created = created_at or datetime.now(SHOP_TZ).replace(microsecond=0).isoformat()
    customer_id = _derived_id("shopify-customer", email)
    if line_items is None:
        line_items = [
            {
                "id": _derived_id("shopify-line", order_id, 1),
                "product_id": 8_123_456_789_012,
                "variant_id": 45_123_456_789_012,
                "sku": "LINEN-BLUE-M",
                "title": "Linen Shirt",
                "name": "Linen Shirt - Blue / M",
                "variant_title": "Blue / M",
                "vendor": "Demo Shop",
                "quantity": 1,
                "price": total_price,
                "requires_shipping": True,
                "taxable": True,
                "gift_card": False,
            }
        ]
    try:
        subtotal = sum(
            (Decimal(str(i.get("price", "0"))) * int(i.get("quantity", 1)) for i in line_items),
            Decimal(0),
        )
    except (InvalidOperation, ValueError):
        subtotal = Decimal(total_price)
    address = {
        "first_name": first_name,
        "last_name": last_name,
        "name": f"{first_name} {last_name}",
        **_SHOPIFY_ADDRESS,
        "phone": phone,
    }
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{number}",
        "order_number": number,
        "email": email,
        "contact_email": email,
        "phone": phone,
        "created_at": created,
        "processed_at": created,
        "updated_at": created,
        "cancelled_at": None,
        "cancel_reason": None,
        "confirmed": True,
        "test": test,
        "currency": currency,
        "presentment_currency": currency,
        "total_price": total_price,
        "subtotal_price": _money(subtotal),
        "total_tax": _included_vat(Decimal(total_price)),
        "total_discounts": "0.00",
        "taxes_included": True,
        "financial_status": financial_status,
        "fulfillment_status": None,
        "browser_ip": browser_ip,
        "landing_site": landing_site,
        "referring_site": referring_site,
        "source_name": "web",
        "customer_locale": "de",
        "note": None,
        "note_attributes": list(note_attributes or []),
        "tags": "",
        "token": hashlib.md5(f"shopify-order-{order_id}".encode()).hexdigest(),
        "payment_gateway_names": ["shopify_payments"],
        "client_details": {
            "accept_language": "de-DE,de;q=0.9,en;q=0.8",
            "browser_height": None,
            "browser_ip": browser_ip,
            "browser_width": None,
            "session_hash": None,
            "user_agent": user_agent,
        },
        "customer": {
            "id": customer_id,
            "email": email,
            "phone": phone,
            "first_name": first_name,
            "last_name": last_name,
            "created_at": created,
            "updated_at": created,
            "currency": currency,
            "default_address": {
                "id": _derived_id("shopify-address", email),
                "customer_id": customer_id,
                **address,
                "country_name": "Germany",
                "default": True,
            },
        },
        "billing_address": address,
        "shipping_address": dict(address),
        "line_items": line_items,
    }


def shopify_webhook(
    secret: str,
    order: dict[str, Any],
    *,
    topic: str = "orders/paid",
    webhook_id: str | None = None,
    shop_domain: str = "demo-shop.myshopify.com",
    api_version: str = SHOPIFY_API_VERSION,
    event_id: str | None = None,
    triggered_at: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of one Shopify webhook delivery. `webhook_id` None: a new delivery
    (uuid4); pass the same id to send a retry. The event id and trigger time follow from the
    order and topic unless given, so a retry repeats them as Shopify does."""
    body = json.dumps(order, separators=(",", ":"), ensure_ascii=False).encode()
    updated = str(order.get("updated_at") or "")
    if triggered_at is None:
        try:
            at = datetime.fromisoformat(updated).astimezone(UTC)
        except ValueError:
            at = datetime.now(UTC)
        # Shopify stamps nanoseconds: "2026-11-30T12:00:00.123456789Z".
        triggered_at = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond:06d}000Z"
    if event_id is None:
        key = f"{shop_domain}/{topic}/{order.get('id')}/{updated}"
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, key))
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": _hmac_b64(secret, body),
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": triggered_at,
    }
    return body, headers


# --- WooCommerce --------------------------------------------------------------------------------

WOOCOMMERCE_USER_AGENT = "WooCommerce/9.8.5 Hookshot (WordPress/6.8.1)"
_WC_PAID = frozenset({"processing", "completed"})
_SEARCH_ENGINES = ("google", "bing", "duckduckgo", "yahoo", "ecosia")
_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _wc_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S")  # WooCommerce's REST dates carry no offset


def _wc_attribution(
    landing_url: str, referrer: str, user_agent: str, started: datetime
) -> list[tuple[str, str]]:
    """WooCommerce's order attribution meta (sourcebuster's classification, simplified)."""
    query = parse_qs(urlsplit(landing_url).query)
    host = urlsplit(referrer).hostname or ""
    if "utm_source" in query:
        kind, source = "utm", query["utm_source"][0]
        medium = query.get("utm_medium", ["(none)"])[0]
    elif any(f"{engine}." in host for engine in _SEARCH_ENGINES):
        kind = "organic"
        source = next(e for e in _SEARCH_ENGINES if f"{e}." in host)
        medium = "organic"
    elif host:
        kind, source, medium = "referral", host.removeprefix("www."), "referral"
    else:
        kind, source, medium = "typein", "(direct)", "(none)"
    meta = [("_wc_order_attribution_source_type", kind)]
    if referrer:
        meta.append(("_wc_order_attribution_referrer", referrer))
    meta += [
        ("_wc_order_attribution_utm_source", source),
        ("_wc_order_attribution_utm_medium", medium),
    ]
    if "utm_campaign" in query:
        meta.append(("_wc_order_attribution_utm_campaign", query["utm_campaign"][0]))
    meta += [
        ("_wc_order_attribution_session_entry", landing_url),
        ("_wc_order_attribution_session_start_time", started.strftime("%Y-%m-%d %H:%M:%S")),
        ("_wc_order_attribution_session_pages", "4"),
        ("_wc_order_attribution_session_count", "1"),
        ("_wc_order_attribution_user_agent", user_agent),
        ("_wc_order_attribution_device_type", "Mobile" if "Mobile" in user_agent else "Desktop"),
    ]
    return meta


def woocommerce_order(
    order_id: int,
    *,
    email: str = "jonas.weber@example.com",
    phone: str = "+4917612345678",
    total: str = "89.50",
    currency: str = "EUR",
    status: str = "processing",
    landing_url: str = "https://shop.example/?fbclid=IwAR0sim0demo",
    referrer: str = "https://l.facebook.com/",
    customer_ip: str = "198.51.100.23",
    user_agent: str = DEFAULT_USER_AGENT,
    date_created_gmt: str | None = None,
    line_items: list[dict[str, Any]] | None = None,
    first_name: str = "Jonas",
    last_name: str = "Weber",
    customer_id: int = 0,
) -> dict[str, Any]:
    """A WooCommerce REST API v3 order as its order webhooks carry it. Dates: `*_gmt` in UTC,
    the others in the site's time, neither with an offset (WooCommerce's format);
    `date_paid_gmt` is null until the order is paid (processing / completed).
    `customer_id` 0 is a guest checkout."""
    if date_created_gmt is None:
        created = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    else:
        created = datetime.fromisoformat(date_created_gmt.removesuffix("Z")).replace(tzinfo=None)
    paid = created + timedelta(seconds=4) if status in _WC_PAID else None
    modified = paid or created
    completed = paid if status == "completed" else None
    local = timedelta(hours=1)  # the site's offset (SHOP_TZ)
    gross = Decimal(total)
    if line_items is None:
        line_items = [
            {
                "id": _derived_id("wc-line", order_id, digits=5),
                "name": "Merino Beanie - Navy",
                "product_id": 412,
                "variation_id": 415,
                "quantity": 1,
                "tax_class": "",
                "subtotal": _money(gross - Decimal(_included_vat(gross))),
                "subtotal_tax": _included_vat(gross),
                "total": _money(gross - Decimal(_included_vat(gross))),
                "total_tax": _included_vat(gross),
                "taxes": [],
                "meta_data": [],
                "sku": "BEANIE-NAVY",
                "price": float(gross - Decimal(_included_vat(gross))),
                "parent_name": "Merino Beanie",
            }
        ]
    key_digest = int(hashlib.sha256(f"wc-order-{order_id}".encode()).hexdigest(), 16)
    order_key = "wc_order_" + "".join(_BASE62[(key_digest >> (6 * i)) % 62] for i in range(13))
    meta_base = _derived_id("wc-meta", order_id, digits=6)
    attribution = _wc_attribution(
        landing_url, referrer, user_agent, created - timedelta(minutes=11)
    )
    address = {
        "first_name": first_name,
        "last_name": last_name,
        "company": "",
        "address_1": "Torstraße 49",
        "address_2": "",
        "city": "Berlin",
        "state": "",
        "postcode": "10119",
        "country": "DE",
    }
    return {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "order_key": order_key,
        "created_via": "checkout",
        "version": "9.8.5",
        "status": status,
        "currency": currency,
        "prices_include_tax": True,
        "date_created": _wc_time(created + local),
        "date_created_gmt": _wc_time(created),
        "date_modified": _wc_time(modified + local),
        "date_modified_gmt": _wc_time(modified),
        "date_paid": _wc_time(paid + local) if paid else None,
        "date_paid_gmt": _wc_time(paid) if paid else None,
        "date_completed": _wc_time(completed + local) if completed else None,
        "date_completed_gmt": _wc_time(completed) if completed else None,
        "discount_total": "0.00",
        "shipping_total": "0.00",
        "cart_tax": _included_vat(gross),
        "total": _money(gross),
        "total_tax": _included_vat(gross),
        "customer_id": customer_id,
        "customer_ip_address": customer_ip,
        "customer_user_agent": user_agent,
        "customer_note": "",
        "billing": {**address, "email": email, "phone": phone},
        "shipping": {**address, "phone": phone},
        "payment_method": "stripe",
        "payment_method_title": "Kredit- / Debitkarte",
        "transaction_id": f"pi_{hashlib.md5(str(order_id).encode()).hexdigest()[:24]}"
        if paid
        else "",
        "meta_data": [
            {"id": meta_base + i, "key": key, "value": value}
            for i, (key, value) in enumerate(attribution)
        ],
        "line_items": line_items,
        "tax_lines": [],
        "shipping_lines": [],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
        "needs_payment": paid is None,
        "needs_processing": True,
        "currency_symbol": "€" if currency == "EUR" else currency,
    }


def _php_json(value: Any) -> bytes:
    """What PHP's json_encode (flags 0, as wp_json_encode calls it) emits: compact, non-ASCII
    as \\uXXXX and "/" escaped as "\\/" (it only appears inside strings)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()


def woocommerce_webhook(
    secret: str,
    order: dict[str, Any],
    *,
    topic: str = "order.updated",
    delivery_id: str | None = None,
    webhook_id: int = 7,
    source_url: str = "https://shop.example/",
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of one WooCommerce webhook delivery (WC_Webhook::deliver)."""
    body = _php_json(order)
    if delivery_id is None:
        # wp_hash($webhook_id . time()): an HMAC-MD5 under the site's salt.
        stamp = f"{webhook_id}{int(time.time())}".encode()
        delivery_id = hmac.new(secrets.token_bytes(16), stamp, hashlib.md5).hexdigest()
    resource, _, event = topic.partition(".")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": WOOCOMMERCE_USER_AGENT,
        "X-WC-Webhook-Source": source_url,
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": _hmac_b64(secret, body),
        "X-WC-Webhook-ID": str(webhook_id),
        "X-WC-Webhook-Delivery-ID": delivery_id,
    }
    return body, headers


# --- HubSpot webhooks ---------------------------------------------------------------------------

HUBSPOT_WEBHOOK_USER_AGENT = (
    "HubSpot Connect 2.0 (http://dev.hubspot.com/) (namespace: webhooks-nio-http-client) "
    "- WebhooksExecutorDaemon-executor"
)
# HubSpot's v3 recipe: decode these escapes in the request URI before signing (the "?" that
# starts the query is never encoded in the first place).
_HUBSPOT_URI_DECODES = {
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
_HUBSPOT_ESCAPE = re.compile("|".join(_HUBSPOT_URI_DECODES), re.IGNORECASE)


def hubspot_deal_event(
    deal_id: int,
    *,
    portal_id: int,
    stage: str = "closedwon",
    event_id: int | None = None,
    occurred_at_ms: int | None = None,
    app_id: int = 1234567,
    subscription_id: int = 42,
    attempt_number: int = 0,
    change_source: str = "CRM_UI",
) -> dict[str, Any]:
    """One `deal.propertyChange` webhook event for the deal's `dealstage`."""
    return {
        "eventId": event_id if event_id is not None else 1_000_000_000 + secrets.randbelow(10**9),
        "subscriptionId": subscription_id,
        "portalId": portal_id,
        "appId": app_id,
        "occurredAt": occurred_at_ms if occurred_at_ms is not None else int(time.time() * 1000),
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": attempt_number,
        "objectId": deal_id,
        "propertyName": "dealstage",
        "propertyValue": stage,
        "changeSource": change_source,
    }


def hubspot_webhook(
    app_secret: str, events: list[dict[str, Any]], *, url: str, timestamp_ms: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of one HubSpot webhook POST to `url` (the target URL as configured,
    scheme, host and query included). HubSpot batches up to 100 events a request."""
    body = json.dumps(events, separators=(",", ":"), ensure_ascii=False).encode()
    stamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    uri = _HUBSPOT_ESCAPE.sub(lambda m: _HUBSPOT_URI_DECODES[m.group(0).upper()], url)
    signed = b"POST" + uri.encode() + body + stamp.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": HUBSPOT_WEBHOOK_USER_AGENT,
        "X-HubSpot-Signature": hashlib.sha256(app_secret.encode() + body).hexdigest(),
        "X-HubSpot-Signature-Version": "v1",
        "X-HubSpot-Signature-v3": _hmac_b64(app_secret, signed),
        "X-HubSpot-Request-Timestamp": stamp,
    }
    return body, headers


# --- HubSpot CRM API simulator ------------------------------------------------------------------

SEARCH_DEFAULT_LIMIT = 10
SEARCH_MAX_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000  # no paging at or past this offset
MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25
BATCH_READ_MAX = 100
DEAL_TO_CONTACT_TYPE_ID = 3
CLOSED_STAGES = frozenset({"closedwon", "closedlost"})
FIRST_ID = {"contacts": 101, "deals": 10_001}  # sequential per type (documented for HTTP knobs)
SINGULAR = {"contacts": "contact", "deals": "deal"}

# Always returned, and returned when no `properties` are asked for.
BASE_PROPERTIES = {
    "contacts": ("createdate", "hs_object_id", "lastmodifieddate"),
    "deals": ("createdate", "hs_lastmodifieddate", "hs_object_id"),
}
DEFAULT_PROPERTIES = {
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
}
DATETIME_PROPERTIES = frozenset(
    {"createdate", "closedate", "hs_lastmodifieddate", "lastmodifieddate"}
)
NUMBER_PROPERTIES = frozenset({"amount", "hs_object_id"})
COMPARISONS = frozenset({"EQ", "NEQ", "GT", "GTE", "LT", "LTE", "BETWEEN"})
OPERATORS = COMPARISONS | {"IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"}

MESSAGE_AUTH = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
MESSAGE_BAD_REQUEST = "There was a problem with the request."


def iso_ms(ms: int) -> str:
    """HubSpot's timestamp format: ISO 8601 UTC with milliseconds ("2026-11-30T12:00:00.000Z")."""
    at = datetime.fromtimestamp(ms // 1000, UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def error_body(message: str, category: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }


def rate_limit_body(policy: str = "SECONDLY") -> dict[str, Any]:
    return {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
    }


def default_error(status: int) -> dict[str, Any]:
    """HubSpot's body for a status, for scripted faults that give none."""
    if status == 429:
        return rate_limit_body()
    if status == 401:
        return error_body(MESSAGE_AUTH, "INVALID_AUTHENTICATION")
    if status == 400:
        return error_body(MESSAGE_BAD_REQUEST, "VALIDATION_ERROR")
    if status >= 500:
        return {"status": "error", "message": "internal error", "correlationId": str(uuid.uuid4())}
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    return error_body(phrase, "UNKNOWN")


class Invalid(Exception):
    """A request HubSpot refuses with 400 VALIDATION_ERROR."""


@dataclass
class CrmRecord:
    id: str
    properties: dict[str, str]  # set properties only; unset ones read as null
    created_ms: int
    updated_ms: int
    contacts: list[str] = field(default_factory=list)  # deals: associated contact ids

    def public(self, names: Iterable[str]) -> dict[str, Any]:
        return {
            "id": self.id,
            "properties": {name: self.properties.get(name) for name in sorted(set(names))},
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.updated_ms),
            "archived": False,
        }


ApiHandler = Callable[[web.Request], Awaitable[web.Response]]


class HubSpotSimulator(Simulator):
    name = "hubspot"

    def __init__(
        self,
        *,
        access_token: str = "pat-demo",
        rate_limit_per_second: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.access_token = access_token
        self.rate_limit_per_second = rate_limit_per_second
        self.clock = clock
        self.objects: dict[str, dict[str, CrmRecord]] = {"contacts": {}, "deals": {}}
        self._next_id = dict(FIRST_ID)
        self._window = (0, 0)  # (wall-clock second, API calls in it)
        super().__init__()

    @property
    def contacts(self) -> dict[str, CrmRecord]:
        return self.objects["contacts"]

    @property
    def deals(self) -> dict[str, CrmRecord]:
        return self.objects["deals"]

    def routes(self, app: web.Application) -> None:
        for kind in ("deals", "contacts"):
            app.router.add_post(f"/crm/v3/objects/{kind}/search", self._api(self._search, kind))
            app.router.add_post(
                f"/crm/v3/objects/{kind}/batch/read", self._api(self._batch_read, kind)
            )
        app.router.add_post(
            "/crm/v4/associations/deals/contacts/batch/read",
            self._api(self._associations, "deals"),
        )
        app.router.add_get("/_sim/hubspot/objects", self._get_objects)
        app.router.add_post("/_sim/hubspot/faults", self._post_hubspot_faults)

    # --- knobs: state ----------------------------------------------------------------------------

    def add_contact(
        self,
        email: str,
        phone: str = "",
        firstname: str = "",
        lastname: str = "",
        gclid: str = "",
    ) -> str:
        """A contact; `gclid` goes to HubSpot's `hs_google_click_id`. Returns its id."""
        record = self._create(
            "contacts",
            {
                "email": email,
                "phone": phone,
                "firstname": firstname,
                "lastname": lastname,
                "hs_google_click_id": gclid,
            },
        )
        return record.id

    def add_deal(
        self,
        amount: str,
        *,
        stage: str = "closedwon",
        currency: str = "EUR",
        contact_ids: Sequence[str] = (),
        pipeline: str = "default",
        closedate: str | None = None,
        dealname: str = "Online order",
    ) -> str:
        """A deal associated with `contact_ids` (deal-to-contact, type 3). As in HubSpot, a deal
        created in a closed stage without a close date gets now. Returns its id."""
        missing = [c for c in contact_ids if str(c) not in self.contacts]
        if missing:
            raise ValueError(f"unknown contact ids {missing}")
        now = self._now_ms()
        if closedate is None and stage in CLOSED_STAGES:
            closedate = iso_ms(now)
        record = self._create(
            "deals",
            {
                "amount": str(amount),
                "deal_currency_code": currency,
                "dealstage": stage,
                "pipeline": pipeline,
                "closedate": closedate or "",
                "dealname": dealname,
            },
        )
        record.contacts = [str(c) for c in contact_ids]
        return record.id

    def set_stage(self, deal_id: str, stage: str) -> None:
        """Move a deal (bumps hs_lastmodifieddate; entering a closed stage sets an empty
        closedate to now)."""
        record = self.deals.get(str(deal_id))
        if record is None:
            raise ValueError(f"unknown deal {deal_id}")
        now = self._now_ms()
        record.properties["dealstage"] = stage
        if stage in CLOSED_STAGES and "closedate" not in record.properties:
            record.properties["closedate"] = iso_ms(now)
        self._touch("deals", record, now)

    def rate_limit(self, per_second: int | None) -> None:
        """Answer 429 SECONDLY beyond `per_second` API calls within one wall-clock second."""
        self.rate_limit_per_second = per_second

    # --- knobs: faults ---------------------------------------------------------------------------

    def throttle(
        self, count: int = 1, *, seconds: float | None = None, policy: str = "SECONDLY"
    ) -> None:
        """429 RATE_LIMIT (policy SECONDLY, TEN_SECONDLY_ROLLING or DAILY) to the next `count`
        API calls, or to every call for `seconds`."""
        self._inject(count, seconds, Fault(status=429, body=rate_limit_body(policy)))

    def server_error(
        self, count: int = 1, *, status: int = 502, seconds: float | None = None
    ) -> None:
        self._inject(count, seconds, Fault(status=status))

    def slow(self, seconds: float, count: int | None = None) -> None:
        """Delay answers: the next `count` API calls, or every request when count is None."""
        if count is None:
            self.latency = seconds
        else:
            self.fail_next(count, Fault(delay=seconds, passthrough=True))

    def _inject(self, count: int, seconds: float | None, fault: Fault) -> None:
        if seconds is None:
            self.fail_next(count, fault)
        else:
            self.fail_for(seconds, fault)

    def reset(self) -> None:
        """Faults, recorded requests, the rate limit and every contact and deal."""
        self.clear_faults()
        self.requests.clear()
        self.rate_limit_per_second = None
        self._window = (0, 0)
        for store in self.objects.values():
            store.clear()
        self._next_id = dict(FIRST_ID)

    # --- state plumbing --------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _create(self, kind: str, properties: dict[str, str]) -> CrmRecord:
        object_id = str(self._next_id[kind])
        self._next_id[kind] += 1
        now = self._now_ms()
        # Empty strings are unset in HubSpot: HAS_PROPERTY must not match them.
        props = {k: v for k, v in properties.items() if v}
        props.update(hs_object_id=object_id, createdate=iso_ms(now))
        record = CrmRecord(object_id, props, now, now)
        self._touch(kind, record, now)
        self.objects[kind][object_id] = record
        return record

    def _touch(self, kind: str, record: CrmRecord, now: int) -> None:
        record.updated_ms = now
        record.properties["hs_lastmodifieddate"] = iso_ms(now)
        if kind == "contacts":
            record.properties["lastmodifieddate"] = iso_ms(now)

    # --- the API ---------------------------------------------------------------------------------

    def _api(self, handler: Callable[[str, dict[str, Any]], web.Response], kind: str) -> ApiHandler:
        """Scripted fault, then token, then the secondly limit, then the JSON body, then
        `handler(kind, body)`; a raised Invalid answers 400 VALIDATION_ERROR."""

        async def guarded(request: web.Request) -> web.Response:
            fault = self.take_fault()
            if fault is not None and fault.body is None and not fault.passthrough:
                fault.body = default_error(fault.status)
            answer = await apply_fault(fault)
            if answer is not None:
                return answer
            if request.headers.get("Authorization", "") != f"Bearer {self.access_token}":
                body = error_body(MESSAGE_AUTH, "INVALID_AUTHENTICATION")
                return _json(body, 401, {"X-HubSpot-Auth-Failure": "401 Unauthorized"})
            if self._over_rate_limit():
                return _json(rate_limit_body(), 429)
            try:
                return handler(kind, _decode(await request.read()))
            except Invalid as exc:
                return _json(error_body(str(exc), "VALIDATION_ERROR"), 400)

        return guarded

    def _over_rate_limit(self) -> bool:
        if self.rate_limit_per_second is None:
            return False
        second = int(self.clock())
        calls = self._window[1] + 1 if self._window[0] == second else 1
        self._window = (second, calls)
        return calls > self.rate_limit_per_second

    def _search(self, kind: str, body: dict[str, Any]) -> web.Response:
        limit = _integer(body.get("limit", SEARCH_DEFAULT_LIMIT), "limit")
        if not 0 <= limit <= SEARCH_MAX_LIMIT:
            raise Invalid(f"limit must be between 0 and {SEARCH_MAX_LIMIT} (simulator)")
        offset = _integer(body.get("after") or 0, "after")
        if offset < 0:
            raise Invalid("after must not be negative (simulator)")
        if offset >= SEARCH_MAX_RESULTS:
            raise Invalid(
                f"Search results are limited to {SEARCH_MAX_RESULTS:,}; page with a narrower "
                "filter instead (simulator)"
            )
        groups = _filter_groups(body.get("filterGroups"))
        records = [
            r
            for r in self.objects[kind].values()
            if not groups or any(all(_matches(r, f) for f in group) for group in groups)
        ]
        records = _sorted(records, body.get("sorts"))
        page = records[offset : offset + limit]
        names = _property_names(kind, body.get("properties"))
        payload: dict[str, Any] = {
            "total": len(records),
            "results": [r.public(names) for r in page],
        }
        if limit and offset + limit < len(records):
            payload["paging"] = {"next": {"after": str(offset + limit)}}
        return _json(payload)

    def _batch_read(self, kind: str, body: dict[str, Any]) -> web.Response:
        started = self._now_ms()
        ids = _input_ids(body, BATCH_READ_MAX)
        names = _property_names(kind, body.get("properties"))
        id_property = body.get("idProperty") or "hs_object_id"
        if not isinstance(id_property, str):
            raise Invalid("idProperty must be a string (simulator)")
        store = self.objects[kind]
        if id_property == "hs_object_id":
            index = store
        else:
            index = {
                r.properties[id_property].lower(): r
                for r in store.values()
                if id_property in r.properties
            }
        results, missing, seen = [], [], set()
        for object_id in ids:
            record = index.get(object_id if id_property == "hs_object_id" else object_id.lower())
            if record is None:
                missing.append(object_id)
            elif record.id not in seen:
                seen.add(record.id)
                results.append(record.public(names))
        errors = []
        if missing:
            errors.append(
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {SINGULAR[kind].upper()} objects, they may"
                    " be deleted or not exist. Check that ids are valid.",
                    "context": {"ids": missing},
                }
            )
        return self._batch_answer(results, errors, started)

    def _associations(self, kind: str, body: dict[str, Any]) -> web.Response:
        started = self._now_ms()
        results, errors = [], []
        for deal_id in _input_ids(body, None):
            record = self.deals.get(deal_id)
            if record is None or not record.contacts:
                # HubSpot answers an unknown deal the same way as one without contacts.
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                        "message": f"No contact is associated with deal {deal_id}.",
                        "context": {
                            "fromObjectId": [deal_id],
                            "fromObjectType": ["deal"],
                            "toObjectType": ["contact"],
                        },
                    }
                )
                continue
            to = [
                {
                    "toObjectId": int(contact_id),
                    "associationTypes": [
                        {
                            "category": "HUBSPOT_DEFINED",
                            "typeId": DEAL_TO_CONTACT_TYPE_ID,
                            "label": None,
                        }
                    ],
                }
                for contact_id in record.contacts
            ]
            results.append({"from": {"id": deal_id}, "to": to})
        return self._batch_answer(results, errors, started)

    def _batch_answer(
        self, results: list[dict[str, Any]], errors: list[dict[str, Any]], started: int
    ) -> web.Response:
        """HubSpot's batch envelope: 200, or 207 Multi-Status when some inputs failed."""
        payload: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            payload.update(numErrors=len(errors), errors=errors)
        payload.update(startedAt=iso_ms(started), completedAt=iso_ms(self._now_ms()))
        return _json(payload, 207 if errors else 200)

    # --- control endpoints -----------------------------------------------------------------------

    async def _get_objects(self, request: web.Request) -> web.Response:
        return web.json_response(
            {kind: sorted(store, key=int) for kind, store in self.objects.items()}
        )

    async def _post_hubspot_faults(self, request: web.Request) -> web.Response:
        """{"kind": "throttle" | "server_error" | "slow" | "rate_limit" | "add_contact" |
        "add_deal" | "set_stage", ...the knob's arguments}. Ids are sequential (contacts from
        101, deals from 10001); `GET /_sim/hubspot/objects` lists them."""
        knobs: dict[str, Callable[..., object]] = {
            "throttle": self.throttle,
            "server_error": self.server_error,
            "slow": self.slow,
            "rate_limit": self.rate_limit,
            "add_contact": _as_type_error(self.add_contact),
            "add_deal": _as_type_error(self.add_deal),
            "set_stage": _as_type_error(self.set_stage),
        }
        return await self._call_knob(request, knobs)

    async def _post_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({})


def _as_type_error(knob: Callable[..., object]) -> Callable[..., object]:
    """`_call_knob` answers 400 for TypeError only: an unknown id is a bad argument too."""

    def call(**arguments: Any) -> object:
        try:
            return knob(**arguments)
        except ValueError as exc:
            raise TypeError(str(exc)) from None

    return call


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    extra = dict(headers or {})
    if isinstance(payload, dict) and "correlationId" in payload:
        extra["X-HubSpot-Correlation-Id"] = str(payload["correlationId"])
    return web.json_response(payload, status=status, headers=extra)


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(body, dict):
        raise Invalid("Invalid input JSON: expected an object (simulator)")
    return body


def _integer(value: object, name: str) -> int:
    if isinstance(value, bool):
        raise Invalid(f"{name} must be an integer (simulator)")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise Invalid(f"{name} must be an integer (simulator)")


def _input_ids(body: dict[str, Any], maximum: int | None) -> list[str]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise Invalid("inputs is required (simulator)")
    if maximum is not None and len(inputs) > maximum:
        raise Invalid(f"Batch input limit is {maximum}; got {len(inputs)} inputs (simulator)")
    ids = []
    for item in inputs:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str | int):
            raise Invalid("each input needs an id (simulator)")
        ids.append(str(item["id"]))
    return ids


def _property_names(kind: str, asked: object) -> list[str]:
    if asked is None or asked == []:
        return list(DEFAULT_PROPERTIES[kind])
    if not isinstance(asked, list) or not all(isinstance(p, str) for p in asked):
        raise Invalid("properties must be a list of property names (simulator)")
    return [*asked, *BASE_PROPERTIES[kind]]


def _filter_groups(raw: object) -> list[list[dict[str, Any]]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Invalid("filterGroups must be a list (simulator)")
    if len(raw) > MAX_FILTER_GROUPS:
        raise Invalid(f"Too many filter groups: at most {MAX_FILTER_GROUPS} (simulator)")
    groups = []
    for group in raw:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
            raise Invalid("each filter group needs a list of filters (simulator)")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise Invalid(
                f"Too many filters in a group: at most {MAX_FILTERS_PER_GROUP} (simulator)"
            )
        for f in filters:
            _check_filter(f)
        groups.append(filters)
    if sum(map(len, groups)) > MAX_FILTERS:
        raise Invalid(f"Too many filters: at most {MAX_FILTERS} (simulator)")
    return groups


def _check_filter(f: dict[str, Any]) -> None:
    prop, operator = f.get("propertyName"), f.get("operator")
    if not isinstance(prop, str) or not prop:
        raise Invalid("filter propertyName is required (simulator)")
    if operator not in OPERATORS:
        raise Invalid(f"Unsupported filter operator {operator!r} (simulator)")
    if operator in ("IN", "NOT_IN"):
        values = f.get("values")
        if not isinstance(values, list) or not values:
            raise Invalid(f"{operator} filter on {prop} needs values (simulator)")
        for value in values:
            _comparable(prop, value)
    elif operator in COMPARISONS:
        if f.get("value") is None:
            raise Invalid(f"{operator} filter on {prop} needs a value (simulator)")
        _comparable(prop, f["value"])
        if operator == "BETWEEN":
            if f.get("highValue") is None:
                raise Invalid(f"BETWEEN filter on {prop} needs a highValue (simulator)")
            _comparable(prop, f["highValue"])


Comparable = int | Decimal | str


def _comparable(prop: str, value: object) -> Comparable:
    """A filter or stored value in the property's type: date-times as epoch ms (given as ms or
    ISO 8601), numbers as decimals, everything else case-insensitively (HubSpot's strings)."""
    text = str(value).strip()
    if prop in DATETIME_PROPERTIES:
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            raise Invalid(f"{text!r} is not a valid date-time for {prop} (simulator)") from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return int(at.timestamp() * 1000)
    if prop in NUMBER_PROPERTIES:
        try:
            return Decimal(text)
        except InvalidOperation:
            raise Invalid(f"{text!r} is not a valid number for {prop} (simulator)") from None
    return text.lower()


def _matches(record: CrmRecord, f: dict[str, Any]) -> bool:
    prop, operator = f["propertyName"], f["operator"]
    stored = record.properties.get(prop)
    if operator == "HAS_PROPERTY":
        return stored is not None
    if operator == "NOT_HAS_PROPERTY":
        return stored is None
    if stored is None:
        return False  # an unset property satisfies no comparison
    have = _comparable(prop, stored)
    if operator in ("IN", "NOT_IN"):
        inside = any(have == _comparable(prop, v) for v in f["values"])
        return inside if operator == "IN" else not inside
    want = _comparable(prop, f["value"])
    if type(have) is not type(want):
        return False
    checks: dict[str, Callable[[Any, Any], bool]] = {
        "EQ": lambda a, b: a == b,
        "NEQ": lambda a, b: a != b,
        "GT": lambda a, b: a > b,
        "GTE": lambda a, b: a >= b,
        "LT": lambda a, b: a < b,
        "LTE": lambda a, b: a <= b,
        "BETWEEN": lambda a, b: b <= a <= _comparable(prop, f["highValue"]),
    }
    return checks[operator](have, want)


def _sorted(records: list[CrmRecord], sorts: object) -> list[CrmRecord]:
    """By id without sorts (creation order here); else by the first sort rule, HubSpot taking
    one: {"propertyName", "direction"} or the string form ("prop", "-prop" descending). Unset
    values go last either way; ties keep id order."""
    by_id = sorted(records, key=lambda r: int(r.id))
    if not sorts:
        return by_id
    if not isinstance(sorts, list):
        raise Invalid("sorts must be a list (simulator)")
    rule = sorts[0]
    if isinstance(rule, str):
        prop, descending = rule.lstrip("-"), rule.startswith("-")
    elif isinstance(rule, dict) and isinstance(rule.get("propertyName"), str):
        direction = rule.get("direction", "ASCENDING")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise Invalid(f"Unsupported sort direction {direction!r} (simulator)")
        prop, descending = rule["propertyName"], direction == "DESCENDING"
    else:
        raise Invalid("each sort needs a propertyName (simulator)")
    valued = [r for r in by_id if prop in r.properties]
    unset = [r for r in by_id if prop not in r.properties]
    # Stable, reverse included: equal values stay in id order.
    valued.sort(key=lambda r: _comparable(prop, r.properties[prop]), reverse=descending)
    return valued + unset
