"""Ports: what the ingest core needs from the outside world, in domain terms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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
