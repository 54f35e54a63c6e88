"""Ports: what the ingest core needs from the outside world, in domain terms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ingest.domain.hubspot import Deal, DealEvent
from ingest.domain.model import Claim, PreparedConversion, SitePolicy, Status


class ConversionStore(Protocol):
    async def store(self, conversions: Sequence[PreparedConversion]) -> list[Claim]:
        """In ONE transaction: claim each dedupe key, persist the winners and stage their
        ConversionAccepted messages in the outbox. Claims come back in input order. Keys within
        `conversions` are distinct. Concurrent callers with the same key get exactly one winner."""
        ...


@dataclass(frozen=True)
class Erasure:
    erasure_id: str
    conversion_ids: tuple[str, ...]


class ErasureStore(Protocol):
    async def erase(
        self,
        site_id: str,
        email_hashes: Sequence[str],
        phone_hashes: Sequence[str],
        external_id_hashes: Sequence[str],
    ) -> Erasure:
        """Delete the person's conversions (and their keys, routing, deliveries) and stage
        UserErased in the outbox, in one transaction."""
        ...


class SitePolicies(Protocol):
    def get(self, site_id: str) -> SitePolicy:
        """The site's current policy, or the defaults when it has no configuration."""
        ...


class IngestMetrics(Protocol):
    def outcome(self, site_id: str, status: Status, count: int = 1) -> None: ...

    def dedupe_check(self, seconds_per_conversion: float) -> None: ...


# --- sources: shop and CRM webhooks, HubSpot's CRM API -------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """What became of one webhook delivery: an outcome (accepted, duplicate, ignored,
    rejected, pending) and the conversion it gave or duplicated."""

    outcome: str
    conversion_id: str = ""


@dataclass(frozen=True)
class PendingDeal:
    site_id: str
    event_id: str
    deal_id: str
    attempts: int


class SourceLedger(Protocol):
    """Deliveries, source objects and HubSpot events awaiting their deal."""

    async def delivery(self, site_id: str, source: str, delivery_id: str) -> Delivery | None: ...

    async def record(
        self, site_id: str, source: str, deliveries: dict[str, Delivery], at: datetime
    ) -> None:
        """Record (or update) deliveries by id."""
        ...

    async def refused(self, site_id: str, source: str, at: datetime) -> None:
        """Count one refused webhook (nothing of it is kept)."""
        ...

    async def known_objects(self, site_id: str, source: str, refs: Sequence[str]) -> dict[str, str]:
        """The conversion each already-reported object (order or deal id) became."""
        ...

    async def add_pending(
        self, site_id: str, events: Sequence[DealEvent], at: datetime
    ) -> list[str]:
        """In one transaction: queue the events not seen before, recording each as a pending
        delivery. Returns the event ids that were new."""
        ...

    async def due_pending(self, now: datetime, limit: int) -> list[PendingDeal]: ...

    async def finish_pending(
        self, site_id: str, outcomes: dict[str, Delivery], at: datetime
    ) -> None:
        """Forget the events (by id) and record what became of each delivery."""
        ...

    async def postpone_pending(
        self, site_id: str, event_ids: Sequence[str], until: datetime
    ) -> None: ...


class SyncBusy(Exception):
    """Another run of the same sync holds its lease."""


class SyncState(Protocol):
    async def begin(
        self, site_id: str, source: str, now: datetime, lease: timedelta
    ) -> datetime | None:
        """Take the sync's lease and answer its watermark (None: never synced). Raises SyncBusy."""
        ...

    async def advance(self, site_id: str, source: str, watermark: datetime) -> None: ...

    async def end(self, site_id: str, source: str, outcome: str, at: datetime) -> None:
        """Record the run's outcome and give the lease back."""
        ...


class SecretUnavailable(Exception):
    """A credentials reference is missing, empty or unreadable (the message names it only)."""


class Secrets(Protocol):
    def read(self, ref: str) -> str:
        """The secret a credentials reference names; raises SecretUnavailable."""
        ...


class CrmUnavailable(Exception):
    """HubSpot throttled, failed or could not be reached: try again after `retry_after`."""

    def __init__(self, message: str, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class DealPage:
    deals: list[Deal]
    after: str  # empty on the last page


class HubSpotCrm(Protocol):
    async def read_deals(self, token: str, deal_ids: Sequence[str]) -> list[Deal]:
        """The deals that exist, each with its associated contacts. Raises CrmUnavailable."""
        ...

    async def search_deals(
        self, token: str, *, modified_since: datetime, stages: Sequence[str], after: str
    ) -> DealPage:
        """Deals in `stages` modified at or after `modified_since`, oldest change first, with
        their contacts. Raises CrmUnavailable."""
        ...
