"""Routing rules: which path (sGTM, direct, or parked) a conversion takes under a site's config."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hubkit.naming import delivery_id
from hubkit.vocabulary import Platform
from router.domain.site import GoogleApi, Mode, SgtmSettings, SiteConfig


@dataclass(frozen=True)
class TraceRef:
    """A conversion's own W3C trace context, carried with it through every hop."""

    traceparent: str = ""
    tracestate: str = ""


@dataclass(frozen=True)
class Conversion:
    """What routing needs of an accepted conversion; `payload` is the item as received, opaque."""

    conversion_id: str
    site_id: str
    event_type: str
    mode_hint: Mode | None
    trace: TraceRef
    payload: bytes


class ParkReason(enum.Enum):
    NO_SITE_CONFIG = "no_site_config"
    NO_USABLE_DESTINATION = "no_usable_destination"
    SGTM_NOT_CONFIGURED = "sgtm_not_configured"


@dataclass(frozen=True)
class Target:
    """One destination account, with what its dispatcher needs (secrets by reference only)."""

    platform: Platform
    account_id: str
    credentials_ref: str = ""
    test_event_code: str = ""
    login_customer_id: str = ""
    conversion_action: str = ""
    event_name: str = ""
    google_api: GoogleApi = GoogleApi.DATA_MANAGER
    validate_only: bool = False

    def delivery_id(self, conversion_id: str) -> str:
        """The dispatcher's idempotency key: one delivery per conversion and account."""
        return delivery_id(conversion_id, self.platform.value, self.account_id)


@dataclass(frozen=True)
class Decision:
    conversion: Conversion
    mode: Mode  # the path taken; for a parked conversion, the site's configured mode
    revision: int  # the configuration revision used; 0 when the site has none
    targets: tuple[Target, ...] = ()
    park_reason: ParkReason | None = None
    park_detail: str = ""
    mode_mismatch: bool = False

    @property
    def parked(self) -> bool:
        return self.park_reason is not None

    @property
    def conversion_id(self) -> str:
        return self.conversion.conversion_id


def decide(site: SiteConfig | None, conversion: Conversion) -> Decision:
    """The decision for `conversion` under `site` (None: the site has no configuration).

    A site without an attribution mode goes to sGTM when it has an sGTM URL and is parked
    otherwise; a direct site parks the conversions no enabled destination accepts.
    """
    if site is None or site.mode is Mode.UNSPECIFIED:
        if site is not None and site.sgtm.url:
            return _sgtm(conversion, site.revision, site.sgtm)
        return _park(
            conversion,
            Mode.UNSPECIFIED,
            site.revision if site is not None else 0,
            ParkReason.NO_SITE_CONFIG,
            "the site has no configuration (or no attribution mode) and no sGTM URL",
        )
    if site.mode is Mode.SGTM:
        if not site.sgtm.url:
            return _park(
                conversion,
                Mode.SGTM,
                site.revision,
                ParkReason.SGTM_NOT_CONFIGURED,
                "sGTM mode without an sGTM URL",
            )
        return _sgtm(conversion, site.revision, site.sgtm)
    targets = direct_targets(site, conversion.event_type)
    if not targets:
        return _park(
            conversion,
            Mode.DIRECT,
            site.revision,
            ParkReason.NO_USABLE_DESTINATION,
            f"no enabled destination accepts event type '{conversion.event_type}'",
        )
    return Decision(
        conversion,
        Mode.DIRECT,
        site.revision,
        targets=targets,
        mode_mismatch=_mismatch(conversion, Mode.DIRECT),
    )


def direct_targets(site: SiteConfig, event_type: str) -> tuple[Target, ...]:
    """The enabled, complete destinations that take this event type, in platform order."""
    d = site.destinations
    targets: list[Target] = []
    google_action = d.google.conversion_actions.get(event_type, "")
    if d.google.enabled and d.google.customer_id and d.google.credentials_ref and google_action:
        targets.append(
            Target(
                Platform.GOOGLE,
                d.google.customer_id,
                credentials_ref=d.google.credentials_ref,
                login_customer_id=d.google.login_customer_id,
                conversion_action=google_action,
                google_api=d.google.api,
                validate_only=d.google.validate_only,
            )
        )
    if d.meta.enabled and d.meta.pixel_id and d.meta.credentials_ref:
        targets.append(
            Target(
                Platform.META,
                d.meta.pixel_id,
                credentials_ref=d.meta.credentials_ref,
                test_event_code=d.meta.test_event_code,
                event_name=d.meta.event_names.get(event_type, ""),
            )
        )
    if d.tiktok.enabled and d.tiktok.pixel_code and d.tiktok.credentials_ref:
        targets.append(
            Target(
                Platform.TIKTOK,
                d.tiktok.pixel_code,
                credentials_ref=d.tiktok.credentials_ref,
                test_event_code=d.tiktok.test_event_code,
                event_name=d.tiktok.event_names.get(event_type, ""),
            )
        )
    return tuple(targets)


def sgtm_target(sgtm: SgtmSettings) -> Target:
    return Target(Platform.SGTM, sgtm.host)


def _sgtm(conversion: Conversion, revision: int, sgtm: SgtmSettings) -> Decision:
    return Decision(
        conversion,
        Mode.SGTM,
        revision,
        targets=(sgtm_target(sgtm),),
        mode_mismatch=_mismatch(conversion, Mode.SGTM),
    )


def _park(
    conversion: Conversion, mode: Mode, revision: int, reason: ParkReason, detail: str
) -> Decision:
    return Decision(
        conversion,
        mode,
        revision,
        park_reason=reason,
        park_detail=detail,
        mode_mismatch=_mismatch(conversion, mode),
    )


def _mismatch(conversion: Conversion, mode: Mode) -> bool:
    hint = conversion.mode_hint
    return (
        hint not in (None, Mode.UNSPECIFIED) and mode is not Mode.UNSPECIFIED and hint is not mode
    )
