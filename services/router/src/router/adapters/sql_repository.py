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
from router.domain.delivery import Outcome, SgtmDelivery
from router.domain.events import Event
from router.domain.routing import Conversion, Decision, TraceRef
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


class SqlSgtmLedger:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue(self, deliveries: Sequence[SgtmDelivery]) -> None:
        if not deliveries:
            return
        deliveries = sorted(deliveries, key=lambda d: d.delivery_id)
        await self._session.execute(
            text(
                f"""
                INSERT INTO {SCHEMA}.sgtm_deliveries
                    (delivery_id, conversion_id, site_id, config_revision, host, payload,
                     traceparent, tracestate)
                SELECT * FROM unnest(CAST(:i AS text[]), CAST(:c AS text[]), CAST(:s AS text[]),
                                     CAST(:r AS bigint[]), CAST(:h AS text[]),
                                     CAST(:p AS bytea[]), CAST(:tp AS text[]),
                                     CAST(:ts AS text[]))
                ON CONFLICT (delivery_id) DO NOTHING
                """
            ),
            {
                "i": [d.delivery_id for d in deliveries],
                "c": [d.conversion_id for d in deliveries],
                "s": [d.site_id for d in deliveries],
                "r": [d.config_revision for d in deliveries],
                "h": [d.host for d in deliveries],
                "p": [d.payload for d in deliveries],
                "tp": [d.trace.traceparent for d in deliveries],
                "ts": [d.trace.tracestate for d in deliveries],
            },
        )

    async def claim(
        self, owner: str, limit: int, lease_seconds: float, exclude_hosts: Sequence[str]
    ) -> list[SgtmDelivery]:
        rows = await self._session.execute(
            text(
                f"""
                UPDATE {SCHEMA}.sgtm_deliveries AS d
                SET lease_owner = :owner, lease_until = now() + make_interval(secs => :lease)
                FROM (
                    SELECT delivery_id FROM {SCHEMA}.sgtm_deliveries
                    WHERE status = 'pending' AND next_attempt_at <= now()
                      AND lease_until <= now() AND host <> ALL(CAST(:excluded AS text[]))
                    ORDER BY next_attempt_at LIMIT :limit
                    FOR UPDATE SKIP LOCKED
                ) AS due
                WHERE d.delivery_id = due.delivery_id
                RETURNING {", ".join("d." + c.strip() for c in _DELIVERY_COLUMNS.split(","))}
                """
            ),
            {
                "owner": owner,
                "lease": lease_seconds,
                "excluded": list(exclude_hosts),
                "limit": limit,
            },
        )
        return [
            SgtmDelivery(
                delivery_id=r.delivery_id,
                conversion_id=r.conversion_id,
                site_id=r.site_id,
                config_revision=r.config_revision,
                host=r.host,
                payload=bytes(r.payload) if r.payload is not None else b"",
                trace=TraceRef(r.traceparent, r.tracestate),
                attempts=r.attempts,
                sequence=r.sequence,
                created_at=r.created_at,
            )
            for r in rows
        ]

    async def renew(self, owner: str, delivery_ids: Sequence[str], lease_seconds: float) -> None:
        # Rows being settled right now are skipped (they are about to leave the lease anyway):
        # waiting for them while holding others is how two statements deadlock.
        await self._session.execute(
            text(
                f"""
                UPDATE {SCHEMA}.sgtm_deliveries AS d
                SET lease_until = now() + make_interval(secs => :lease)
                FROM (
                    SELECT delivery_id FROM {SCHEMA}.sgtm_deliveries
                    WHERE delivery_id = ANY(CAST(:ids AS text[])) AND lease_owner = :owner
                      AND status = 'pending'
                    FOR UPDATE SKIP LOCKED
                ) AS held
                WHERE d.delivery_id = held.delivery_id
                """
            ),
            {"ids": list(delivery_ids), "owner": owner, "lease": lease_seconds},
        )

    async def settle(self, owner: str, outcomes: Sequence[Outcome]) -> list[Outcome]:
        if not outcomes:
            return []
        outcomes = sorted(outcomes, key=lambda o: o.delivery.delivery_id)
        rows = await self._session.execute(
            text(
                f"""
                UPDATE {SCHEMA}.sgtm_deliveries AS d SET
                    status = u.status, attempts = u.attempts, sequence = u.seq,
                    last_error = u.error, error_class = u.ec, platform_code = u.code,
                    batch_id = u.batch,
                    next_attempt_at = CASE WHEN u.retry_in IS NULL THEN d.next_attempt_at
                                      ELSE now() + make_interval(secs => u.retry_in) END,
                    lease_owner = NULL, lease_until = '-infinity', updated_at = now(),
                    confirmed_at = CASE WHEN u.status = 'confirmed' THEN now() END,
                    payload = CASE WHEN u.status = 'confirmed' THEN NULL ELSE d.payload END
                FROM unnest(CAST(:ids AS text[]), CAST(:status AS text[]), CAST(:att AS int[]),
                            CAST(:seq AS int[]), CAST(:error AS text[]), CAST(:ec AS text[]),
                            CAST(:code AS text[]), CAST(:batch AS text[]),
                            CAST(:retry AS float8[]))
                     AS u(id, status, attempts, seq, error, ec, code, batch, retry_in)
                WHERE d.delivery_id = u.id AND d.lease_owner = :owner AND d.status = 'pending'
                RETURNING d.delivery_id
                """
            ),
            {
                "owner": owner,
                "ids": [o.delivery.delivery_id for o in outcomes],
                "status": [o.status.value for o in outcomes],
                "att": [o.attempts for o in outcomes],
                "seq": [o.sequence for o in outcomes],
                "error": [o.error or None for o in outcomes],
                "ec": [o.error_class.value for o in outcomes],
                "code": [o.platform_code or None for o in outcomes],
                "batch": [o.batch_id or None for o in outcomes],
                "retry": [o.retry_in for o in outcomes],
            },
        )
        settled = {r[0] for r in rows}
        return [o for o in outcomes if o.delivery.delivery_id in settled]

    async def purge(self, older_than_days: int, limit: int) -> int:
        result = await self._session.execute(
            text(
                f"""
                DELETE FROM {SCHEMA}.sgtm_deliveries WHERE delivery_id IN (
                    SELECT delivery_id FROM {SCHEMA}.sgtm_deliveries
                    WHERE status <> 'pending'
                      AND updated_at < now() - make_interval(days => :days)
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
                f"""
                UPDATE {SCHEMA}.sgtm_deliveries SET
                    payload = NULL, updated_at = now(), lease_owner = NULL,
                    lease_until = '-infinity',
                    status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END,
                    last_error = CASE WHEN status = 'pending' THEN 'erased before delivery'
                                 ELSE last_error END
                WHERE conversion_id = ANY(CAST(:c AS text[])) AND payload IS NOT NULL
                """
            ),
            {"c": list(conversion_ids)},
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def postpone(self, owner: str, delivery_ids: Sequence[str], seconds: float) -> None:
        await self._session.execute(
            text(
                f"""
                UPDATE {SCHEMA}.sgtm_deliveries SET
                    next_attempt_at = now() + make_interval(secs => :delay),
                    lease_owner = NULL, lease_until = '-infinity', updated_at = now()
                WHERE delivery_id = ANY(CAST(:ids AS text[])) AND lease_owner = :owner
                  AND status = 'pending'
                """
            ),
            {"ids": list(delivery_ids), "owner": owner, "delay": max(0.0, seconds)},
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
    ledger: SqlSgtmLedger
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
        self.ledger = SqlSgtmLedger(session)
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
