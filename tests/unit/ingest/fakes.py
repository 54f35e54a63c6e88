"""Fakes of ingest's ports for use-case tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ingest.domain.model import DEFAULT_POLICY, Claim, PreparedConversion, SitePolicy, Status


class FakeStore:
    """Dedupe by (site, key) with the window, like the SQL claim."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, bytes], PreparedConversion] = {}
        self.stored: list[PreparedConversion] = []

    async def store(self, batch: Sequence[PreparedConversion]) -> list[Claim]:
        claims = []
        for p in batch:
            holder = self.keys.get((p.site_id, p.dedupe_key))
            if holder is None or holder.dedupe_expires_at <= p.received_at:
                self.keys[(p.site_id, p.dedupe_key)] = p
                self.stored.append(p)
                claims.append(Claim(True, p.conversion_id, p.event_id))
            else:
                claims.append(Claim(False, holder.conversion_id, holder.event_id))
        return claims


class FakePolicies:
    def __init__(self, **by_site: SitePolicy) -> None:
        self.by_site = by_site

    def get(self, site_id: str) -> SitePolicy:
        return self.by_site.get(site_id, DEFAULT_POLICY)


class FakeMetrics:
    def __init__(self) -> None:
        self.outcomes: Counter[tuple[str, Status]] = Counter()
        self.checks: list[float] = []

    def outcome(self, site_id: str, status: Status, count: int = 1) -> None:
        self.outcomes[(site_id, status)] += count

    def dedupe_check(self, seconds_per_conversion: float) -> None:
        self.checks.append(seconds_per_conversion)
