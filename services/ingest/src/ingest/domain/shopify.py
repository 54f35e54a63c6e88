"""A Shopify order (the orders/paid and orders/create webhooks) as a purchase."""

from __future__ import annotations

import re
from typing import Any

from hubkit.errors import FieldError
from ingest.domain.model import ConversionInput, Item
from ingest.domain.sources import (
    Mapped,
    NotAConversion,
    Unreadable,
    click_ids_from_urls,
    first,
    obj,
    objects,
    parse_time,
    price,
    text,
)

_DOMAIN = re.compile(r"[A-Za-z0-9.-]{1,253}")
PAID = frozenset({"paid", "partially_refunded", "refunded"})
# note_attributes a storefront sets at checkout: click ids and cookies the order URL lacks.
_NOTE_CLICK_IDS = {
    "gclid": "gclid",
    "gbraid": "gbraid",
    "wbraid": "wbraid",
    "fbclid": "fbclid",
    "fbc": "fbc",
    "_fbc": "fbc",
    "fbp": "fbp",
    "_fbp": "fbp",
    "ttclid": "ttclid",
    "ttp": "ttp",
    "_ttp": "ttp",
}


def order_to_conversion(site_id: str, order: dict[str, Any], shop_domain: str = "") -> Mapped:
    """A paid order becomes one purchase; its order id is Shopify's numeric id. The page is the
    shop's landing page (Meta needs one for website events), without its query."""
    if not text(order.get("id")):
        return Unreadable((FieldError("id", "REQUIRED", "not a Shopify order: it has no id"),))
    status = text(order.get("financial_status"))
    if status not in PAID:
        return NotAConversion(f"financial_status {status or 'missing'}: not paid")
    if order.get("cancelled_at"):
        return NotAConversion("cancelled order")
    if order.get("test") is True:
        return NotAConversion("test order")
    customer, billing = obj(order.get("customer")), obj(order.get("billing_address"))
    address = billing or obj(customer.get("default_address")) or obj(order.get("shipping_address"))
    client = obj(order.get("client_details"))
    notes = {
        text(n.get("name")): text(n.get("value")) for n in objects(order.get("note_attributes"))
    }
    click_ids = {_NOTE_CLICK_IDS[k]: v for k, v in notes.items() if k in _NOTE_CLICK_IDS and v}
    found = click_ids_from_urls(text(order.get("landing_site")), text(order.get("referring_site")))
    click_ids = found | click_ids  # a checkout attribute outranks a URL parameter
    user_data = {
        "email": first(order.get("email"), order.get("contact_email"), customer.get("email")),
        "phone": first(order.get("phone"), customer.get("phone"), address.get("phone")),
        "first_name": first(customer.get("first_name"), address.get("first_name")),
        "last_name": first(customer.get("last_name"), address.get("last_name")),
        "city": text(address.get("city")),
        "state": first(address.get("province_code"), address.get("province")),
        "zip": text(address.get("zip")),
        "country": first(address.get("country_code"), address.get("country")),
        "external_id": text(customer.get("id")),
    }
    return ConversionInput(
        site_id=site_id,
        order_id=text(order.get("id")),
        event_type="purchase",
        event_time=parse_time(order.get("processed_at")) or parse_time(order.get("created_at")),
        value=text(order.get("total_price")),
        currency=text(order.get("currency")),
        click_ids=click_ids,
        user_data={k: v for k, v in user_data.items() if v},
        client_ip=first(order.get("browser_ip"), client.get("browser_ip")),
        user_agent=text(client.get("user_agent")),
        page_url=_page(shop_domain, text(order.get("landing_site"))),
        referrer_url=_absolute(text(order.get("referring_site"))),
        items=tuple(_item(line) for line in objects(order.get("line_items"))),
        visitor_id=notes.get("visitor_id", ""),
        source="CONVERSION_SOURCE_SHOPIFY",
        source_ref=text(order.get("id")),
        action_source=(
            "ACTION_SOURCE_PHYSICAL_STORE"
            if text(order.get("source_name")) == "pos"
            else "ACTION_SOURCE_WEBSITE"
        ),
    )


def _item(line: dict[str, Any]) -> Item:
    quantity = line.get("quantity")
    return Item(
        id=first(line.get("sku"), line.get("variant_id"), line.get("product_id")),
        name=text(line.get("title")),
        quantity=quantity if isinstance(quantity, int) and quantity > 0 else 0,
        price=price(line.get("price")),
        brand=text(line.get("vendor")),
        variant=text(line.get("variant_title")),
    )


def _page(shop_domain: str, landing_site: str) -> str:
    if not shop_domain or not _DOMAIN.fullmatch(shop_domain):
        return ""
    path = landing_site.split("?", 1)[0].split("#", 1)[0]
    return f"https://{shop_domain}{path if path.startswith('/') else '/'}"


def _absolute(url: str) -> str:
    """Only absolute URLs are URLs to a platform; Shopify's landing_site is a bare path."""
    return url if url.startswith(("https://", "http://")) else ""


def redact_identifiers(payload: dict[str, Any]) -> dict[str, str]:
    """What Shopify's customers/redact names of the customer: email, phone, and its id (the
    order mapping's external_id)."""
    customer = obj(payload.get("customer"))
    found = {
        "email": text(customer.get("email")),
        "phone": text(customer.get("phone")),
        "external_id": text(customer.get("id")),
    }
    return {name: value for name, value in found.items() if value}
