"""The only place that converts between ingest's protobuf contracts and its domain types."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from convhub.common.v1 import common_pb2
from convhub.ingest.v1 import ingest_pb2
from convhub.router.v1 import router_pb2
from hubkit import matchkeys
from hubkit.errors import FieldError
from hubkit.pii import PiiField
from hubkit.vocabulary import Platform, platform_from_pb
from ingest.domain.model import (
    ALLOWED_KEY_FIELDS,
    DEFAULT_KEY_FIELDS,
    DEFAULT_POLICY,
    ConsentAction,
    ConsentDecision,
    ConsentStatus,
    ConversionInput,
    HubSpotSettings,
    Item,
    Outcome,
    PreparedConversion,
    ShopifySettings,
    SitePolicy,
    SourceSettings,
    Status,
    WooCommerceSettings,
)

_CONSENT = {
    common_pb2.CONSENT_STATUS_GRANTED: ConsentStatus.GRANTED,
    common_pb2.CONSENT_STATUS_DENIED: ConsentStatus.DENIED,
}
_CONSENT_BACK = {v: k for k, v in _CONSENT.items()}
_DECISION = {
    ConsentDecision.USER_DATA_KEPT: common_pb2.CONSENT_DECISION_USER_DATA_KEPT,
    ConsentDecision.USER_DATA_REMOVED: common_pb2.CONSENT_DECISION_USER_DATA_REMOVED,
}
_STATUS = {
    Status.ACCEPTED: ingest_pb2.INGEST_STATUS_ACCEPTED,
    Status.DUPLICATE: ingest_pb2.INGEST_STATUS_DUPLICATE,
    Status.REJECTED: ingest_pb2.INGEST_STATUS_REJECTED,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_USER_FIELDS = tuple(f.value for f in PiiField)
_CLICK_FIELDS = ("gclid", "gbraid", "wbraid", "fbc", "fbclid", "fbp", "ttclid", "ttp")
_HASH_VARIANT = {Platform.META: "meta", Platform.GOOGLE: "google", Platform.TIKTOK: "tiktok"}


def to_datetime(ts: Timestamp) -> datetime:
    return datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=UTC)


def conversion_input(c: ingest_pb2.Conversion) -> ConversionInput:
    """Never raises: what cannot be read is named in `unreadable` and rejected by validation."""
    user = c.user_data
    unreadable: list[str] = []

    def enum_name(field: str, enum: Any, value: int) -> str:
        try:
            return str(enum.Name(value))
        except ValueError:
            unreadable.append(field)
            return ""

    event_time = None
    if c.HasField("event_time"):
        try:
            event_time = to_datetime(c.event_time)
        except (ValueError, OverflowError, OSError):
            unreadable.append("event_time")
    return ConversionInput(
        site_id=c.site_id,
        order_id=c.order_id,
        event_type=c.event_type,
        event_id=c.event_id if c.HasField("event_id") else None,
        event_time=event_time,
        value=c.value.strip(),
        currency=c.currency.strip(),
        click_ids={n: v for n in _CLICK_FIELDS if (v := getattr(c.click_ids, n))},
        user_data={n: v for n in _USER_FIELDS if (v := getattr(user, n))},
        client_ip=user.client_ip.strip(),
        user_agent=user.user_agent,
        ad_user_data=_CONSENT.get(c.consent.ad_user_data, ConsentStatus.UNSPECIFIED),
        ad_personalization=_CONSENT.get(c.consent.ad_personalization, ConsentStatus.UNSPECIFIED),
        page_url=c.page_url,
        referrer_url=c.referrer_url,
        items=tuple(
            Item(i.id, i.name, i.quantity, i.price, i.brand, i.category, i.variant) for i in c.items
        ),
        visitor_id=c.visitor_id,
        source=enum_name("source", common_pb2.ConversionSource, c.source),
        action_source=enum_name("action_source", common_pb2.ActionSource, c.action_source),
        mode_hint=(
            enum_name("mode_hint", common_pb2.AttributionMode, c.mode_hint) or None
            if c.HasField("mode_hint")
            else None
        ),
        unreadable=tuple(unreadable),
    )


def hashed_conversion(p: PreparedConversion) -> common_pb2.HashedConversion:
    """The stored and published form: hashed identifiers only. (A hot path: built field by field
    without intermediate messages.)"""
    c = p.input
    out = common_pb2.HashedConversion(
        conversion_id=p.conversion_id,
        site_id=c.site_id,
        order_id=c.order_id,
        event_type=c.event_type,
        event_id=p.event_id,
        value=c.value,
        currency=c.currency,
        client_ip=c.client_ip,
        user_agent=c.user_agent,
        consent_decision=_DECISION[p.consent_decision],
        page_url=c.page_url,
        referrer_url=c.referrer_url,
        visitor_id=c.visitor_id,
        # Enum fields take their value's name; None leaves the field unset.
        source=c.source or None,
        action_source=c.action_source or None,
        mode_hint=c.mode_hint or None,
        received_at=_timestamp(p.received_at),
    )
    if c.click_ids:
        out.click_ids.MergeFrom(common_pb2.ClickIds(**c.click_ids))
    unspecified = common_pb2.CONSENT_STATUS_UNSPECIFIED
    out.consent.ad_user_data = _CONSENT_BACK.get(c.ad_user_data, unspecified)
    out.consent.ad_personalization = _CONSENT_BACK.get(c.ad_personalization, unspecified)
    if c.items:
        out.items.extend(common_pb2.Item(**vars(i)) for i in c.items)
    if c.event_time is not None:
        out.event_time.CopyFrom(_timestamp(c.event_time))
    for platform, fields in p.hashed.items():
        getattr(out.user_data, _HASH_VARIANT[platform]).MergeFrom(
            common_pb2.HashedIdentifiers(**{name.value: digest for name, digest in fields.items()})
        )
    return out


def _timestamp(at: datetime) -> Timestamp:
    """Timestamp.FromDatetime is pure Python and slow; this is exact integer arithmetic."""
    delta = at - _EPOCH  # normalised: 0 <= seconds < 86400, 0 <= microseconds < 10**6
    return Timestamp(seconds=delta.days * 86400 + delta.seconds, nanos=delta.microseconds * 1000)


def identity_hashes(p: PreparedConversion) -> list[str]:
    """Every hash variant of the identifiers EraseUser can name (email, phone, external id)."""
    found = {
        digest
        for fields in p.hashed.values()
        for name, digest in fields.items()
        if name in (PiiField.EMAIL, PiiField.PHONE, PiiField.EXTERNAL_ID)
    }
    return sorted(found)


def ingest_response(o: Outcome) -> ingest_pb2.IngestResponse:
    return ingest_pb2.IngestResponse(
        conversion_id=o.conversion_id,
        status=_STATUS[o.status],
        duplicate_of=o.duplicate_of,
        event_id=o.event_id,
        errors=[field_error(e) for e in o.errors],
        warnings=[field_error(w) for w in o.warnings],
    )


def field_error(e: FieldError) -> common_pb2.FieldError:
    return common_pb2.FieldError(field=e.field, code=e.code, message=e.message)


def site_policy(site: router_pb2.Site) -> SitePolicy:
    """The ingest-relevant part of a router Site (as mirrored in the convhub-sites KV bucket)."""
    dedupe, consent = site.dedupe, site.consent
    action = (
        ConsentAction.REJECT
        if consent.when_not_granted == router_pb2.CONSENT_ACTION_REJECT
        else ConsentAction.STORE_WITHOUT_USER_DATA
    )
    window = (
        timedelta(seconds=dedupe.window_seconds)
        if dedupe.window_seconds > 0
        else DEFAULT_POLICY.dedupe_window
    )
    # The router validates key fields; an unknown one is ignored rather than break dedupe.
    key_fields = tuple(f for f in dedupe.key_fields if f in ALLOWED_KEY_FIELDS)
    return SitePolicy(
        dedupe_window=window,
        key_fields=key_fields or DEFAULT_KEY_FIELDS,
        consent_action=action,
        require_explicit_grant=consent.require_explicit_grant,
        default_country=site.default_country,
        sources=source_settings(site.sources),
    )


def source_settings(sources: router_pb2.Sources) -> SourceSettings:
    """The router validated these; empty lists and strings take the defaults."""
    shop, woo, hub = sources.shopify, sources.woocommerce, sources.hubspot
    defaults = HubSpotSettings()
    return SourceSettings(
        shopify=ShopifySettings(secret_ref=shop.secret_ref, shop_domain=shop.shop_domain),
        woocommerce=WooCommerceSettings(
            secret_ref=woo.secret_ref,
            paid_statuses=tuple(woo.paid_statuses) or WooCommerceSettings().paid_statuses,
        ),
        hubspot=HubSpotSettings(
            app_secret_ref=hub.app_secret_ref,
            access_token_ref=hub.access_token_ref,
            portal_id=hub.portal_id,
            won_stages=tuple(hub.won_stages) or defaults.won_stages,
            event_type=hub.event_type or defaults.event_type,
            default_currency=hub.default_currency,
        ),
    )


def match_keys(
    conversion: common_pb2.HashedConversion, destinations: Iterable[common_pb2.Destination]
) -> list[common_pb2.MatchKeys]:
    """What each routed destination receives to match the conversion (hubkit.matchkeys). A
    Google site on the Ads API path receives no IP or user agent: ingest cannot tell, the
    dispatcher's GetStats can."""
    found = []
    for destination in destinations:
        platform = platform_from_pb(destination.platform)
        if platform is None:
            continue
        keys = matchkeys.keys_for(platform, conversion)
        found.append(
            common_pb2.MatchKeys(
                destination=destination,
                keys=[key.value for key in keys],
                score=matchkeys.score(keys),
            )
        )
    return found
