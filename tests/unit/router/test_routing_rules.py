"""Which path a conversion takes: sGTM, direct (per destination and event type), or parked."""

from __future__ import annotations

from hubkit.vocabulary import Platform
from router.domain.routing import ParkReason, decide
from router.domain.site import (
    Destinations,
    GoogleDestination,
    MetaDestination,
    Mode,
    SgtmSettings,
    SiteConfig,
    TikTokDestination,
)

from .fakes import conversion

SGTM = SgtmSettings(url="https://sgtm.shop.example/data")
DIRECT = Destinations(
    google=GoogleDestination(
        enabled=True,
        customer_id="1234567890",
        conversion_actions={"purchase": "customers/1234567890/conversionActions/7"},
        credentials_ref="g",
    ),
    meta=MetaDestination(
        enabled=True, pixel_id="111", credentials_ref="m", event_names={"lead": "Lead"}
    ),
    tiktok=TikTokDestination(enabled=False, pixel_code="C1", credentials_ref="t"),
)


def test_sgtm_site_goes_to_its_container_under_its_revision() -> None:
    d = decide(SiteConfig("shop", mode=Mode.SGTM, sgtm=SGTM, revision=4), conversion("c1"))
    assert (d.mode, d.revision, d.parked) == (Mode.SGTM, 4, False)
    assert [(t.platform, t.account_id) for t in d.targets] == [(Platform.SGTM, "sgtm.shop.example")]


def test_direct_site_targets_every_enabled_destination_that_takes_the_event_type() -> None:
    site = SiteConfig("shop", mode=Mode.DIRECT, destinations=DIRECT, revision=2)
    purchase = decide(site, conversion("c1", event_type="purchase"))
    lead = decide(site, conversion("c2", event_type="lead"))
    assert [t.platform for t in purchase.targets] == [Platform.GOOGLE, Platform.META]
    assert purchase.targets[0].conversion_action == "customers/1234567890/conversionActions/7"
    assert purchase.targets[0].delivery_id("c1") == "c1:google:1234567890"
    assert [(t.platform, t.event_name) for t in lead.targets] == [(Platform.META, "Lead")]


def test_direct_site_without_a_usable_destination_parks() -> None:
    site = SiteConfig("shop", mode=Mode.DIRECT, revision=3)
    d = decide(site, conversion("c1"))
    assert d.parked and d.park_reason is ParkReason.NO_USABLE_DESTINATION and d.revision == 3
    google_only = SiteConfig(
        "shop", mode=Mode.DIRECT, destinations=Destinations(google=DIRECT.google)
    )
    assert decide(google_only, conversion("c2", event_type="lead")).parked


def test_unconfigured_site_defaults_to_sgtm_only_with_a_url() -> None:
    none = decide(None, conversion("c1"))
    assert none.park_reason is ParkReason.NO_SITE_CONFIG and none.revision == 0
    no_mode = SiteConfig("shop", sgtm=SGTM, revision=5)
    d = decide(no_mode, conversion("c2"))
    assert (d.mode, d.revision, d.parked) == (Mode.SGTM, 5, False)
    assert decide(SiteConfig("shop", revision=6), conversion("c3")).park_reason is (
        ParkReason.NO_SITE_CONFIG
    )


def test_a_mode_hint_that_disagrees_is_flagged_not_obeyed() -> None:
    site = SiteConfig("shop", mode=Mode.SGTM, sgtm=SGTM)
    disagree = decide(site, conversion("c1", hint=Mode.DIRECT))
    agree = decide(site, conversion("c2", hint=Mode.SGTM))
    no_hint = decide(site, conversion("c3", hint=Mode.UNSPECIFIED))
    assert disagree.mode is Mode.SGTM and disagree.mode_mismatch
    assert not agree.mode_mismatch and not no_hint.mode_mismatch
