"""Events the router announces; staged in the same transaction as the state they describe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hubkit.vocabulary import Platform
from router.domain.routing import Decision, Target
from router.domain.site import Mode


@dataclass(frozen=True)
class ConversionsRouted:
    """Decisions of one site (parked ones too): convhub.routed.<site>."""

    site_id: str
    decisions: tuple[Decision, ...]
    at: datetime


@dataclass(frozen=True)
class DispatchRequested:
    """Deliveries for one destination of one site: convhub.dispatch.<platform>.<site> (sgtm
    included: the router's own sGTM dispatcher takes them from there)."""

    site_id: str
    platform: Platform
    items: tuple[tuple[Decision, Target], ...]
    at: datetime


@dataclass(frozen=True)
class SiteChanged:
    """A site's configuration changed (or was deleted): convhub.sites.changed.<site>."""

    site_id: str
    revision: int
    deleted: bool
    mode: Mode
    at: datetime


Event = ConversionsRouted | DispatchRequested | SiteChanged
