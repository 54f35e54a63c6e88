"""HubSpot deals as conversions: which webhook events announce a won deal, and what a won deal
(with its primary contact) becomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingest.domain.model import ConversionInput, HubSpotSettings
from ingest.domain.sources import HUBSPOT, Mapped, NotAConversion, first, parse_time, text

# What the mapping reads of a deal and of its contacts (the CRM API returns only these).
DEAL_PROPERTIES = (
    "amount",
    "deal_currency_code",
    "dealstage",
    "closedate",
    "hs_lastmodifieddate",
    "pipeline",
)
CONTACT_PROPERTIES = (
    "email",
    "phone",
    "mobilephone",
    "firstname",
    "lastname",
    "city",
    "state",
    "zip",
    "country",
    "hs_google_click_id",
    "hs_facebook_click_id",
)


@dataclass(frozen=True)
class Deal:
    deal_id: str
    properties: dict[str, Any]
    contacts: tuple[dict[str, Any], ...] = ()  # properties of the associated contacts
    contact_ids: tuple[str, ...] = field(default=())

    @property
    def modified_at(self) -> datetime | None:
        return parse_time(self.properties.get("hs_lastmodifieddate"))


@dataclass(frozen=True)
class DealEvent:
    """A webhook event that may announce a won deal: read the deal to know."""

    event_id: str
    deal_id: str
    occurred_at: datetime | None


class WrongAccount(Exception):
    """An event of another HubSpot account than the site's: the whole request is refused."""


def deal_events(events: list[Any], settings: HubSpotSettings) -> tuple[list[DealEvent], int]:
    """The events worth reading the deal for (its stage became a won one, or it was created),
    and how many were not. Raises WrongAccount when any event is of another account."""
    wanted, ignored = [], 0
    for event in events:
        if not isinstance(event, dict):
            ignored += 1
            continue
        if text(event.get("portalId")) != str(settings.portal_id):
            raise WrongAccount(f"an event of HubSpot account {text(event.get('portalId'))!r}")
        kind = text(event.get("subscriptionType"))
        won_stage = (
            kind == "deal.propertyChange"
            and text(event.get("propertyName")) == "dealstage"
            and text(event.get("propertyValue")) in settings.won_stages
        )
        event_id, deal_id = text(event.get("eventId")), text(event.get("objectId"))
        if (won_stage or kind == "deal.creation") and event_id and deal_id.isdigit():
            wanted.append(DealEvent(event_id, deal_id, parse_time(event.get("occurredAt"))))
        else:
            ignored += 1
    return wanted, ignored


def deal_to_conversion(site_id: str, deal: Deal, settings: HubSpotSettings) -> Mapped:
    """A deal in a won stage becomes the site's purchase (or lead); its first contact gives the
    person and the Google and Meta click ids HubSpot tracked."""
    p = deal.properties
    stage = text(p.get("dealstage"))
    if stage not in settings.won_stages:
        return NotAConversion(f"deal stage {stage or 'missing'} is not a won stage")
    contact = deal.contacts[0] if deal.contacts else {}
    click_ids = {
        name: value
        for name, value in (
            ("gclid", text(contact.get("hs_google_click_id"))),
            ("fbclid", text(contact.get("hs_facebook_click_id"))),
        )
        if value
    }
    user_data = {
        "email": text(contact.get("email")),
        "phone": first(contact.get("phone"), contact.get("mobilephone")),
        "first_name": text(contact.get("firstname")),
        "last_name": text(contact.get("lastname")),
        "city": text(contact.get("city")),
        "state": text(contact.get("state")),
        "zip": text(contact.get("zip")),
        "country": text(contact.get("country")),
        "external_id": deal.contact_ids[0] if deal.contact_ids else "",
    }
    amount = text(p.get("amount"))
    return ConversionInput(
        site_id=site_id,
        order_id=deal.deal_id,
        event_type=settings.event_type,
        event_time=parse_time(p.get("closedate")) or deal.modified_at,
        value=amount,
        currency=(text(p.get("deal_currency_code")) or settings.default_currency) if amount else "",
        click_ids=click_ids,
        user_data={k: v for k, v in user_data.items() if v},
        source=HUBSPOT,
        source_ref=deal.deal_id,
        action_source="ACTION_SOURCE_SYSTEM_GENERATED",
    )
