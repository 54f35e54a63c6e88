"""A site's configuration: where its conversions go, with which accounts, under which revision."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlsplit


class Mode(enum.Enum):
    UNSPECIFIED = "unspecified"
    SGTM = "sgtm"
    DIRECT = "direct"


class SgtmFormat(enum.Enum):
    STAPE_DATA_CLIENT = "stape_data_client"
    GA4_MP = "ga4_mp"


class HashRules(enum.Enum):
    """Which platform's normalization produced the hashes the forwarder sends."""

    GOOGLE = "google"
    META = "meta"
    TIKTOK = "tiktok"


class GoogleApi(enum.Enum):
    """The Google API a site's conversions go through: Data Manager unless allowlisted."""

    DATA_MANAGER = "data_manager"
    ADS = "ads"  # uploadClickConversions: developer tokens Google allowlisted only


class ConsentAction(enum.Enum):
    UNSPECIFIED = "unspecified"
    REJECT = "reject"
    STORE_WITHOUT_USER_DATA = "store_without_user_data"


@dataclass(frozen=True)
class SgtmSettings:
    url: str = ""
    format: SgtmFormat = SgtmFormat.STAPE_DATA_CLIENT
    auth_header_name: str = ""
    auth_secret_ref: str = ""
    preview_header: str = ""
    measurement_id: str = ""
    api_secret_ref: str = ""
    user_data_rules: HashRules = HashRules.GOOGLE
    max_batch_events: int = 0  # 0 = the format's default

    @property
    def host(self) -> str:
        """The container's host[:port]: the breaker key and the sGTM destination's account id."""
        try:
            return urlsplit(self.url).netloc.lower()
        except ValueError:
            return ""


@dataclass(frozen=True)
class GoogleDestination:
    enabled: bool = False
    customer_id: str = ""
    login_customer_id: str = ""
    conversion_actions: dict[str, str] = field(default_factory=dict)  # event_type -> resource
    credentials_ref: str = ""
    api: GoogleApi = GoogleApi.DATA_MANAGER
    validate_only: bool = False  # test mode: Google validates and records nothing


@dataclass(frozen=True)
class MetaDestination:
    enabled: bool = False
    pixel_id: str = ""
    credentials_ref: str = ""
    test_event_code: str = ""
    event_names: dict[str, str] = field(default_factory=dict)
    ad_account_id: str = ""  # whose spend attribution reads (digits, without "act_")


@dataclass(frozen=True)
class TikTokDestination:
    enabled: bool = False
    pixel_code: str = ""
    credentials_ref: str = ""
    test_event_code: str = ""
    event_names: dict[str, str] = field(default_factory=dict)
    advertiser_id: str = ""  # whose spend attribution reads


@dataclass(frozen=True)
class Destinations:
    google: GoogleDestination = field(default_factory=GoogleDestination)
    meta: MetaDestination = field(default_factory=MetaDestination)
    tiktok: TikTokDestination = field(default_factory=TikTokDestination)


@dataclass(frozen=True)
class DedupePolicy:
    window_seconds: int = 0
    key_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsentPolicy:
    when_not_granted: ConsentAction = ConsentAction.UNSPECIFIED
    require_explicit_grant: bool = False


@dataclass(frozen=True)
class AttributionSettings:
    """How the attribution service credits the site's conversions (0: its defaults)."""

    lookback_days: int = 0
    half_life_days: float = 0.0
    click_only: bool = False
    reporting_currency: str = ""  # ISO 4217; empty: spend and revenue must share one
    exclude_surveys: bool = False
    view_through_days: int = 0  # 0: views count over the whole lookback


@dataclass(frozen=True)
class ShopifySource:
    secret_ref: str = ""
    shop_domain: str = ""


@dataclass(frozen=True)
class WooCommerceSource:
    secret_ref: str = ""
    paid_statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class HubSpotSource:
    app_secret_ref: str = ""
    access_token_ref: str = ""
    portal_id: int = 0
    won_stages: tuple[str, ...] = ()
    event_type: str = ""
    default_currency: str = ""


@dataclass(frozen=True)
class Sources:
    """Shops and CRMs that send the site's conversions by webhook (ingest receives them)."""

    shopify: ShopifySource = field(default_factory=ShopifySource)
    woocommerce: WooCommerceSource = field(default_factory=WooCommerceSource)
    hubspot: HubSpotSource = field(default_factory=HubSpotSource)


@dataclass(frozen=True)
class SiteConfig:
    """One site's configuration. `revision` and the timestamps are set by the router only."""

    site_id: str
    display_name: str = ""
    mode: Mode = Mode.UNSPECIFIED
    sgtm: SgtmSettings = field(default_factory=SgtmSettings)
    destinations: Destinations = field(default_factory=Destinations)
    dedupe: DedupePolicy = field(default_factory=DedupePolicy)
    consent: ConsentPolicy = field(default_factory=ConsentPolicy)
    default_country: str = ""  # ISO 3166-1 alpha-2: where national phone numbers are read
    attribution: AttributionSettings = field(default_factory=AttributionSettings)
    sources: Sources = field(default_factory=Sources)
    revision: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def same_settings(self, other: SiteConfig) -> bool:
        """Equal in everything a caller sets (an upsert of the same settings is not a change)."""
        return _settings_of(self) == _settings_of(other)


def _settings_of(site: SiteConfig) -> SiteConfig:
    return replace(site, revision=0, created_at=None, updated_at=None)


@dataclass(frozen=True)
class SiteRecord:
    """What the router stores per site: the configuration, or a tombstone after a delete.

    A tombstone keeps the revision counter, so a site created again continues from it and every
    revision of a site names exactly one configuration (or its absence).
    """

    site_id: str
    revision: int
    config: SiteConfig | None  # None: deleted
    mirrored_revision: int = 0

    @property
    def deleted(self) -> bool:
        return self.config is None
