"""Contract mapping: sites round-trip, bad items are isolated, output message ids are stable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from convhub.common.v1 import common_pb2 as common
from convhub.events.v1 import events_pb2 as events
from convhub.router.v1 import router_pb2 as rpb
from hubkit.errors import InvalidArgument
from router.adapters import mappers
from router.domain.events import ConversionsRouted, DispatchRequested
from router.domain.routing import decide
from router.domain.site import (
    AttributionSettings,
    Destinations,
    GoogleApi,
    GoogleDestination,
    HubSpotSource,
    MetaDestination,
    Mode,
    SgtmFormat,
    SgtmSettings,
    ShopifySource,
    SiteConfig,
    Sources,
    WooCommerceSource,
)

AT = datetime(2026, 1, 1, tzinfo=UTC)
SITE = SiteConfig(
    "shop",
    display_name="Shop",
    mode=Mode.DIRECT,
    sgtm=SgtmSettings(
        url="https://sgtm.example/data", format=SgtmFormat.GA4_MP, max_batch_events=5
    ),
    destinations=Destinations(
        google=GoogleDestination(
            enabled=True,
            customer_id="1234567890",
            conversion_actions={"purchase": "customers/1234567890/conversionActions/1"},
            credentials_ref="g",
            api=GoogleApi.ADS,
            validate_only=True,
        ),
        meta=MetaDestination(
            enabled=True, pixel_id="99", credentials_ref="m", ad_account_id="1234"
        ),
    ),
    attribution=AttributionSettings(
        lookback_days=14, reporting_currency="EUR", exclude_surveys=True, view_through_days=1
    ),
    sources=Sources(
        shopify=ShopifySource(secret_ref="s", shop_domain="shop.myshopify.com"),
        woocommerce=WooCommerceSource(secret_ref="w", paid_statuses=("completed",)),
        hubspot=HubSpotSource(
            app_secret_ref="a",
            access_token_ref="t",
            portal_id=7,
            won_stages=("won",),
            event_type="lead",
            default_currency="EUR",
        ),
    ),
    revision=3,
    created_at=AT,
    updated_at=AT,
)


def test_a_site_round_trips_through_proto_and_json() -> None:
    assert mappers.site_from_pb(mappers.site_to_pb(SITE)) == SITE
    assert mappers.site_from_json(mappers.site_to_json(SITE)) == SITE
    assert mappers.site_revision_of(mappers.site_to_bytes(SITE)) == 3


def test_unknown_enum_values_are_field_errors() -> None:
    pb = mappers.site_to_pb(SITE)
    pb.attribution_mode = 42  # type: ignore[assignment]
    with pytest.raises(InvalidArgument) as caught:
        mappers.site_from_pb(pb)
    assert [f.field for f in caught.value.field_errors] == ["site.attribution_mode"]
    assert mappers.site_from_pb(rpb.Site(site_id="s")).sgtm.format is SgtmFormat.STAPE_DATA_CLIENT


def test_bad_items_are_isolated_from_good_ones() -> None:
    batch = events.ConversionAcceptedBatch(site_id="shop")
    batch.items.add()  # no id
    batch.items.add().conversion.conversion_id = "x" * 300
    other = batch.items.add().conversion
    other.conversion_id, other.site_id = "o1", "elsewhere"
    good = batch.items.add().conversion
    good.conversion_id, good.event_type = "g1", "purchase"
    good.mode_hint = common.ATTRIBUTION_MODE_SGTM
    conversions, bad = mappers.conversions_from_batch(batch, "shop")
    assert [c.conversion_id for c in conversions] == ["g1"]
    assert conversions[0].mode_hint is Mode.SGTM
    assert [item for item, _ in bad] == ["items[0]", "items[1]", "o1"]
    assert mappers.conversion_from_payload(conversions[0].payload, "shop") == conversions[0]


def _outgoing(order: list[str]) -> list[tuple[str, str]]:
    batch = events.ConversionAcceptedBatch(site_id="shop")
    for cid in order:
        batch.items.add().conversion.conversion_id = cid
    conversions, _ = mappers.conversions_from_batch(batch, "shop")
    conversions.sort(key=lambda c: c.conversion_id)
    decisions = tuple(decide(SITE, c) for c in conversions)
    staged = [ConversionsRouted("shop", decisions, AT)] + [
        DispatchRequested(
            "shop", p, tuple((d, t) for d in decisions for t in d.targets if t.platform is p), AT
        )
        for p in {t.platform for d in decisions for t in d.targets}
    ]
    return sorted((m.subject, m.msg_id) for m in mappers.outgoing(staged))


def test_output_message_ids_depend_only_on_their_items() -> None:
    first = _outgoing(["c1", "c2", "c3"])
    assert first == _outgoing(["c3", "c1", "c2"])  # a redelivery recomputes the same ids
    assert first != _outgoing(["c1", "c2", "c4"])
    assert [s for s, _ in first] == ["convhub.dispatch.meta.shop", "convhub.routed.shop"]


def test_dispatch_items_carry_only_their_platforms_hashes() -> None:
    batch = events.ConversionAcceptedBatch(site_id="shop")
    c = batch.items.add().conversion
    c.conversion_id, c.event_type = "c1", "purchase"
    c.user_data.google.email = "a" * 64
    c.user_data.meta.email = "b" * 64
    (conversion,), _ = mappers.conversions_from_batch(batch, "shop")
    decision = decide(SITE, conversion)
    by_platform = {t.platform: t for t in decision.targets}
    messages = mappers.outgoing(
        [DispatchRequested("shop", p, ((decision, t),), AT) for p, t in by_platform.items()]
    )
    payloads = {m.subject: m.payload for m in messages}
    google = payloads["convhub.dispatch.google.shop"].items[0]  # type: ignore[union-attr]
    meta = payloads["convhub.dispatch.meta.shop"].items[0]  # type: ignore[union-attr]
    assert google.conversion.user_data.google.email == "a" * 64
    assert not google.conversion.user_data.HasField("meta")
    assert meta.conversion.user_data.meta.email == "b" * 64
    assert not meta.conversion.user_data.HasField("google")
    assert google.target.conversion_action == "customers/1234567890/conversionActions/1"
    assert google.target.google_api == common.GOOGLE_API_ADS
    assert google.target.validate_only
