"""A WooCommerce order (order.created / order.updated webhooks) as a purchase."""

from __future__ import annotations

from typing import Any

from hubkit.errors import FieldError
from ingest.domain.model import ConversionInput, Item, WooCommerceSettings
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

# WooCommerce's order attribution (since 8.5) keeps the session's landing page and referrer.
_ENTRY = "_wc_order_attribution_session_entry"
_REFERRER = "_wc_order_attribution_referrer"


def order_to_conversion(
    site_id: str, order: dict[str, Any], settings: WooCommerceSettings, shop_url: str = ""
) -> Mapped:
    """An order in one of the site's paid statuses becomes one purchase. Its page is the
    session's landing page, else the shop (X-WC-Webhook-Source): Meta needs one."""
    if not text(order.get("id")):
        return Unreadable((FieldError("id", "REQUIRED", "not a WooCommerce order: it has no id"),))
    status = text(order.get("status"))
    if status not in settings.paid_statuses:
        return NotAConversion(f"status {status or 'missing'}: not paid")
    billing = obj(order.get("billing"))
    meta = {text(m.get("key")): m.get("value") for m in objects(order.get("meta_data"))}
    entry, referrer = text(meta.get(_ENTRY)), text(meta.get(_REFERRER))
    click_ids = click_ids_from_urls(entry, referrer)
    for name in ("gclid", "gbraid", "wbraid", "fbclid", "fbc", "fbp", "ttclid", "ttp"):
        value = first(meta.get(name), meta.get(f"_{name}"))
        if value:
            click_ids[name] = value
    customer_id = text(order.get("customer_id"))
    user_data = {
        "email": text(billing.get("email")),
        "phone": text(billing.get("phone")),
        "first_name": text(billing.get("first_name")),
        "last_name": text(billing.get("last_name")),
        "city": text(billing.get("city")),
        "state": text(billing.get("state")),
        "zip": text(billing.get("postcode")),
        "country": text(billing.get("country")),
        "external_id": customer_id if customer_id not in ("", "0") else "",
    }
    return ConversionInput(
        site_id=site_id,
        order_id=text(order.get("id")),
        event_type="purchase",
        event_time=(
            parse_time(order.get("date_paid_gmt")) or parse_time(order.get("date_created_gmt"))
        ),
        value=text(order.get("total")),
        currency=text(order.get("currency")),
        click_ids=click_ids,
        user_data={k: v for k, v in user_data.items() if v},
        client_ip=text(order.get("customer_ip_address")),
        user_agent=text(order.get("customer_user_agent")),
        page_url=next((u for u in (entry, shop_url) if u.startswith(("https://", "http://"))), ""),
        referrer_url=referrer if referrer.startswith(("https://", "http://")) else "",
        items=tuple(_item(line) for line in objects(order.get("line_items"))),
        visitor_id=text(meta.get("visitor_id")),
        source="CONVERSION_SOURCE_WOOCOMMERCE",
        source_ref=text(order.get("id")),
        action_source="ACTION_SOURCE_WEBSITE",
    )


def _item(line: dict[str, Any]) -> Item:
    quantity = line.get("quantity")
    return Item(
        id=first(line.get("sku"), line.get("variation_id") or None, line.get("product_id")),
        name=text(line.get("name")),
        quantity=quantity if isinstance(quantity, int) and quantity > 0 else 0,
        price=price(line.get("price")),
    )
