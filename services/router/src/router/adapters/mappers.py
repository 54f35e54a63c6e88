"""The only place that converts between protobuf contracts and the router's domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from convhub.common.v1 import common_pb2 as common
from convhub.events.v1 import events_pb2 as events
from convhub.router.v1 import router_pb2 as router
from hubkit.bus import Outgoing
from hubkit.bus.chunking import chunks
from hubkit.errors import FieldError, InvalidArgument
from hubkit.naming import message_id
from hubkit.telemetry import current_traceparent
from hubkit.vocabulary import Platform, platform_pb
from router.domain import site as st
from router.domain.events import (
    ConversionsRouted,
    DispatchRequested,
    Event,
    SiteChanged,
)
from router.domain.routing import Conversion, Decision, ParkReason, Target, TraceRef

# Output batches stay well under NATS' default 1 MB payload limit.
MAX_ITEMS_PER_MESSAGE = 500
MAX_CONVERSION_ID = 200

MODE_TO_PB = {
    st.Mode.UNSPECIFIED: common.ATTRIBUTION_MODE_UNSPECIFIED,
    st.Mode.SGTM: common.ATTRIBUTION_MODE_SGTM,
    st.Mode.DIRECT: common.ATTRIBUTION_MODE_DIRECT,
}
MODE_FROM_PB = {v: k for k, v in MODE_TO_PB.items()}
FORMAT_TO_PB = {
    st.SgtmFormat.STAPE_DATA_CLIENT: router.SGTM_FORMAT_STAPE_DATA_CLIENT,
    st.SgtmFormat.GA4_MP: router.SGTM_FORMAT_GA4_MP,
}
FORMAT_FROM_PB = {
    router.SGTM_FORMAT_UNSPECIFIED: st.SgtmFormat.STAPE_DATA_CLIENT,
    **{v: k for k, v in FORMAT_TO_PB.items()},
}
RULES_TO_PB = {
    st.HashRules.GOOGLE: common.HASH_RULE_SET_GOOGLE,
    st.HashRules.META: common.HASH_RULE_SET_META,
    st.HashRules.TIKTOK: common.HASH_RULE_SET_TIKTOK,
}
RULES_FROM_PB = {
    common.HASH_RULE_SET_UNSPECIFIED: st.HashRules.GOOGLE,
    **{v: k for k, v in RULES_TO_PB.items()},
}
GOOGLE_API_TO_PB = {
    st.GoogleApi.DATA_MANAGER: common.GOOGLE_API_DATA_MANAGER,
    st.GoogleApi.ADS: common.GOOGLE_API_ADS,
}
GOOGLE_API_FROM_PB = {
    common.GOOGLE_API_UNSPECIFIED: st.GoogleApi.DATA_MANAGER,
    **{v: k for k, v in GOOGLE_API_TO_PB.items()},
}
CONSENT_TO_PB = {
    st.ConsentAction.UNSPECIFIED: router.CONSENT_ACTION_UNSPECIFIED,
    st.ConsentAction.REJECT: router.CONSENT_ACTION_REJECT,
    st.ConsentAction.STORE_WITHOUT_USER_DATA: router.CONSENT_ACTION_STORE_WITHOUT_USER_DATA,
}
CONSENT_FROM_PB = {v: k for k, v in CONSENT_TO_PB.items()}
PARK_TO_PB = {
    ParkReason.NO_SITE_CONFIG: common.PARK_REASON_NO_SITE_CONFIG,
    ParkReason.NO_USABLE_DESTINATION: common.PARK_REASON_NO_USABLE_DESTINATION,
    ParkReason.SGTM_NOT_CONFIGURED: common.PARK_REASON_SGTM_NOT_CONFIGURED,
}
# The hash variant each direct platform reads; the others are left out of its requests. The
# sGTM dispatcher gets them all: the site's configuration picks the one its container wants.
USER_DATA_VARIANT: dict[Platform, str | None] = {
    Platform.GOOGLE: "google",
    Platform.META: "meta",
    Platform.TIKTOK: "tiktok",
    Platform.SGTM: None,
}


# --- site configuration ------------------------------------------------------------------------


def site_from_pb(pb: router.Site) -> st.SiteConfig:
    """The caller's site as a domain object; unknown enum values are field errors."""
    problems: list[FieldError] = []

    def enum(path: str, value: int, table: dict[Any, Any]) -> Any:
        if value not in table:
            problems.append(FieldError(path, "INVALID_VALUE", f"unknown value {value}"))
            return next(iter(table.values()))
        return table[value]

    g, m, t, s = pb.destinations.google, pb.destinations.meta, pb.destinations.tiktok, pb.sgtm
    site = st.SiteConfig(
        site_id=pb.site_id,
        display_name=pb.display_name,
        mode=enum("site.attribution_mode", pb.attribution_mode, MODE_FROM_PB),
        sgtm=st.SgtmSettings(
            url=s.url,
            format=enum("site.sgtm.format", s.format, FORMAT_FROM_PB),
            auth_header_name=s.auth_header_name,
            auth_secret_ref=s.auth_secret_ref,
            preview_header=s.preview_header,
            measurement_id=s.measurement_id,
            api_secret_ref=s.api_secret_ref,
            user_data_rules=enum(
                "site.sgtm.user_data_rule_set", s.user_data_rule_set, RULES_FROM_PB
            ),
            max_batch_events=s.max_batch_events,
        ),
        default_country=pb.default_country,
        attribution=st.AttributionSettings(
            lookback_days=pb.attribution.lookback_days,
            half_life_days=pb.attribution.half_life_days,
            click_only=pb.attribution.click_only,
            reporting_currency=pb.attribution.reporting_currency,
            exclude_surveys=pb.attribution.exclude_surveys,
            view_through_days=pb.attribution.view_through_days,
        ),
        destinations=st.Destinations(
            google=st.GoogleDestination(
                enabled=g.enabled,
                customer_id=g.customer_id,
                login_customer_id=g.login_customer_id,
                conversion_actions=dict(g.conversion_actions),
                credentials_ref=g.credentials_ref,
                api=enum("site.destinations.google.api", g.api, GOOGLE_API_FROM_PB),
                validate_only=g.validate_only,
            ),
            meta=st.MetaDestination(
                enabled=m.enabled,
                pixel_id=m.pixel_id,
                credentials_ref=m.credentials_ref,
                test_event_code=m.test_event_code,
                event_names=dict(m.event_names),
                ad_account_id=m.ad_account_id,
            ),
            tiktok=st.TikTokDestination(
                enabled=t.enabled,
                pixel_code=t.pixel_code,
                credentials_ref=t.credentials_ref,
                test_event_code=t.test_event_code,
                event_names=dict(t.event_names),
                advertiser_id=t.advertiser_id,
            ),
        ),
        dedupe=st.DedupePolicy(
            window_seconds=pb.dedupe.window_seconds, key_fields=tuple(pb.dedupe.key_fields)
        ),
        sources=st.Sources(
            shopify=st.ShopifySource(
                secret_ref=pb.sources.shopify.secret_ref,
                shop_domain=pb.sources.shopify.shop_domain,
            ),
            woocommerce=st.WooCommerceSource(
                secret_ref=pb.sources.woocommerce.secret_ref,
                paid_statuses=tuple(pb.sources.woocommerce.paid_statuses),
            ),
            hubspot=st.HubSpotSource(
                app_secret_ref=pb.sources.hubspot.app_secret_ref,
                access_token_ref=pb.sources.hubspot.access_token_ref,
                portal_id=pb.sources.hubspot.portal_id,
                won_stages=tuple(pb.sources.hubspot.won_stages),
                event_type=pb.sources.hubspot.event_type,
                default_currency=pb.sources.hubspot.default_currency,
            ),
        ),
        consent=st.ConsentPolicy(
            when_not_granted=enum(
                "site.consent.when_not_granted", pb.consent.when_not_granted, CONSENT_FROM_PB
            ),
            require_explicit_grant=pb.consent.require_explicit_grant,
        ),
        revision=pb.revision,
        created_at=_datetime(pb.created_at) if pb.HasField("created_at") else None,
        updated_at=_datetime(pb.updated_at) if pb.HasField("updated_at") else None,
    )
    if problems:
        raise InvalidArgument("invalid site configuration", problems)
    return site


def site_to_pb(site: st.SiteConfig) -> router.Site:
    d, s = site.destinations, site.sgtm
    pb = router.Site(
        site_id=site.site_id,
        display_name=site.display_name,
        attribution_mode=MODE_TO_PB[site.mode],
        sgtm=router.SgtmConfig(
            url=s.url,
            format=FORMAT_TO_PB[s.format],
            auth_header_name=s.auth_header_name,
            auth_secret_ref=s.auth_secret_ref,
            preview_header=s.preview_header,
            measurement_id=s.measurement_id,
            api_secret_ref=s.api_secret_ref,
            user_data_rule_set=RULES_TO_PB[s.user_data_rules],
            max_batch_events=s.max_batch_events,
        ),
        default_country=site.default_country,
        attribution=router.AttributionSettings(
            lookback_days=site.attribution.lookback_days,
            half_life_days=site.attribution.half_life_days,
            click_only=site.attribution.click_only,
            reporting_currency=site.attribution.reporting_currency,
            exclude_surveys=site.attribution.exclude_surveys,
            view_through_days=site.attribution.view_through_days,
        ),
        destinations=router.Destinations(
            google=router.GoogleDestination(
                enabled=d.google.enabled,
                customer_id=d.google.customer_id,
                login_customer_id=d.google.login_customer_id,
                conversion_actions=d.google.conversion_actions,
                credentials_ref=d.google.credentials_ref,
                api=GOOGLE_API_TO_PB[d.google.api],
                validate_only=d.google.validate_only,
            ),
            meta=router.MetaDestination(
                enabled=d.meta.enabled,
                pixel_id=d.meta.pixel_id,
                credentials_ref=d.meta.credentials_ref,
                test_event_code=d.meta.test_event_code,
                event_names=d.meta.event_names,
                ad_account_id=d.meta.ad_account_id,
            ),
            tiktok=router.TikTokDestination(
                enabled=d.tiktok.enabled,
                pixel_code=d.tiktok.pixel_code,
                credentials_ref=d.tiktok.credentials_ref,
                test_event_code=d.tiktok.test_event_code,
                event_names=d.tiktok.event_names,
                advertiser_id=d.tiktok.advertiser_id,
            ),
        ),
        dedupe=router.DedupePolicy(
            window_seconds=site.dedupe.window_seconds, key_fields=list(site.dedupe.key_fields)
        ),
        sources=router.Sources(
            shopify=router.ShopifySource(
                secret_ref=site.sources.shopify.secret_ref,
                shop_domain=site.sources.shopify.shop_domain,
            ),
            woocommerce=router.WooCommerceSource(
                secret_ref=site.sources.woocommerce.secret_ref,
                paid_statuses=list(site.sources.woocommerce.paid_statuses),
            ),
            hubspot=router.HubSpotSource(
                app_secret_ref=site.sources.hubspot.app_secret_ref,
                access_token_ref=site.sources.hubspot.access_token_ref,
                portal_id=site.sources.hubspot.portal_id,
                won_stages=list(site.sources.hubspot.won_stages),
                event_type=site.sources.hubspot.event_type,
                default_currency=site.sources.hubspot.default_currency,
            ),
        ),
        consent=router.ConsentPolicy(
            when_not_granted=CONSENT_TO_PB[site.consent.when_not_granted],
            require_explicit_grant=site.consent.require_explicit_grant,
        ),
        revision=site.revision,
    )
    if site.created_at is not None:
        pb.created_at.FromDatetime(site.created_at)
    if site.updated_at is not None:
        pb.updated_at.FromDatetime(site.updated_at)
    return pb


def site_to_json(site: st.SiteConfig) -> dict[str, Any]:
    """How the configuration is stored: proto JSON, readable with psql."""
    return json_format.MessageToDict(site_to_pb(site), preserving_proto_field_name=True)


def site_from_json(data: dict[str, Any]) -> st.SiteConfig:
    return site_from_pb(json_format.ParseDict(data, router.Site(), ignore_unknown_fields=True))


def site_to_bytes(site: st.SiteConfig) -> bytes:
    """The KV bucket's value: the serialized convhub.router.v1.Site."""
    return site_to_pb(site).SerializeToString()


def site_revision_of(value: bytes) -> int | None:
    try:
        return int(router.Site.FromString(value).revision)
    except DecodeError:
        return None


# --- inbound conversions -----------------------------------------------------------------------


def conversions_from_batch(
    batch: events.ConversionAcceptedBatch, site_id: str
) -> tuple[list[Conversion], list[tuple[str, str]]]:
    """The routable items, and (item, reason) for those that are not: a bad item never takes
    its neighbours down with it."""
    good: list[Conversion] = []
    bad: list[tuple[str, str]] = []
    for i, item in enumerate(batch.items):
        c = item.conversion
        if not c.conversion_id:
            bad.append((f"items[{i}]", "missing conversion_id"))
        elif len(c.conversion_id) > MAX_CONVERSION_ID or "\x00" in c.conversion_id:
            bad.append((f"items[{i}]", "conversion_id too long or not text"))
        elif c.site_id and c.site_id != site_id:
            bad.append((c.conversion_id, "conversion's site_id differs from the batch's"))
        else:
            good.append(_conversion(item, site_id, item.SerializeToString()))
    return good, bad


def conversion_from_payload(payload: bytes, site_id: str) -> Conversion:
    """A parked conversion back from its stored payload (what `Conversion.payload` holds)."""
    return _conversion(events.ConversionAccepted.FromString(payload), site_id, payload)


def _conversion(item: events.ConversionAccepted, site_id: str, payload: bytes) -> Conversion:
    c = item.conversion
    hint = MODE_FROM_PB.get(c.mode_hint) if c.HasField("mode_hint") else None
    return Conversion(
        conversion_id=c.conversion_id,
        site_id=site_id,
        event_type=c.event_type.replace("\x00", ""),  # PostgreSQL text cannot hold NUL
        mode_hint=hint,
        trace=TraceRef(item.trace.traceparent, item.trace.tracestate),
        payload=payload,
    )


# --- outgoing messages -------------------------------------------------------------------------


class _Payloads:
    """Decodes each conversion payload once per transaction, however many outputs use it."""

    def __init__(self) -> None:
        self._decoded: dict[bytes, events.ConversionAccepted] = {}

    def get(self, payload: bytes) -> events.ConversionAccepted:
        item = self._decoded.get(payload)
        if item is None:
            item = self._decoded[payload] = events.ConversionAccepted.FromString(payload)
        return item


def outgoing(staged: Sequence[Event]) -> list[Outgoing]:
    """The NATS messages announcing the events staged in one unit of work."""
    payloads = _Payloads()
    messages: list[Outgoing] = []
    for event in staged:
        if isinstance(event, ConversionsRouted):
            messages += _routed(event)
        elif isinstance(event, DispatchRequested):
            messages += _dispatch(event, payloads)
        elif isinstance(event, SiteChanged):
            messages.append(_site_changed(event))
    return messages


def _routed(event: ConversionsRouted) -> list[Outgoing]:
    at = _timestamp(event.at)
    items = [
        events.ConversionRouted(
            conversion_id=d.conversion_id,
            trace=_trace(d.conversion.trace),
            mode=MODE_TO_PB[d.mode],
            destinations=[_destination(t) for t in d.targets],
            config_revision=d.revision,
            parked=d.parked,
            parked_reason=(
                PARK_TO_PB[d.park_reason] if d.park_reason else common.PARK_REASON_UNSPECIFIED
            ),
            parked_detail=d.park_detail,
            mode_mismatch=d.mode_mismatch,
            routed_at=at,
        )
        for d in event.decisions
    ]
    # Chunks are cut deterministically from the same items, so a redelivery yields the same ids.
    subject = f"convhub.routed.{event.site_id}"
    return [
        Outgoing(
            subject,
            events.ConversionRoutedBatch(site_id=event.site_id, items=chunk),
            message_id(subject, [f"{i.conversion_id}@{i.config_revision}" for i in chunk]),
        )
        for chunk in chunks(items, max_items=MAX_ITEMS_PER_MESSAGE)
    ]


def _dispatch(event: DispatchRequested, payloads: _Payloads) -> list[Outgoing]:
    at = _timestamp(event.at)
    platform = platform_pb(event.platform)
    variant = USER_DATA_VARIANT[event.platform]
    subject = f"convhub.dispatch.{event.platform.value}.{event.site_id}"
    items = []
    for decision, target in event.items:
        item = events.DispatchRequested(
            delivery_id=target.delivery_id(decision.conversion_id),
            conversion_id=decision.conversion_id,
            trace=_trace(decision.conversion.trace),
            platform=platform,
            target=_dispatch_target(target),
            config_revision=decision.revision,
            requested_at=at,
        )
        _copy_for_platform(payloads.get(decision.conversion.payload).conversion, item, variant)
        items.append(item)
    return [
        Outgoing(
            subject,
            events.DispatchRequestedBatch(site_id=event.site_id, platform=platform, items=chunk),
            message_id(subject, [i.delivery_id for i in chunk]),
        )
        for chunk in chunks(items, max_items=MAX_ITEMS_PER_MESSAGE)
    ]


def _copy_for_platform(
    source: common.HashedConversion, item: events.DispatchRequested, variant: str | None
) -> None:
    """The conversion with only the user-data hash variant this platform reads."""
    item.conversion.CopyFrom(source)
    if variant is None:
        return
    item.conversion.ClearField("user_data")
    if source.user_data.HasField(variant):
        getattr(item.conversion.user_data, variant).CopyFrom(getattr(source.user_data, variant))


def _site_changed(event: SiteChanged) -> Outgoing:
    traceparent, tracestate = current_traceparent()
    batch = events.SiteConfigChangedBatch(
        site_id=event.site_id,
        items=[
            events.SiteConfigChanged(
                trace=common.TraceContext(traceparent=traceparent, tracestate=tracestate),
                revision=event.revision,
                deleted=event.deleted,
                attribution_mode=MODE_TO_PB[event.mode],
                changed_at=_timestamp(event.at),
            )
        ],
    )
    subject = f"convhub.sites.changed.{event.site_id}"
    return Outgoing(subject, batch, message_id(subject, [str(event.revision)]))


def _destination(target: Target) -> common.Destination:
    return common.Destination(platform=platform_pb(target.platform), account_id=target.account_id)


def _dispatch_target(target: Target) -> events.DispatchTarget:
    return events.DispatchTarget(
        account_id=target.account_id,
        credentials_ref=target.credentials_ref,
        test_event_code=target.test_event_code,
        login_customer_id=target.login_customer_id,
        conversion_action=target.conversion_action,
        event_name=target.event_name,
        google_api=GOOGLE_API_TO_PB[target.google_api],
        validate_only=target.validate_only,
    )


def decision_destinations(decision: Decision) -> list[str]:
    """How a decision's destinations are stored: ["meta:1234", "sgtm:sgtm.shop.example"]."""
    return [f"{t.platform.value}:{t.account_id}" for t in decision.targets]


def _trace(trace: TraceRef) -> common.TraceContext:
    return common.TraceContext(traceparent=trace.traceparent, tracestate=trace.tracestate)


def _timestamp(at: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(at)
    return ts


def _datetime(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)
