"""Site configuration rules: each problem is reported with its field path, secrets never echoed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from router.domain.site import (
    AttributionSettings,
    DedupePolicy,
    Destinations,
    GoogleDestination,
    HubSpotSource,
    MetaDestination,
    Mode,
    SgtmFormat,
    SgtmSettings,
    ShopifySource,
    SiteConfig,
    Sources,
    TikTokDestination,
    WooCommerceSource,
)
from router.domain.validation import normalize, validate

META_TOKEN = "EAABwzLixnjYBOZBZCexampleexampleexampleexampleexampleZDZD"


def direct_site(**meta: object) -> SiteConfig:
    fields = {"enabled": True, "pixel_id": "1234567890", "credentials_ref": "shop-meta"} | meta
    return SiteConfig(
        "shop-de",
        mode=Mode.DIRECT,
        destinations=Destinations(meta=MetaDestination(**fields)),  # type: ignore[arg-type]
    )


def fields(site: SiteConfig, **kw: bool) -> dict[str, str]:
    return {p.field: p.code for p in validate(normalize(site), **kw)}


def test_a_complete_direct_site_is_valid() -> None:
    site = SiteConfig(
        "shop-de",
        mode=Mode.DIRECT,
        destinations=Destinations(
            google=GoogleDestination(
                enabled=True,
                customer_id="123-456-7890",
                conversion_actions={"purchase": "customers/1234567890/conversionActions/42"},
                credentials_ref="shop-google",
            ),
            meta=MetaDestination(enabled=True, pixel_id="1234567890", credentials_ref="shop-meta"),
            tiktok=TikTokDestination(
                enabled=True, pixel_code="C4ABCDEF123", credentials_ref="shop-tiktok"
            ),
        ),
    )
    assert validate(normalize(site)) == []
    assert normalize(site).destinations.google.customer_id == "1234567890"


def test_an_enabled_direct_destination_must_name_its_accounts() -> None:
    problems = fields(direct_site(pixel_id="", credentials_ref=""))
    assert problems == {
        "site.destinations.meta.pixel_id": "REQUIRED",
        "site.destinations.meta.credentials_ref": "REQUIRED",
    }
    google = SiteConfig("s", destinations=Destinations(google=GoogleDestination(enabled=True)))
    assert set(fields(google)) == {
        "site.destinations.google.customer_id",
        "site.destinations.google.credentials_ref",
        "site.destinations.google.conversion_actions",
    }


def test_a_disabled_destination_may_be_incomplete_but_not_malformed() -> None:
    assert fields(direct_site(enabled=False, pixel_id="", credentials_ref="")) == {}
    assert fields(direct_site(enabled=False, pixel_id="not-a-pixel")) == {
        "site.destinations.meta.pixel_id": "INVALID_FORMAT"
    }


def test_an_sgtm_site_needs_a_url() -> None:
    assert fields(SiteConfig("shop", mode=Mode.SGTM)) == {"site.sgtm.url": "REQUIRED"}


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://sgtm.shop.example/data", "INSECURE"),
        ("https://user:pass@sgtm.shop.example/data", "SECRET_IN_URL"),
        ("ftp://sgtm.shop.example/data", "INVALID_FORMAT"),
        ("https:///data", "INVALID_FORMAT"),
        ("https://sgtm.shop.example/data#x", "INVALID_FORMAT"),
    ],
)
def test_sgtm_url_rules(url: str, code: str) -> None:
    site = SiteConfig("shop", mode=Mode.SGTM, sgtm=SgtmSettings(url=url))
    assert fields(site) == {"site.sgtm.url": code}


def test_plain_http_is_for_loopback_or_when_allowed() -> None:
    local = SiteConfig("shop", mode=Mode.SGTM, sgtm=SgtmSettings(url="http://127.0.0.1:8080/data"))
    cluster = replace(local, sgtm=SgtmSettings(url="http://sgtm.tagging.svc/data"))
    assert fields(local) == {}
    assert fields(cluster) == {"site.sgtm.url": "INSECURE"}
    assert fields(cluster, allow_plain_http=True) == {}


@pytest.mark.parametrize(
    "ref",
    [
        META_TOKEN,
        "a3f1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "xoxb12345678901234567890abcdef",
        "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    ],
)
def test_a_credentials_reference_that_looks_like_a_secret_is_refused(ref: str) -> None:
    problems = validate(normalize(direct_site(credentials_ref=ref)))
    assert [(p.field, p.code) for p in problems] == [
        ("site.destinations.meta.credentials_ref", "SECRET_NOT_REFERENCE")
    ]
    assert all(ref not in p.message for p in problems)


@pytest.mark.parametrize("ref", ["../etc/passwd", "dir/file", "with space", "x-" * 51])
def test_a_credentials_reference_is_a_file_name(ref: str) -> None:
    assert fields(direct_site(credentials_ref=ref)) == {
        "site.destinations.meta.credentials_ref": "INVALID_FORMAT"
    }


def test_shared_secret_header_needs_both_name_and_reference() -> None:
    base = SgtmSettings(url="https://sgtm.shop.example/data")
    assert fields(SiteConfig("s", sgtm=replace(base, auth_header_name="x-auth"))) == {
        "site.sgtm.auth_secret_ref": "REQUIRED"
    }
    assert fields(SiteConfig("s", sgtm=replace(base, auth_secret_ref="sgtm-secret"))) == {
        "site.sgtm.auth_header_name": "REQUIRED"
    }
    reserved = replace(base, auth_header_name="Content-Type", auth_secret_ref="sgtm-secret")
    assert fields(SiteConfig("s", sgtm=reserved)) == {"site.sgtm.auth_header_name": "RESERVED"}


def test_ga4_mp_needs_measurement_id_and_api_secret_reference() -> None:
    mp = SgtmSettings(url="https://sgtm.shop.example", format=SgtmFormat.GA4_MP)
    assert fields(SiteConfig("s", mode=Mode.SGTM, sgtm=mp)) == {
        "site.sgtm.measurement_id": "REQUIRED",
        "site.sgtm.api_secret_ref": "REQUIRED",
    }
    leaked = replace(mp, url="https://sgtm.shop.example/mp/collect?api_secret=abc")
    assert "site.sgtm.url" in fields(SiteConfig("s", sgtm=leaked))
    assert (
        fields(SiteConfig("s", sgtm=replace(mp, max_batch_events=26))).get(
            "site.sgtm.max_batch_events"
        )
        == "OUT_OF_RANGE"
    )


def test_google_conversion_actions_are_checked_per_event_type() -> None:
    site = SiteConfig(
        "s",
        destinations=Destinations(
            google=GoogleDestination(
                enabled=True,
                customer_id="1234567890",
                credentials_ref="g",
                conversion_actions={"Purchase": "customers/1/conversionActions/2"},
            )
        ),
    )
    assert fields(site) == {
        "site.destinations.google.conversion_actions[Purchase]": "INVALID_FORMAT"
    }


def test_site_id_and_dedupe_rules() -> None:
    assert fields(SiteConfig("")) == {"site.site_id": "REQUIRED"}
    assert fields(SiteConfig("shop.de")) == {"site.site_id": "INVALID_FORMAT"}
    bad = SiteConfig("s", dedupe=DedupePolicy(window_seconds=-1, key_fields=("order_id", "phone")))
    assert fields(bad) == {
        "site.dedupe.window_seconds": "OUT_OF_RANGE",
        "site.dedupe.key_fields[1]": "INVALID_VALUE",
    }
    across_sources = DedupePolicy(key_fields=("email", "value", "event_hour"))
    assert fields(SiteConfig("s", dedupe=across_sources)) == {}


def test_sources_rules() -> None:
    good = Sources(
        shopify=ShopifySource(secret_ref="shop-shopify", shop_domain="demo-shop.myshopify.com"),
        woocommerce=WooCommerceSource(secret_ref="shop-woo", paid_statuses=("completed",)),
        hubspot=HubSpotSource(
            app_secret_ref="hs-app", access_token_ref="hs-token", portal_id=62515, event_type="lead"
        ),
    )
    assert fields(SiteConfig("s", sources=good)) == {}
    bad = Sources(
        shopify=ShopifySource(secret_ref="shpss_0123456789abcdef0123456789abcdef", shop_domain="x"),
        woocommerce=WooCommerceSource(secret_ref="w", paid_statuses=("Paid!",)),
        hubspot=HubSpotSource(
            app_secret_ref="hs-app", won_stages=("",), event_type="sale", default_currency="eur1"
        ),
    )
    assert fields(SiteConfig("s", sources=bad)) == {
        "site.sources.shopify.secret_ref": "SECRET_NOT_REFERENCE",
        "site.sources.shopify.shop_domain": "INVALID_FORMAT",
        "site.sources.woocommerce.paid_statuses[0]": "INVALID_FORMAT",
        "site.sources.hubspot.access_token_ref": "REQUIRED",
        "site.sources.hubspot.portal_id": "REQUIRED",
        "site.sources.hubspot.won_stages[0]": "INVALID_FORMAT",
        "site.sources.hubspot.event_type": "INVALID_VALUE",
        "site.sources.hubspot.default_currency": "INVALID_FORMAT",
    }
    trimmed = normalize(
        SiteConfig("s", sources=Sources(shopify=ShopifySource(shop_domain=" Demo.MyShopify.com ")))
    )
    assert trimmed.sources.shopify.shop_domain == "demo.myshopify.com"


def test_normalize_trims_what_people_paste() -> None:
    site = normalize(direct_site(pixel_id=" 1234567890 ", credentials_ref="shop-meta\n"))
    assert site.destinations.meta.pixel_id == "1234567890"
    assert site.destinations.meta.credentials_ref == "shop-meta"


def test_spend_accounts_and_reporting_settings() -> None:
    site = normalize(
        SiteConfig(
            "s",
            destinations=Destinations(
                meta=MetaDestination(ad_account_id=" act_1234567890 "),
                tiktok=TikTokDestination(advertiser_id="7012345678901234567"),
            ),
            attribution=AttributionSettings(reporting_currency=" eur", view_through_days=1),
        )
    )
    assert site.destinations.meta.ad_account_id == "1234567890"
    assert site.attribution.reporting_currency == "EUR"
    assert fields(site) == {}
    bad = SiteConfig(
        "s",
        destinations=Destinations(
            meta=MetaDestination(ad_account_id="act-x"), tiktok=TikTokDestination(advertiser_id="x")
        ),
        attribution=AttributionSettings(reporting_currency="EURO", view_through_days=91),
    )
    assert fields(bad) == {
        "site.destinations.meta.ad_account_id": "INVALID_FORMAT",
        "site.destinations.tiktok.advertiser_id": "INVALID_FORMAT",
        "site.attribution.reporting_currency": "INVALID_FORMAT",
        "site.attribution.view_through_days": "OUT_OF_RANGE",
    }
