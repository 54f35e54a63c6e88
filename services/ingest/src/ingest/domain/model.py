"""Ingest's domain types: what a sender submits, what ingest keeps, and what it answers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from hubkit.errors import FieldError
from hubkit.pii import PiiField
from hubkit.vocabulary import Platform

DEFAULT_DEDUPE_WINDOW = timedelta(hours=24)
DEFAULT_KEY_FIELDS = ("site_id", "order_id", "event_type")
# `email` is the SHA-256 of the normalized email and `event_hour` the event time's UTC hour:
# with `value` they recognise one purchase reported by sources that share no order id.
ALLOWED_KEY_FIELDS = frozenset(
    {
        "site_id",
        "order_id",
        "event_type",
        "event_id",
        "visitor_id",
        "value",
        "currency",
        "email",
        "event_hour",
    }
)


class Status(enum.Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class ConsentStatus(enum.Enum):
    UNSPECIFIED = "unspecified"
    GRANTED = "granted"
    DENIED = "denied"


class ConsentAction(enum.Enum):
    REJECT = "reject"
    STORE_WITHOUT_USER_DATA = "store_without_user_data"


class ConsentDecision(enum.Enum):
    USER_DATA_KEPT = "user_data_kept"
    USER_DATA_REMOVED = "user_data_removed"


@dataclass(frozen=True)
class ShopifySettings:
    secret_ref: str = ""  # off when empty
    shop_domain: str = ""  # when set, X-Shopify-Shop-Domain must equal it


@dataclass(frozen=True)
class WooCommerceSettings:
    secret_ref: str = ""  # off when empty
    paid_statuses: tuple[str, ...] = ("processing", "completed")


@dataclass(frozen=True)
class HubSpotSettings:
    app_secret_ref: str = ""  # webhooks off when empty
    access_token_ref: str = ""  # CRM reads (webhook events and the pull sync)
    portal_id: int = 0
    won_stages: tuple[str, ...] = ("closedwon",)
    event_type: str = "purchase"
    default_currency: str = ""


@dataclass(frozen=True)
class SourceSettings:
    """Which shops and CRMs send the site's conversions, and how to verify and read them."""

    shopify: ShopifySettings = field(default_factory=ShopifySettings)
    woocommerce: WooCommerceSettings = field(default_factory=WooCommerceSettings)
    hubspot: HubSpotSettings = field(default_factory=HubSpotSettings)

    def webhook_secret_ref(self, source: str) -> str:
        """The reference of the secret `source`'s webhooks are signed with; empty: off."""
        return {
            "shopify": self.shopify.secret_ref,
            "woocommerce": self.woocommerce.secret_ref,
            "hubspot": self.hubspot.app_secret_ref,
        }.get(source, "")

    def configured(self) -> list[str]:
        """The sources (URL names) the site has turned on: by webhook, or HubSpot by sync."""
        return [
            name
            for name in ("shopify", "woocommerce", "hubspot")
            if self.webhook_secret_ref(name)
            or (name == "hubspot" and self.hubspot.access_token_ref)
        ]


@dataclass(frozen=True)
class SitePolicy:
    """The parts of a site's configuration ingest applies (defaults when a site has none)."""

    dedupe_window: timedelta = DEFAULT_DEDUPE_WINDOW
    key_fields: tuple[str, ...] = DEFAULT_KEY_FIELDS
    consent_action: ConsentAction = ConsentAction.STORE_WITHOUT_USER_DATA
    require_explicit_grant: bool = False
    default_country: str = ""  # where national phone numbers are read without a country
    sources: SourceSettings = field(default_factory=SourceSettings)


DEFAULT_POLICY = SitePolicy()


@dataclass(frozen=True)
class Item:
    id: str = ""
    name: str = ""
    quantity: int = 0
    price: str = ""
    brand: str = ""
    category: str = ""
    variant: str = ""


@dataclass(frozen=True)
class ConversionInput:
    """A conversion as submitted, raw personal data included. Lives only in memory."""

    site_id: str
    order_id: str
    event_type: str
    event_time: datetime | None
    event_id: str | None = None
    value: str = ""
    currency: str = ""
    click_ids: dict[str, str] = field(default_factory=dict)
    user_data: dict[str, str] = field(default_factory=dict)  # PiiField names -> raw or hashed
    client_ip: str = ""
    user_agent: str = ""
    ad_user_data: ConsentStatus = ConsentStatus.UNSPECIFIED
    ad_personalization: ConsentStatus = ConsentStatus.UNSPECIFIED
    page_url: str = ""
    referrer_url: str = ""
    items: tuple[Item, ...] = ()
    visitor_id: str = ""
    source: str = ""
    # The source's own id of what it reported (Shopify order id, HubSpot deal id): a source
    # reports each of its objects once, however often its webhooks are retried.
    source_ref: str = ""
    action_source: str = ""
    mode_hint: str | None = None
    # Fields the transport could not read (unknown enum value, timestamp out of range).
    unreadable: tuple[str, ...] = ()


@dataclass(frozen=True)
class PreparedConversion:
    """A valid conversion ready to store: personal data hashed per platform, key computed."""

    conversion_id: str
    input: ConversionInput  # raw user data already dropped: see prepare()
    event_id: str
    value: Decimal | None
    hashed: dict[Platform, dict[PiiField, str]]
    consent_decision: ConsentDecision
    dedupe_key: bytes
    received_at: datetime
    dedupe_expires_at: datetime
    warnings: tuple[FieldError, ...] = ()  # identifiers left out: unusable

    @property
    def site_id(self) -> str:
        return self.input.site_id


@dataclass(frozen=True)
class Outcome:
    status: Status
    conversion_id: str = ""
    duplicate_of: str = ""
    event_id: str = ""
    errors: tuple[FieldError, ...] = ()
    warnings: tuple[FieldError, ...] = ()

    @classmethod
    def rejected(cls, errors: list[FieldError] | tuple[FieldError, ...]) -> Outcome:
        return cls(Status.REJECTED, errors=tuple(errors))


@dataclass(frozen=True)
class Claim:
    """The repository's answer for one prepared conversion: stored, or a duplicate of whom."""

    stored: bool
    conversion_id: str
    event_id: str
