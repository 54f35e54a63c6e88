"""PostgreSQL adapters of SourceLedger and SyncState (schema `ingest`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hubkit.coalescing import Coalescer
from ingest.adapters.orm import (
    SCHEMA,
    hubspot_pending,
    source_syncs,
    webhook_deliveries,
    webhook_refusals,
)
from ingest.domain.hubspot import DealEvent
from ingest.domain.sources import HUBSPOT
from ingest.ports import Delivery, PendingDeal, SyncBusy


class SqlSourceLedger:
    """Lookups and records of concurrent webhooks share one statement each (hubkit Coalescer):
    webhooks arrive one delivery at a time, and a round trip each would bound their rate."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._deliveries = Coalescer(self._find_deliveries)
        self._objects = Coalescer(self._find_objects)
        self._records = Coalescer(self._write_records)

    async def delivery(self, site_id: str, source: str, delivery_id: str) -> Delivery | None:
        return (await self._deliveries([(site_id, source, delivery_id)]))[0]

    async def record(
        self, site_id: str, source: str, deliveries: dict[str, Delivery], at: datetime
    ) -> None:
        if deliveries:
            await self._records(
                [(site_id, source, key, d, at) for key, d in sorted(deliveries.items())]
            )

    async def known_objects(self, site_id: str, source: str, refs: Sequence[str]) -> dict[str, str]:
        found = await self._objects([(site_id, source, ref) for ref in refs])
        return {
            ref: conversion_id
            for ref, conversion_id in zip(refs, found, strict=True)
            if conversion_id
        }

    async def _find_deliveries(self, keys: list[Key]) -> list[Delivery | None]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(_FIND_DELIVERIES, _columns(keys))
            found = {(r.site_id, r.source, r.delivery_id): r for r in rows}
        return [
            Delivery(r.outcome, str(r.conversion_id or "")) if (r := found.get(k)) else None
            for k in keys
        ]

    async def _find_objects(self, keys: list[Key]) -> list[str]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(_FIND_OBJECTS, _columns(keys))
            found = {(r.site_id, r.source, r.reference): str(r.conversion_id) for r in rows}
        return [found.get(k, "") for k in keys]

    async def _write_records(
        self, rows: list[tuple[str, str, str, Delivery, datetime]]
    ) -> list[None]:
        latest = {(site, source, key): (d, at) for site, source, key, d, at in rows}
        async with self._engine.begin() as conn:
            await _record(conn, latest)
        return [None] * len(rows)

    async def refused(self, site_id: str, source: str, at: datetime) -> None:
        stmt = insert(webhook_refusals).values(
            site_id=site_id, source=source, day=at.date(), refused=1
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["site_id", "source", "day"],
            set_={"refused": webhook_refusals.c.refused + 1},
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def add_pending(
        self, site_id: str, events: Sequence[DealEvent], at: datetime
    ) -> list[str]:
        if not events:
            return []
        async with self._engine.begin() as conn:
            # A delivery row per event id makes HubSpot's retries of an event no-ops.
            new = await conn.execute(
                insert(webhook_deliveries)
                .values(
                    [
                        dict(
                            site_id=site_id,
                            source=HUBSPOT,
                            delivery_id=e.event_id,
                            received_at=at,
                            outcome="pending",
                        )
                        for e in events
                    ]
                )
                .on_conflict_do_nothing()
                .returning(webhook_deliveries.c.delivery_id)
            )
            fresh = {r.delivery_id for r in new}
            if fresh:
                await conn.execute(
                    insert(hubspot_pending)
                    .values(
                        [
                            dict(
                                site_id=site_id,
                                event_id=e.event_id,
                                deal_id=e.deal_id,
                                received_at=at,
                                attempts=0,
                                next_attempt_at=at,
                            )
                            for e in events
                            if e.event_id in fresh
                        ]
                    )
                    .on_conflict_do_nothing()
                )
        return [e.event_id for e in events if e.event_id in fresh]

    async def due_pending(self, now: datetime, limit: int) -> list[PendingDeal]:
        p = hubspot_pending.c
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(p.site_id, p.event_id, p.deal_id, p.attempts)
                .where(p.next_attempt_at <= now)
                .order_by(p.next_attempt_at)
                .limit(limit)
            )
            return [PendingDeal(r.site_id, r.event_id, r.deal_id, r.attempts) for r in rows]

    async def finish_pending(
        self, site_id: str, outcomes: dict[str, Delivery], at: datetime
    ) -> None:
        if not outcomes:
            return
        p = hubspot_pending.c
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(hubspot_pending).where(p.site_id == site_id, p.event_id.in_(list(outcomes)))
            )
            await _record(conn, {(site_id, HUBSPOT, k): (d, at) for k, d in outcomes.items()})

    async def postpone_pending(
        self, site_id: str, event_ids: Sequence[str], until: datetime
    ) -> None:
        p = hubspot_pending.c
        async with self._engine.begin() as conn:
            await conn.execute(
                update(hubspot_pending)
                .where(p.site_id == site_id, p.event_id.in_(list(event_ids)))
                .values(attempts=p.attempts + 1, next_attempt_at=until)
            )


async def _record(
    conn: AsyncConnection, deliveries: dict[tuple[str, str, str], tuple[Delivery, datetime]]
) -> None:
    """Insert each delivery, or update its outcome (a pending HubSpot event that was read).
    In key order, so concurrent writers never deadlock. One cached statement whatever the
    number of rows (a multi-row VALUES would be compiled anew for each count)."""
    rows = sorted(deliveries.items())
    await conn.execute(
        _RECORD,
        {
            "sites": [k[0] for k, _ in rows],
            "sources": [k[1] for k, _ in rows],
            "keys": [k[2] for k, _ in rows],
            "ats": [at for _, (_, at) in rows],
            "outcomes": [d.outcome for _, (d, _) in rows],
            "ids": [d.conversion_id or None for _, (d, _) in rows],
        },
    )


_RECORD = text(f"""
    INSERT INTO {SCHEMA}.webhook_deliveries AS w
        (site_id, source, delivery_id, received_at, outcome, conversion_id)
    SELECT * FROM unnest(CAST(:sites AS text[]), CAST(:sources AS text[]),
                         CAST(:keys AS text[]), CAST(:ats AS timestamptz[]),
                         CAST(:outcomes AS text[]), CAST(:ids AS uuid[]))
    ON CONFLICT (site_id, source, delivery_id) DO UPDATE
        SET outcome = EXCLUDED.outcome, conversion_id = EXCLUDED.conversion_id
""")


Key = tuple[str, str, str]  # (site_id, source, delivery id or object reference)


def _columns(keys: list[Key]) -> dict[str, list[str]]:
    return {
        "sites": [k[0] for k in keys],
        "sources": [k[1] for k in keys],
        "keys": [k[2] for k in keys],
    }


_FIND_DELIVERIES = text(f"""
    SELECT d.site_id, d.source, d.delivery_id, d.outcome, d.conversion_id
    FROM {SCHEMA}.webhook_deliveries d
    JOIN unnest(CAST(:sites AS text[]), CAST(:sources AS text[]), CAST(:keys AS text[]))
        AS k(site_id, source, delivery_id) USING (site_id, source, delivery_id)
""")
_FIND_OBJECTS = text(f"""
    SELECT o.site_id, o.source, o.reference, o.conversion_id
    FROM {SCHEMA}.source_objects o
    JOIN unnest(CAST(:sites AS text[]), CAST(:sources AS text[]), CAST(:keys AS text[]))
        AS k(site_id, source, reference) USING (site_id, source, reference)
""")


class SqlSyncState:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def begin(
        self, site_id: str, source: str, now: datetime, lease: timedelta
    ) -> datetime | None:
        s = source_syncs.c
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(source_syncs)
                .values(site_id=site_id, source=source, last_outcome="never run")
                .on_conflict_do_nothing()
            )
            row = (
                await conn.execute(
                    update(source_syncs)
                    .where(
                        s.site_id == site_id,
                        s.source == source,
                        (s.lease_until.is_(None)) | (s.lease_until < now),
                    )
                    .values(lease_until=now + lease)
                    .returning(s.watermark)
                )
            ).first()
        if row is None:
            raise SyncBusy(f"a {source} sync of site {site_id!r} is already running")
        return row.watermark  # type: ignore[no-any-return]

    async def advance(self, site_id: str, source: str, watermark: datetime) -> None:
        s = source_syncs.c
        async with self._engine.begin() as conn:
            await conn.execute(
                update(source_syncs)
                .where(s.site_id == site_id, s.source == source)
                .values(watermark=func.greatest(func.coalesce(s.watermark, watermark), watermark))
            )

    async def end(self, site_id: str, source: str, outcome: str, at: datetime) -> None:
        s = source_syncs.c
        async with self._engine.begin() as conn:
            await conn.execute(
                update(source_syncs)
                .where(s.site_id == site_id, s.source == source)
                .values(last_outcome=outcome[:500], last_run_at=at, lease_until=None)
            )
