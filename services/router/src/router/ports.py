"""Ports: what the router's use cases need from the outside world, in domain terms."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from router.domain.events import Event
from router.domain.routing import Conversion, Decision
from router.domain.site import Mode, SiteConfig, SiteRecord


class SiteRepository(Protocol):
    async def get(self, site_id: str, *, lock: bool = False) -> SiteRecord | None:
        """The site's record (a tombstone when deleted); `lock` holds it until commit."""

    async def at_revision(self, site_id: str, revision: int) -> SiteConfig | None:
        """The configuration a revision named; None for a deletion or an unknown revision."""

    async def save(self, record: SiteRecord) -> None:
        """Store the new current record and add it to the site's revision history."""

    async def page(
        self, site_ids: frozenset[str] | None, after: str, limit: int
    ) -> list[SiteConfig]:
        """Live sites ordered by id, after `after`; `site_ids` None means every site."""

    async def unmirrored(self, limit: int) -> list[SiteRecord]:
        """Records whose current revision is not yet in the KV bucket, locked until commit
        (rows another transaction holds are skipped)."""

    async def mark_mirrored(self, site_id: str, revision: int) -> None: ...

    async def mark_unmirrored(self, site_ids: Sequence[str]) -> None:
        """Copy these sites to the bucket again (their entries there are wrong or missing)."""

    async def all_records(self) -> list[SiteRecord]: ...


class DecisionRepository(Protocol):
    async def record(self, decisions: Sequence[Decision]) -> set[str]:
        """Record decisions; returns the conversion ids that had none (the others are repeats)."""

    async def park(self, decisions: Sequence[Decision], seen_revision: int) -> None:
        """Keep parked conversions (their payload too) until a configuration releases them."""

    async def sites_to_recheck(self, limit: int) -> list[str]:
        """Sites with parked conversions whose configuration changed since they were checked."""

    async def take_parked(self, site_id: str, below_revision: int, limit: int) -> list[Conversion]:
        """Parked conversions not yet checked against `below_revision`, locked until commit."""

    async def release(self, decisions: Sequence[Decision]) -> None:
        """Parked conversions routed after all: their decisions updated, their parking ended."""

    async def recheck(self, conversion_ids: Sequence[str], revision: int) -> None:
        """Still parked under `revision`: do not look at them again until the next change."""

    async def purge(self, older_than_days: int, limit: int) -> int:
        """Delete up to `limit` routed (not parked) decisions older than that; returns how many."""

    async def erase(self, conversion_ids: Sequence[str]) -> int:
        """Forget the parked payloads of erased conversions (their decisions hold no personal
        data and stay, so a redelivery is still recognised); returns how many."""


class EventOutbox(Protocol):
    def add(self, event: Event) -> None:
        """Announce `event` if and only if the unit of work commits."""


class UnitOfWork(Protocol):
    @property
    def sites(self) -> SiteRepository: ...

    @property
    def decisions(self) -> DecisionRepository: ...

    @property
    def events(self) -> EventOutbox: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Rolls back unless commit() was called."""

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class SiteMirror(Protocol):
    """The JetStream KV bucket other services read site configurations from."""

    async def put(self, site: SiteConfig) -> None: ...

    async def delete(self, site_id: str) -> None: ...

    async def revisions(self) -> dict[str, int]:
        """Revision of every site the bucket holds now."""


class Wakeups(Protocol):
    """Nudges to background workers after a commit, so nothing waits for a poll interval."""

    def outbox(self) -> None: ...

    def site_changed(self, site_id: str) -> None: ...


class Metrics(Protocol):
    def routed(self, site_id: str, mode: Mode, count: int) -> None: ...

    def mode_mismatch(self, site_id: str, mode: Mode, count: int) -> None: ...

    def parked(self, site_id: str, reason: str, count: int) -> None: ...

    def released(self, site_id: str, count: int) -> None: ...

    def repeated(self, count: int) -> None: ...

    def rejected_items(self, reason: str, count: int) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
