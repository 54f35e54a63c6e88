"""In-memory fakes of the router's ports, for use-case tests without I/O."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from router.domain.events import Event
from router.domain.routing import Conversion, Decision, Mode, TraceRef
from router.domain.site import SiteConfig, SiteRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.t)

    def advance(self, seconds: float) -> None:
        self.t += seconds


class FakeDb:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sites: dict[str, SiteRecord] = {}
        self.revisions: dict[tuple[str, int], SiteConfig | None] = {}
        self.decisions: dict[str, Decision] = {}
        self.parked: dict[str, tuple[Conversion, int]] = {}
        self.published: list[Event] = []
        self.commits = 0


class FakeSites:
    def __init__(self, db: FakeDb) -> None:
        self.db = db

    async def get(self, site_id: str, *, lock: bool = False) -> SiteRecord | None:
        return self.db.sites.get(site_id)

    async def at_revision(self, site_id: str, revision: int) -> SiteConfig | None:
        return self.db.revisions.get((site_id, revision))

    async def save(self, record: SiteRecord) -> None:
        current = self.db.sites.get(record.site_id)
        assert (current.revision if current else 0) == record.revision - 1
        self.db.sites[record.site_id] = record
        self.db.revisions[(record.site_id, record.revision)] = record.config

    async def page(
        self, site_ids: frozenset[str] | None, after: str, limit: int
    ) -> list[SiteConfig]:
        live = sorted(
            (r.config for r in self.db.sites.values() if r.config is not None),
            key=lambda s: s.site_id,
        )
        return [
            s for s in live if s.site_id > after and (site_ids is None or s.site_id in site_ids)
        ][:limit]

    async def unmirrored(self, limit: int) -> list[SiteRecord]:
        return [r for r in self.db.sites.values() if r.mirrored_revision < r.revision][:limit]

    async def mark_mirrored(self, site_id: str, revision: int) -> None:
        r = self.db.sites[site_id]
        self.db.sites[site_id] = replace(r, mirrored_revision=max(r.mirrored_revision, revision))

    async def mark_unmirrored(self, site_ids: Sequence[str]) -> None:
        for site_id in site_ids:
            self.db.sites[site_id] = replace(self.db.sites[site_id], mirrored_revision=0)

    async def all_records(self) -> list[SiteRecord]:
        return list(self.db.sites.values())


class FakeDecisions:
    def __init__(self, db: FakeDb) -> None:
        self.db = db

    async def record(self, decisions: Sequence[Decision]) -> set[str]:
        fresh = set()
        for d in decisions:
            if d.conversion_id not in self.db.decisions:
                self.db.decisions[d.conversion_id] = d
                fresh.add(d.conversion_id)
        return fresh

    async def park(self, decisions: Sequence[Decision], seen_revision: int) -> None:
        for d in decisions:
            self.db.parked.setdefault(d.conversion_id, (d.conversion, seen_revision))

    async def sites_to_recheck(self, limit: int) -> list[str]:
        found = {
            c.site_id
            for c, checked in self.db.parked.values()
            if c.site_id in self.db.sites and self.db.sites[c.site_id].revision > checked
        }
        return sorted(found)[:limit]

    async def take_parked(self, site_id: str, below_revision: int, limit: int) -> list[Conversion]:
        return [
            c
            for c, checked in self.db.parked.values()
            if c.site_id == site_id and checked < below_revision
        ][:limit]

    async def release(self, decisions: Sequence[Decision]) -> None:
        for d in decisions:
            self.db.decisions[d.conversion_id] = d
            del self.db.parked[d.conversion_id]

    async def recheck(self, conversion_ids: Sequence[str], revision: int) -> None:
        for cid in conversion_ids:
            c, _ = self.db.parked[cid]
            self.db.parked[cid] = (c, revision)


class FakeOutbox:
    def __init__(self) -> None:
        self.staged: list[Event] = []

    def add(self, event: Event) -> None:
        self.staged.append(event)


class FakeUnitOfWork:
    def __init__(self, db: FakeDb) -> None:
        self.db = db
        self.sites = FakeSites(db)
        self.decisions = FakeDecisions(db)
        self.events = FakeOutbox()

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    async def commit(self) -> None:
        self.db.published += self.events.staged
        self.db.commits += 1


class FakeWakeups:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def outbox(self) -> None:
        self.counts["outbox"] += 1

    def site_changed(self, site_id: str) -> None:
        self.counts[f"site:{site_id}"] += 1


class FakeMetrics:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def routed(self, site_id: str, mode: Mode, count: int) -> None:
        self.counts[f"routed_{mode.value}"] += count

    def mode_mismatch(self, site_id: str, mode: Mode, count: int) -> None:
        self.counts["route_mode_mismatch"] += count

    def parked(self, site_id: str, reason: str, count: int) -> None:
        self.counts[f"parked_{reason}"] += count

    def released(self, site_id: str, count: int) -> None:
        self.counts["released"] += count

    def repeated(self, count: int) -> None:
        self.counts["repeated"] += count

    def rejected_items(self, reason: str, count: int) -> None:
        self.counts[f"rejected_{reason}"] += count


def conversion(
    conversion_id: str,
    site_id: str = "shop",
    event_type: str = "purchase",
    hint: Mode | None = None,
) -> Conversion:
    return Conversion(
        conversion_id=conversion_id,
        site_id=site_id,
        event_type=event_type,
        mode_hint=hint,
        trace=TraceRef(),
        payload=conversion_id.encode(),
    )
