"""PostgreSQL repositories of the router and its unit of work (bulk statements, one per batch)."""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from google.protobuf.message import DecodeError
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hubkit.db import UnitOfWork, stage
from hubkit.errors import FailedPrecondition
from router.adapters import mappers
from router.adapters.orm import SCHEMA, outbox, site_revisions, sites
from router.domain.events import Event
from router.domain.routing import Conversion, Decision
from router.domain.site import SiteConfig, SiteRecord

log = logging.getLogger(__name__)


class SiteCache:
    """Parsed configurations by (site, revision): a revision never changes, so never stale."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, int], SiteConfig] = OrderedDict()

    def parse(self, site_id: str, revision: int, data: dict[str, Any]) -> SiteConfig:
        key = (site_id, revision)
        site = self._items.get(key)
        if site is None:
            site = self._items[key] = mappers.site_from_json(data)
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return site


class SqlSiteRepository:
    def __init__(self, session: AsyncSession, cache: SiteCache) -> None:
        self._session = session
        self._cache = cache

    async def get(self, site_id: str, *, lock: bool = False) -> SiteRecord | None:
        stmt = select(
            sites.c.revision, sites.c.deleted, sites.c.config, sites.c.mirrored_revision
        ).where(sites.c.site_id == site_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self._session.execute(stmt)).first()
        if row is None:
            return None
        return self._record(site_id, row.revision, row.deleted, row.config, row.mirrored_revision)

    def _record(
        self, site_id: str, revision: int, deleted: bool, config: Any, mirrored: int
    ) -> SiteRecord:
        site = None if deleted else self._cache.parse(site_id, revision, config)
        return SiteRecord(site_id, revision, site, mirrored)

    async def at_revision(self, site_id: str, revision: int) -> SiteConfig | None:
        row = (
            await self._session.execute(
                select(site_revisions.c.deleted, site_revisions.c.config).where(
                    site_revisions.c.site_id == site_id, site_revisions.c.revision == revision
                )
            )
        ).first()
        if row is None or row.deleted:
            return None
        return self._cache.parse(site_id, revision, row.config)

    async def save(self, record: SiteRecord) -> None:
        config = record.config
        data = mappers.site_to_json(config) if config is not None else None
        values = {
            "site_id": record.site_id,
            "revision": record.revision,
            "deleted": config is None,
            "mode": config.mode.value if config is not None else "unspecified",
            "config": json.dumps(data) if data is not None else None,
            "created_at": config.created_at if config is not None else None,
            "updated_at": config.updated_at if config is not None else None,
        }
        # Only the writer that read revision N may store N+1: a racing writer gets no row back.
        stored = (
            await self._session.execute(
                text(
                    f"""
                    INSERT INTO {SCHEMA}.sites AS s
                        (site_id, revision, deleted, mode, config, created_at, updated_at,
                         mirrored_revision)
                    VALUES (:site_id, :revision, :deleted, :mode, CAST(:config AS jsonb),
                            :created_at, coalesce(:updated_at, now()), 0)
                    ON CONFLICT (site_id) DO UPDATE SET
                        revision = excluded.revision, deleted = excluded.deleted,
                        mode = excluded.mode, config = excluded.config,
                        created_at = excluded.created_at, updated_at = excluded.updated_at
                    WHERE s.revision = excluded.revision - 1
                    RETURNING site_id
                    """
                ),
                values,
            )
        ).first()
        if stored is None:
            raise FailedPrecondition(f"site '{record.site_id}' changed concurrently; try again")
        await self._session.execute(
            text(
                f"""
                INSERT INTO {SCHEMA}.site_revisions (site_id, revision, deleted, config, changed_at)
                VALUES (:site_id, :revision, :deleted, CAST(:config AS jsonb),
                        coalesce(:updated_at, now()))
                """
            ),
            values,
        )

    async def page(
        self, site_ids: frozenset[str] | None, after: str, limit: int
    ) -> list[SiteConfig]:
        stmt = (
            select(sites.c.site_id, sites.c.revision, sites.c.config)
            .where(sites.c.deleted.is_(False), sites.c.site_id > after)
            .order_by(sites.c.site_id)
            .limit(limit)
        )
        if site_ids is not None:
            stmt = stmt.where(sites.c.site_id.in_(sorted(site_ids)))
        rows = (await self._session.execute(stmt)).all()
        return [self._cache.parse(r.site_id, r.revision, r.config) for r in rows]

    async def unmirrored(self, limit: int) -> list[SiteRecord]:
        rows = (
            await self._session.execute(
                select(sites.c.site_id, sites.c.revision, sites.c.deleted, sites.c.config)
                .where(sites.c.mirrored_revision < sites.c.revision)
                .order_by(sites.c.site_id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        return [self._record(r.site_id, r.revision, r.deleted, r.config, 0) for r in rows]

    async def mark_mirrored(self, site_id: str, revision: int) -> None:
        await self._session.execute(
            update(sites)
            .where(sites.c.site_id == site_id)
            .values(mirrored_revision=func.greatest(sites.c.mirrored_revision, revision))
        )

    async def mark_unmirrored(self, site_ids: Sequence[str]) -> None:
        await self._session.execute(
            update(sites).where(sites.c.site_id.in_(list(site_ids))).values(mirrored_revision=0)
        )

    async def all_records(self) -> list[SiteRecord]:
        rows = (
            await self._session.execute(
                select(
                    sites.c.site_id,
                    sites.c.revision,
                    sites.c.deleted,
                    sites.c.config,
                    sites.c.mirrored_revision,
                ).order_by(sites.c.site_id)
            )
        ).all()
        return [
            self._record(r.site_id, r.revision, r.deleted, r.config, r.mirrored_revision)
            for r in rows
        ]


class SqlDecisionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, decisions: Sequence[Decision]) -> set[str]:
        if not decisions:
            return set()
        # Key order: concurrent batches sharing conversions wait on each other, never deadlock.
        decisions = sorted(decisions, key=lambda d: d.conversion_id)
        result = await self._session.execute(
            text(
                f"""
                INSERT INTO {SCHEMA}.routing_decisions
                    (conversion_id, site_id, mode, config_revision, parked, park_reason,
                     park_detail, destinations, mode_mismatch, decided_at)
                SELECT c, s, m, r, p, pr, pd, CAST(d AS jsonb), mm, now()
                FROM unnest(CAST(:c AS text[]), CAST(:s AS text[]), CAST(:m AS text[]),
                            CAST(:r AS bigint[]), CAST(:p AS boolean[]), CAST(:pr AS text[]),
                            CAST(:pd AS text[]), CAST(:d AS text[]), CAST(:mm AS boolean[]))
                     AS u(c, s, m, r, p, pr, pd, d, mm)
                ON CONFLICT (conversion_id) DO NOTHING
                RETURNING conversion_id
                """
            ),
            _decision_columns(decisions),
        )
        return {row[0] for row in result}

    async def park(self, decisions: Sequence[Decision], seen_revision: int) -> None:
        if not decisions:
            return
        decisions = sorted(decisions, key=lambda d: d.conversion_id)
        await self._session.execute(
            text(
                f"""
                INSERT INTO {SCHEMA}.parked_conversions
                    (conversion_id, site_id, payload, parked_revision, checked_revision, parked_at)
                SELECT c, s, p, r, :seen, now()
                FROM unnest(CAST(:c AS text[]), CAST(:s AS text[]), CAST(:p AS bytea[]),
                            CAST(:r AS bigint[])) AS u(c, s, p, r)
                ON CONFLICT (conversion_id) DO NOTHING
                """
            ),
            {
                "c": [d.conversion_id for d in decisions],
                "s": [d.conversion.site_id for d in decisions],
                "p": [d.conversion.payload for d in decisions],
                "r": [d.revision for d in decisions],
                "seen": seen_revision,
            },
        )

    async def sites_to_recheck(self, limit: int) -> list[str]:
        rows = await self._session.execute(
            text(
                f"""
                SELECT DISTINCT p.site_id
                FROM {SCHEMA}.parked_conversions p JOIN {SCHEMA}.sites s USING (site_id)
                WHERE s.revision > p.checked_revision
                ORDER BY p.site_id LIMIT :limit
                """
            ),
            {"limit": limit},
        )
        return [r[0] for r in rows]

    async def take_parked(self, site_id: str, below_revision: int, limit: int) -> list[Conversion]:
        rows = (
            await self._session.execute(
                text(
                    f"""
                    SELECT conversion_id, payload FROM {SCHEMA}.parked_conversions
                    WHERE site_id = :site AND checked_revision < :revision
                    ORDER BY parked_at, conversion_id LIMIT :limit
                    FOR UPDATE SKIP LOCKED
                    """
                ),
                {"site": site_id, "revision": below_revision, "limit": limit},
            )
        ).all()
        conversions = []
        for conversion_id, payload in rows:
            try:
                conversions.append(mappers.conversion_from_payload(bytes(payload), site_id))
            except DecodeError:  # stored by us from a decodable message: should never happen
                log.error("parked conversion %s has an undecodable payload", conversion_id)
        return conversions

    async def release(self, decisions: Sequence[Decision]) -> None:
        if not decisions:
            return
        columns = _decision_columns(decisions)
        await self._session.execute(
            text(
                f"""
                UPDATE {SCHEMA}.routing_decisions AS t SET
                    mode = u.m, config_revision = u.r, parked = u.p, park_reason = u.pr,
                    park_detail = u.pd, destinations = CAST(u.d AS jsonb),
                    mode_mismatch = u.mm, released_at = now()
                FROM unnest(CAST(:c AS text[]), CAST(:m AS text[]), CAST(:r AS bigint[]),
                            CAST(:p AS boolean[]), CAST(:pr AS text[]), CAST(:pd AS text[]),
                            CAST(:d AS text[]), CAST(:mm AS boolean[]))
                     AS u(c, m, r, p, pr, pd, d, mm)
                WHERE t.conversion_id = u.c AND t.parked
                """
            ),
            columns,
        )
        await self._session.execute(
            text(
                f"DELETE FROM {SCHEMA}.parked_conversions "
                "WHERE conversion_id = ANY(CAST(:c AS text[]))"
            ),
            {"c": columns["c"]},
        )

    async def purge(self, older_than_days: int, limit: int) -> int:
        result = await self._session.execute(
            text(
                f"""
                DELETE FROM {SCHEMA}.routing_decisions WHERE conversion_id IN (
                    SELECT conversion_id FROM {SCHEMA}.routing_decisions
                    WHERE decided_at < now() - make_interval(days => :days) AND NOT parked
                    LIMIT :limit
                )
                """
            ),
            {"days": older_than_days, "limit": limit},
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def erase(self, conversion_ids: Sequence[str]) -> int:
        result = await self._session.execute(
            text(
                f"DELETE FROM {SCHEMA}.parked_conversions "
                "WHERE conversion_id = ANY(CAST(:c AS text[]))"
            ),
            {"c": list(conversion_ids)},
        )
        if result.rowcount:  # type: ignore[attr-defined]
            await self._session.execute(
                text(
                    f"""
                    UPDATE {SCHEMA}.routing_decisions
                    SET park_detail = 'erased while parked', released_at = now()
                    WHERE conversion_id = ANY(CAST(:c AS text[])) AND parked
                    """
                ),
                {"c": list(conversion_ids)},
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def recheck(self, conversion_ids: Sequence[str], revision: int) -> None:
        await self._session.execute(
            text(
                f"""
                UPDATE {SCHEMA}.parked_conversions SET checked_revision = :revision
                WHERE conversion_id = ANY(CAST(:c AS text[]))
                """
            ),
            {"c": list(conversion_ids), "revision": revision},
        )


def _decision_columns(decisions: Sequence[Decision]) -> dict[str, list[Any]]:
    return {
        "c": [d.conversion_id for d in decisions],
        "s": [d.conversion.site_id for d in decisions],
        "m": [d.mode.value for d in decisions],
        "r": [d.revision for d in decisions],
        "p": [d.parked for d in decisions],
        "pr": [d.park_reason.value if d.park_reason else None for d in decisions],
        "pd": [d.park_detail or None for d in decisions],
        "d": [json.dumps(mappers.decision_destinations(d)) for d in decisions],
        "mm": [d.mode_mismatch for d in decisions],
    }


_DELIVERY_COLUMNS = (
    "delivery_id, conversion_id, site_id, config_revision, host, payload, traceparent, "
    "tracestate, attempts, sequence, created_at"
)


class SqlEventOutbox:
    """Collects the events of a unit of work; they become outbox rows in its transaction."""

    def __init__(self) -> None:
        self.staged: list[Event] = []

    def add(self, event: Event) -> None:
        self.staged.append(event)


class SqlUnitOfWork(UnitOfWork):
    sites: SqlSiteRepository
    decisions: SqlDecisionRepository
    events: SqlEventOutbox

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, cache: SiteCache
    ) -> None:
        super().__init__(engine)
        self._sessions = sessions  # one factory for the process, not one per transaction
        self._cache = cache

    def _open(self, session: AsyncSession) -> None:
        self.sites = SqlSiteRepository(session, self._cache)
        self.decisions = SqlDecisionRepository(session)
        self.events = SqlEventOutbox()

    async def commit(self) -> None:
        if self.events.staged:
            await stage(self.session, outbox, mappers.outgoing(self.events.staged))
        await super().commit()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._cache = SiteCache()

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self._engine, self._cache)
