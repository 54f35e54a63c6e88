"""Shop and CRM payloads as conversions: Shopify and WooCommerce orders, HubSpot deals and their
webhook events, click ids in URLs, the platforms' times, and the cross-source dedupe key fields.
Payloads come from convhub_sim's senders, so they look like what the platforms POST."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from convhub_sim.sources import (
    DEFAULT_USER_AGENT,
    hubspot_deal_event,
    shopify_order,
    woocommerce_order,
)
from ingest.domain import hubspot, shopify, woocommerce
from ingest.domain.hubspot import Deal, DealEvent, WrongAccount
from ingest.domain.model import (
    DEFAULT_POLICY,
    ConversionInput,
    HubSpotSettings,
    Item,
    PreparedConversion,
    WooCommerceSettings,
)
from ingest.domain.preparation import dedupe_key, prepare
from ingest.domain.sources import (
    Mapped,
    NotAConversion,
    Unreadable,
    click_ids_from_urls,
    parse_time,
)
from ingest.domain.validation import Limits

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SITE = "shop-1"
PORTAL = 4_455_667
HUBSPOT = HubSpotSettings(
    app_secret_ref="hs-app",
    access_token_ref="hs-token",
    portal_id=PORTAL,
    won_stages=("closedwon", "contractsigned"),
    default_currency="EUR",
)


def converted(mapped: Mapped) -> ConversionInput:
    assert isinstance(mapped, ConversionInput), mapped
    return mapped


# --- Shopify -----------------------------------------------------------------------------------


def test_a_paid_shopify_order_is_a_purchase_with_everything_the_order_knows() -> None:
    order = shopify_order(
        5_123_456_789_012,
        total_price="129.90",
        currency="EUR",
        created_at="2026-11-22T12:34:56+01:00",
        landing_site="/products/linen-shirt?gclid=EAIaIQobChMIsim0demo&utm_source=google",
    )
    c = converted(shopify.order_to_conversion(SITE, order))

    assert (c.site_id, c.order_id, c.event_type) == (SITE, "5123456789012", "purchase")
    assert (c.value, c.currency) == ("129.90", "EUR")
    # processed_at in the shop's +01:00: the same instant, 11:34:56 UTC.
    assert c.event_time == datetime(2026, 11, 22, 11, 34, 56, tzinfo=UTC)
    assert c.user_data == {
        "email": "anna.schmidt@example.com",
        "phone": "+4915112345678",
        "first_name": "Anna",
        "last_name": "Schmidt",
        "city": "Berlin",
        "state": "BE",
        "zip": "10115",
        "country": "DE",
        "external_id": str(order["customer"]["id"]),
    }
    assert (c.client_ip, c.user_agent) == ("203.0.113.7", DEFAULT_USER_AGENT)
    assert c.click_ids == {"gclid": "EAIaIQobChMIsim0demo"}
    assert c.items == (
        Item(
            id="LINEN-BLUE-M",
            name="Linen Shirt",
            quantity=1,
            price="129.90",
            brand="Demo Shop",
            variant="Blue / M",
        ),
    )
    assert (c.source, c.source_ref) == ("CONVERSION_SOURCE_SHOPIFY", "5123456789012")
    assert c.action_source == "ACTION_SOURCE_WEBSITE"
    # The referrer is an absolute URL; the landing site is a bare path, never a page_url.
    assert (c.referrer_url, c.page_url) == ("https://www.google.com/", "")


def test_a_mapped_shopify_order_prepares_without_errors_or_warnings() -> None:
    order = shopify_order(1001, created_at="2026-11-22T12:30:00+01:00")
    result = prepare(
        converted(shopify.order_to_conversion(SITE, order)),
        DEFAULT_POLICY,
        NOW,
        Limits(),
        conversion_id="c-1",
    )
    assert isinstance(result, PreparedConversion), result
    assert result.warnings == ()


def test_shopify_click_ids_come_from_the_landing_path_and_the_referrer() -> None:
    order = shopify_order(
        1002,
        landing_site=(
            "/collections/all?gclid=Gclid_landing_1&gbraid=Gbraid_12345"
            "&wbraid=Wbraid_12345&fbclid=IwAR_landing&ttclid=E.C.P.tt_landing"
        ),
        referring_site="https://www.google.com/url?gclid=Gclid_referrer_1&q=shirt",
    )
    c = converted(shopify.order_to_conversion(SITE, order))
    assert c.click_ids == {
        "gclid": "Gclid_landing_1",  # the landing page outranks its referrer
        "gbraid": "Gbraid_12345",
        "wbraid": "Wbraid_12345",
        "fbclid": "IwAR_landing",
        "ttclid": "E.C.P.tt_landing",
    }

    only_referrer = shopify_order(
        1003,
        landing_site="/products/linen-shirt",
        referring_site="https://l.facebook.com/l.php?fbclid=IwAR_referrer&u=x",
    )
    assert converted(shopify.order_to_conversion(SITE, only_referrer)).click_ids == {
        "fbclid": "IwAR_referrer"
    }


def test_shopify_checkout_attributes_outrank_url_parameters() -> None:
    order = shopify_order(
        1004,
        landing_site="/?gclid=Gclid_from_url_1&fbclid=IwAR_url",
        note_attributes=[
            {"name": "gclid", "value": "Gclid_from_note"},
            {"name": "_fbc", "value": "fb.1.1700000000000.IwAR_note"},
            {"name": "_fbp", "value": "fb.1.1700000000000.1234567890"},
            {"name": "gift_message", "value": "happy birthday"},
            {"name": "ttclid", "value": ""},
        ],
    )
    c = converted(shopify.order_to_conversion(SITE, order))
    assert c.click_ids == {
        "gclid": "Gclid_from_note",
        "fbclid": "IwAR_url",
        "fbc": "fb.1.1700000000000.IwAR_note",
        "fbp": "fb.1.1700000000000.1234567890",
    }


@pytest.mark.parametrize("status", ["pending", "authorized", "partially_paid", "voided", ""])
def test_an_unpaid_shopify_order_is_not_a_conversion(status: str) -> None:
    mapped = shopify.order_to_conversion(SITE, shopify_order(1005, financial_status=status))
    assert isinstance(mapped, NotAConversion)
    assert "not paid" in mapped.reason


@pytest.mark.parametrize("status", ["paid", "partially_refunded", "refunded"])
def test_paid_and_later_refunded_shopify_orders_are_purchases(status: str) -> None:
    mapped = shopify.order_to_conversion(SITE, shopify_order(1006, financial_status=status))
    assert isinstance(mapped, ConversionInput)


def test_cancelled_and_test_shopify_orders_are_not_conversions() -> None:
    cancelled = shopify_order(1007) | {"cancelled_at": "2026-11-22T13:00:00+01:00"}
    assert shopify.order_to_conversion(SITE, cancelled) == NotAConversion("cancelled order")
    test_order = shopify_order(1008, test=True)
    assert shopify.order_to_conversion(SITE, test_order) == NotAConversion("test order")


@pytest.mark.parametrize("order_id", [None, ""])
def test_a_shopify_payload_without_an_id_is_unreadable(order_id: object) -> None:
    payload = shopify_order(1009) | {"id": order_id}
    mapped = shopify.order_to_conversion(SITE, payload)
    assert isinstance(mapped, Unreadable)
    assert [(e.field, e.code) for e in mapped.errors] == [("id", "REQUIRED")]
    assert isinstance(shopify.order_to_conversion(SITE, {"topic": "x"}), Unreadable)


def test_a_shopify_pos_order_is_a_physical_store_conversion() -> None:
    order = shopify_order(1010) | {"source_name": "pos"}
    c = converted(shopify.order_to_conversion(SITE, order))
    assert c.action_source == "ACTION_SOURCE_PHYSICAL_STORE"


# --- WooCommerce -------------------------------------------------------------------------------


def test_a_processing_woocommerce_order_is_a_purchase() -> None:
    order = woocommerce_order(
        4711,
        total="89.50",
        currency="EUR",
        date_created_gmt="2026-11-22T10:00:00",
        landing_url="https://shop.example/beanie?gclid=Gclid_woo_12345&ttclid=tt_woo",
        referrer="https://www.google.com/",
        customer_id=42,
    )
    c = converted(woocommerce.order_to_conversion(SITE, order, WooCommerceSettings()))

    assert (c.order_id, c.source, c.source_ref) == ("4711", "CONVERSION_SOURCE_WOOCOMMERCE", "4711")
    assert (c.event_type, c.value, c.currency) == ("purchase", "89.50", "EUR")
    # date_paid_gmt (4 s after creation in the sender) is UTC without an offset.
    assert order["date_paid_gmt"] == "2026-11-22T10:00:04"
    assert c.event_time == datetime(2026, 11, 22, 10, 0, 4, tzinfo=UTC)
    assert c.user_data == {
        "email": "jonas.weber@example.com",
        "phone": "+4917612345678",
        "first_name": "Jonas",
        "last_name": "Weber",
        "city": "Berlin",
        "zip": "10119",
        "country": "DE",
        "external_id": "42",
    }
    assert c.click_ids == {"gclid": "Gclid_woo_12345", "ttclid": "tt_woo"}
    assert c.page_url == "https://shop.example/beanie?gclid=Gclid_woo_12345&ttclid=tt_woo"
    assert c.referrer_url == "https://www.google.com/"
    assert (c.client_ip, c.user_agent) == ("198.51.100.23", DEFAULT_USER_AGENT)
    assert [(i.id, i.name, i.quantity) for i in c.items] == [
        ("BEANIE-NAVY", "Merino Beanie - Navy", 1)
    ]
    assert c.action_source == "ACTION_SOURCE_WEBSITE"


def test_a_woocommerce_guest_order_has_no_external_id_and_reads_fbclid_from_the_entry() -> None:
    order = woocommerce_order(4712, date_created_gmt="2026-11-22T10:00:00")
    c = converted(woocommerce.order_to_conversion(SITE, order, WooCommerceSettings()))
    assert "external_id" not in c.user_data
    assert c.click_ids == {"fbclid": "IwAR0sim0demo"}
    assert c.page_url == "https://shop.example/?fbclid=IwAR0sim0demo"
    assert c.referrer_url == "https://l.facebook.com/"


def test_woocommerce_completed_orders_count_and_pending_or_on_hold_do_not() -> None:
    settings = WooCommerceSettings()
    completed = woocommerce_order(4713, status="completed", date_created_gmt="2026-11-22T10:00:00")
    assert isinstance(woocommerce.order_to_conversion(SITE, completed, settings), ConversionInput)
    for status in ("pending", "on-hold", "failed", "cancelled"):
        mapped = woocommerce.order_to_conversion(
            SITE, woocommerce_order(4714, status=status), settings
        )
        assert mapped == NotAConversion(f"status {status}: not paid"), status


def test_a_woocommerce_site_chooses_its_paid_statuses() -> None:
    settings = WooCommerceSettings(paid_statuses=("completed", "on-hold"))
    on_hold = woocommerce_order(4715, status="on-hold", date_created_gmt="2026-11-22T10:00:00")
    c = converted(woocommerce.order_to_conversion(SITE, on_hold, settings))
    # Not paid yet: no date_paid_gmt, so the order's creation time is the event time.
    assert c.event_time == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    processing = woocommerce_order(4716, status="processing")
    assert isinstance(woocommerce.order_to_conversion(SITE, processing, settings), NotAConversion)


def test_a_woocommerce_payload_without_an_id_is_unreadable() -> None:
    mapped = woocommerce.order_to_conversion(
        SITE, woocommerce_order(4717) | {"id": None}, WooCommerceSettings()
    )
    assert isinstance(mapped, Unreadable)
    assert mapped.errors[0].field == "id"


def test_a_woocommerce_line_price_with_many_decimals_does_not_reject_the_order() -> None:
    order = woocommerce_order(
        4718,
        total="10.00",
        date_created_gmt="2026-11-22T10:00:00",
        line_items=[
            {
                "id": 1,
                "name": "Wool Socks",
                "product_id": 9,
                "variation_id": 0,
                "quantity": 3,
                "sku": "SOCKS",
                "total": "10.00",
                "price": 10.00 / 3,  # as WooCommerce computes it: get_total() / get_quantity()
            }
        ],
    )
    c = converted(woocommerce.order_to_conversion(SITE, order, WooCommerceSettings()))
    result = prepare(c, DEFAULT_POLICY, NOW, Limits(), conversion_id="c-woo")
    assert isinstance(result, PreparedConversion), result
    assert result.input.items[0].price == "3.333333"


# --- HubSpot -----------------------------------------------------------------------------------


def test_deal_events_keep_won_stage_changes_and_creations_and_count_the_rest() -> None:
    occurred = int(datetime(2026, 11, 22, 11, 0, tzinfo=UTC).timestamp() * 1000)
    won = hubspot_deal_event(10_001, portal_id=PORTAL, event_id=1, occurred_at_ms=occurred)
    other_won = hubspot_deal_event(10_002, portal_id=PORTAL, stage="contractsigned", event_id=2)
    lost = hubspot_deal_event(10_003, portal_id=PORTAL, stage="closedlost", event_id=3)
    amount = hubspot_deal_event(10_004, portal_id=PORTAL, event_id=4) | {
        "propertyName": "amount",
        "propertyValue": "closedwon",
    }
    created = {
        "eventId": 5,
        "portalId": PORTAL,
        "subscriptionType": "deal.creation",
        "objectId": 10_005,
        "occurredAt": occurred,
    }
    contact = {"eventId": 6, "portalId": PORTAL, "subscriptionType": "contact.creation"}
    no_event_id = hubspot_deal_event(10_006, portal_id=PORTAL) | {"eventId": None}
    bad_object = hubspot_deal_event(10_007, portal_id=PORTAL, event_id=8) | {"objectId": "x1"}

    events, ignored = hubspot.deal_events(
        [won, other_won, lost, amount, created, contact, no_event_id, bad_object, "junk"], HUBSPOT
    )

    assert [(e.event_id, e.deal_id) for e in events] == [
        ("1", "10001"),
        ("2", "10002"),
        ("5", "10005"),
    ]
    assert events[0] == DealEvent("1", "10001", datetime(2026, 11, 22, 11, 0, tzinfo=UTC))
    assert ignored == 6


def test_an_event_of_another_hubspot_account_refuses_the_whole_batch() -> None:
    ours = hubspot_deal_event(10_001, portal_id=PORTAL, event_id=1)
    theirs = hubspot_deal_event(10_002, portal_id=999, event_id=2)
    with pytest.raises(WrongAccount, match="999"):
        hubspot.deal_events([ours, theirs], HUBSPOT)


def won_deal(**properties: Any) -> Deal:
    base: dict[str, Any] = {
        "amount": "1500.00",
        "deal_currency_code": "USD",
        "dealstage": "closedwon",
        "closedate": "2026-11-20T10:15:00.000Z",
        "hs_lastmodifieddate": "2026-11-21T08:00:00.000Z",
        "pipeline": "default",
    }
    contacts = (
        {
            "email": "kim.lee@example.com",
            "phone": "",
            "mobilephone": "+14155550123",
            "firstname": "Kim",
            "lastname": "Lee",
            "city": "Oakland",
            "country": "US",
            "hs_google_click_id": "Gclid_hubspot_123",
            "hs_facebook_click_id": "",
        },
        {"email": "second.contact@example.com", "firstname": "Second"},
    )
    return Deal("20001", base | properties, contacts, ("301", "302"))


def test_a_won_deal_is_a_conversion_of_its_first_contact() -> None:
    c = converted(hubspot.deal_to_conversion(SITE, won_deal(), HUBSPOT))
    assert (c.order_id, c.source, c.source_ref) == ("20001", "CONVERSION_SOURCE_HUBSPOT", "20001")
    assert (c.event_type, c.value, c.currency) == ("purchase", "1500.00", "USD")
    assert c.event_time == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
    assert c.user_data == {
        "email": "kim.lee@example.com",
        "phone": "+14155550123",  # mobilephone when the contact has no phone
        "first_name": "Kim",
        "last_name": "Lee",
        "city": "Oakland",
        "country": "US",
        "external_id": "301",
    }
    assert c.click_ids == {"gclid": "Gclid_hubspot_123"}
    assert c.action_source == "ACTION_SOURCE_SYSTEM_GENERATED"


def test_a_deal_reads_the_sites_event_type_default_currency_and_phone_first() -> None:
    settings = dataclasses.replace(HUBSPOT, event_type="lead", default_currency="CHF")
    deal = won_deal(deal_currency_code=None, closedate="1763720100000")
    deal = dataclasses.replace(
        deal, contacts=({**deal.contacts[0], "phone": "+14155550100"},), contact_ids=()
    )
    c = converted(hubspot.deal_to_conversion(SITE, deal, settings))
    assert (c.event_type, c.value, c.currency) == ("lead", "1500.00", "CHF")
    assert c.event_time == datetime.fromtimestamp(1_763_720_100, tz=UTC)  # epoch ms closedate
    assert c.user_data["phone"] == "+14155550100"
    assert "external_id" not in c.user_data


def test_a_deal_without_amount_or_closedate_or_contacts() -> None:
    deal = Deal(
        "20002", {"dealstage": "contractsigned", "hs_lastmodifieddate": "2026-11-21T08:00:00Z"}
    )
    c = converted(hubspot.deal_to_conversion(SITE, deal, HUBSPOT))
    assert (c.value, c.currency) == ("", "")  # no amount: no default currency either
    assert c.event_time == datetime(2026, 11, 21, 8, 0, tzinfo=UTC)  # last modified instead
    assert (c.user_data, c.click_ids) == ({}, {})


@pytest.mark.parametrize("stage", ["closedlost", "appointmentscheduled", None])
def test_a_deal_not_in_a_won_stage_is_not_a_conversion(stage: str | None) -> None:
    mapped = hubspot.deal_to_conversion(SITE, won_deal(dealstage=stage), HUBSPOT)
    assert isinstance(mapped, NotAConversion)
    assert "not a won stage" in mapped.reason


# --- click ids and times -----------------------------------------------------------------------


def test_click_ids_from_urls() -> None:
    assert click_ids_from_urls(
        "https://shop.example/p?gclid=Gclid_one&utm_source=x&fbclid=",
        "/relative?fbclid=IwAR_two&gclid=Gclid_two",
        "",
        "https://no-query.example/",
        "http://[bad?gclid=Gclid_bad_url",
    ) == {"gclid": "Gclid_one", "fbclid": "IwAR_two"}
    assert click_ids_from_urls("https://x.example/?GCLID=upper&xgclid=1") == {}
    assert click_ids_from_urls() == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-22T12:00:00Z", datetime(2026, 11, 22, 12, tzinfo=UTC)),
        ("2026-11-22T12:00:00.123Z", datetime(2026, 11, 22, 12, 0, 0, 123000, tzinfo=UTC)),
        ("2026-11-22T13:30:00+01:30", datetime(2026, 11, 22, 12, tzinfo=UTC)),
        ("2026-11-22T12:00:00", datetime(2026, 11, 22, 12, tzinfo=UTC)),  # naive: UTC
        (1_763_812_800_000, datetime(2025, 11, 22, 12, tzinfo=UTC)),
        ("1763812800000", datetime(2025, 11, 22, 12, tzinfo=UTC)),
        (1_763_812_800_500.0, datetime(2025, 11, 22, 12, 0, 0, 500000, tzinfo=UTC)),
        (None, None),
        ("", None),
        ("yesterday", None),
        ("2026-13-45T99:00:00Z", None),
        ({"at": 1}, None),
        ("99999999999999999999999", None),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    parsed = parse_time(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() is not None


# --- the cross-source dedupe key fields --------------------------------------------------------

KEY = ("email", "event_hour", "value")


def person(email: str, at: datetime, **overrides: Any) -> ConversionInput:
    base = ConversionInput(
        site_id=SITE,
        order_id="differs-per-source",
        event_type="purchase",
        event_time=at,
        value="129.90",
        currency="EUR",
        user_data={"email": email},
    )
    return dataclasses.replace(base, **overrides)


def test_one_email_in_any_case_within_one_utc_hour_is_one_key() -> None:
    at = datetime(2026, 11, 22, 12, 5, tzinfo=UTC)
    shop = person("Anna.Schmidt@Example.com", at, order_id="5123456789012", source="shopify")
    crm = person(
        "  anna.schmidt@example.COM ",
        datetime(2026, 11, 22, 13, 55, tzinfo=timezone(timedelta(hours=1))),  # 12:55 UTC
        order_id="20001",
    )
    assert dedupe_key(shop, KEY) == dedupe_key(crm, KEY)


def test_another_hour_or_email_or_site_is_another_key() -> None:
    at = datetime(2026, 11, 22, 12, 59, 59, tzinfo=UTC)
    key = dedupe_key(person("anna@example.com", at), KEY)
    assert dedupe_key(person("anna@example.com", at + timedelta(seconds=1)), KEY) != key
    assert dedupe_key(person("otto@example.com", at), KEY) != key
    assert dedupe_key(person("anna@example.com", at, value="129.91"), KEY) != key
    assert dedupe_key(person("anna@example.com", at, site_id="shop-2"), KEY) != key


def test_a_hashed_email_keys_like_the_raw_one() -> None:
    at = datetime(2026, 11, 22, 12, 5, tzinfo=UTC)
    digest = hashlib.sha256(b"anna.schmidt@example.com").hexdigest()
    raw = dedupe_key(person(" Anna.Schmidt@example.com", at), KEY)
    assert dedupe_key(person(digest, at), KEY) == raw
    assert dedupe_key(person(digest.upper(), at), KEY) == raw


def test_the_key_ignores_email_and_hour_unless_they_are_key_fields() -> None:
    at = datetime(2026, 11, 22, 12, 5, tzinfo=UTC)
    default = ("site_id", "order_id", "event_type")
    a = person("anna@example.com", at)
    b = person("otto@example.com", at + timedelta(hours=5))
    assert dedupe_key(a, default) == dedupe_key(b, default)
    assert dedupe_key(a, KEY) != dedupe_key(b, KEY)


def test_shop_orders_carry_a_page_for_website_events() -> None:
    """Meta refuses website events without event_source_url: the shop's landing page (Shopify,
    without its query) or the session's entry page, else the shop (WooCommerce)."""
    order = shopify_order(31, landing_site="/products/shirt?gclid=abc123abc123&x=1")
    c = converted(shopify.order_to_conversion(SITE, order, "demo-shop.myshopify.com"))
    assert c.page_url == "https://demo-shop.myshopify.com/products/shirt"
    assert converted(shopify.order_to_conversion(SITE, order, "bad domain/")).page_url == ""
    woo = woocommerce_order(32)
    woo["meta_data"] = [m for m in woo["meta_data"] if not m["key"].startswith("_wc_order_attr")]
    plain = woocommerce.order_to_conversion(
        SITE, woo, WooCommerceSettings(), "https://shop.example/"
    )
    assert converted(plain).page_url == "https://shop.example/"
