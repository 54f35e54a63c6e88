"""PostgreSQL adapter of ConversionStore and ErasureStore: dedupe claims, rows and outbox, one
transaction per call, a constant number of statements per batch."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from hubkit.bus import Outgoing
from hubkit.bus.chunking import chunks
from hubkit.db import UnitOfWork, stage
from hubkit.naming import message_id
from hubkit.telemetry import current_traceparent
from hubkit.worker import Periodic
from ingest.adapters import mappers
from ingest.adapters.orm import (
    SCHEMA,
    conversion_sources,
    conversions,
    dedupe_keys,
    deliveries,
    outbox,
    routing,
)
from ingest.domain.model import Claim, PreparedConversion
from ingest.domain.sources import API_SOURCE
from ingest.ports import Erasure

# Keys are COPYed into a per-connection staging table (rows vanish at commit), then claimed
# in one statement. A key is free when absent or past its window; the unique key makes a
# concurrent claimant wait for the holder's commit, then see it. Rows are sorted so that two
# overlapping batches lock in the same order and never deadlock.
_STAGE = """
    CREATE TEMP TABLE IF NOT EXISTS claim_stage (
        site_id text, key bytea, conversion_id uuid, event_id text,
        first_seen_at timestamptz, expires_at timestamptz
    ) ON COMMIT DELETE ROWS
"""
_COPY_STAGE = "COPY claim_stage FROM STDIN (FORMAT BINARY)"
_STAGE_TYPES = ["text", "bytea", "uuid", "text", "timestamptz", "timestamptz"]
_CLAIM = text(f"""
    INSERT INTO {SCHEMA}.dedupe_keys AS d
        (site_id, key, conversion_id, event_id, first_seen_at, expires_at)
    SELECT * FROM claim_stage ORDER BY 1, 2
    ON CONFLICT (site_id, key) DO UPDATE
        SET conversion_id = EXCLUDED.conversion_id, event_id = EXCLUDED.event_id,
            first_seen_at = EXCLUDED.first_seen_at, expires_at = EXCLUDED.expires_at
        WHERE d.expires_at <= EXCLUDED.first_seen_at
    RETURNING d.site_id, d.key
""")
_HOLDERS = text(f"""
    SELECT d.site_id, d.key, d.conversion_id, d.event_id
    FROM {SCHEMA}.dedupe_keys d JOIN claim_stage s USING (site_id, key)
    WHERE d.conversion_id <> s.conversion_id
""")


def accepted_subject(site_id: str) -> str:
    return f"convhub.conversions.accepted.{site_id}"


class SqlConversionStore:
    def __init__(self, engine: AsyncEngine, on_commit: Callable[[], None] = lambda: None) -> None:
        self._engine = engine
        self._on_commit = on_commit  # wakes the outbox relay

    async def store(self, batch: Sequence[PreparedConversion]) -> list[Claim]:
        async with UnitOfWork(self._engine) as uow:
            raw = await _driver_connection(uow)
            await raw.execute(_STAGE)
            async with raw.cursor().copy(_COPY_STAGE) as copy:
                copy.set_types(_STAGE_TYPES)
                for p in batch:
                    await copy.write_row(
                        (
                            p.site_id,
                            p.dedupe_key,
                            uuid.UUID(p.conversion_id),
                            p.event_id,
                            p.received_at,
                            p.dedupe_expires_at,
                        )
                    )
            won = await uow.session.execute(_CLAIM)
            winners = {(r.site_id, bytes(r.key)) for r in won}
            holders: dict[tuple[str, bytes], tuple[str, str]] = {}
            if len(winners) < len(batch):
                holders = {
                    (r.site_id, bytes(r.key)): (str(r.conversion_id), r.event_id)
                    for r in await uow.session.execute(_HOLDERS)
                }
            accepted = [p for p in batch if (p.site_id, p.dedupe_key) in winners]
            await _record_sources(uow, batch, winners, holders)
            if accepted:
                records = [mappers.hashed_conversion(p) for p in accepted]
                await _copy_conversions(uow, accepted, records)
                await stage(uow.session, outbox, _accepted_messages(records))
            await uow.commit()
        if accepted:
            self._on_commit()
        claims = []
        for p in batch:
            if (p.site_id, p.dedupe_key) in winners:
                claims.append(Claim(True, p.conversion_id, p.event_id))
            else:
                holder_id, holder_event = holders[(p.site_id, p.dedupe_key)]
                claims.append(Claim(False, holder_id, holder_event))
        return claims

    async def erase(
        self,
        site_id: str,
        email_hashes: Sequence[str],
        phone_hashes: Sequence[str],
        external_id_hashes: Sequence[str],
    ) -> Erasure:
        hashes = sorted({*email_hashes, *phone_hashes, *external_id_hashes})
        erasure_id = str(uuid.uuid4())
        async with UnitOfWork(self._engine) as uow:
            s = uow.session
            gone = (
                await s.execute(
                    delete(conversions)
                    .where(
                        conversions.c.site_id == site_id,
                        conversions.c.identity_hashes.overlap(hashes),
                    )
                    .returning(conversions.c.conversion_id, conversions.c.visitor_id)
                )
            ).all()
            ids = [str(r.conversion_id) for r in gone]
            if ids:
                for table in (dedupe_keys, routing, deliveries, conversion_sources):
                    await s.execute(delete(table).where(table.c.conversion_id.in_(ids)))
            erased = events_pb2.UserErased(
                erasure_id=erasure_id,
                hashed_emails=sorted(email_hashes),
                hashed_phones=sorted(phone_hashes),
                hashed_external_id=external_id_hashes[0] if external_id_hashes else "",
                conversion_ids=ids,
                visitor_ids=sorted({r.visitor_id for r in gone if r.visitor_id}),
            )
            erased.erased_at.FromDatetime(datetime.now(UTC))
            erased.trace.traceparent, erased.trace.tracestate = current_traceparent()
            batch = events_pb2.UserErasedBatch(site_id=site_id, items=[erased])
            subject = f"convhub.erasures.{site_id}"
            await stage(s, outbox, [Outgoing(subject, batch, message_id(subject, [erasure_id]))])
            await uow.commit()
        self._on_commit()
        return Erasure(erasure_id, tuple(ids))


_COPY_CONVERSIONS = (
    f"COPY {SCHEMA}.conversions (conversion_id, site_id, order_id, event_type, event_id, "
    "event_time, received_at, value, currency, consent_decision, visitor_id, identity_hashes, "
    "record) FROM STDIN (FORMAT BINARY)"
)
# Binary COPY: psycopg's C dumpers, and bytea travels raw instead of hex-escaped.
_CONVERSION_TYPES = [
    "uuid",
    "text",
    "text",
    "text",
    "text",
    "timestamptz",
    "timestamptz",
    "numeric",
    "text",
    "text",
    "text",
    "text[]",
    "bytea",
]


async def _driver_connection(uow: UnitOfWork) -> Any:
    """The psycopg connection under the unit of work's session (same transaction), for COPY."""
    connection = await uow.session.connection()
    return (await connection.get_raw_connection()).driver_connection


async def _copy_conversions(
    uow: UnitOfWork, accepted: Sequence[PreparedConversion], records: Sequence[object]
) -> None:
    """COPY on the unit of work's own connection: the fastest insert PostgreSQL has, and still
    inside the transaction that claimed the keys."""
    raw = await _driver_connection(uow)
    async with raw.cursor().copy(_COPY_CONVERSIONS) as copy:
        copy.set_types(_CONVERSION_TYPES)
        for p, record in zip(accepted, records, strict=True):
            c = p.input
            await copy.write_row(
                (
                    uuid.UUID(p.conversion_id),
                    c.site_id,
                    c.order_id,
                    c.event_type,
                    p.event_id,
                    c.event_time,
                    p.received_at,
                    p.value,
                    c.currency,
                    p.consent_decision.value,
                    c.visitor_id,
                    mappers.identity_hashes(p),
                    record.SerializeToString(),  # type: ignore[attr-defined]
                )
            )


# Who else reported a conversion, in the claim's transaction: each source whose report was a
# duplicate of it. (Its own source is its record's: an accepted conversion writes no row here,
# so the common batch of new conversions pays nothing.) Key order: concurrent batches never
# deadlock.
_REPORT_SOURCES = text(f"""
    INSERT INTO {SCHEMA}.conversion_sources AS s
        (conversion_id, source, reference, first_reported_at, reports)
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:sources AS text[]), CAST(:refs AS text[]),
                         CAST(:ats AS timestamptz[]), CAST(:counts AS bigint[]))
    ORDER BY 1, 2
    ON CONFLICT (conversion_id, source) DO UPDATE
        SET reports = s.reports + EXCLUDED.reports,
            reference = CASE WHEN s.reference = '' THEN EXCLUDED.reference ELSE s.reference END
""")
# A source object (order, deal) belongs to the first conversion it was reported as, for good.
_CLAIM_OBJECTS = text(f"""
    INSERT INTO {SCHEMA}.source_objects
        (site_id, source, reference, conversion_id, first_reported_at)
    SELECT * FROM unnest(CAST(:sites AS text[]), CAST(:sources AS text[]), CAST(:refs AS text[]),
                         CAST(:ids AS uuid[]), CAST(:ats AS timestamptz[]))
    ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING
""")


async def _record_sources(
    uow: UnitOfWork,
    batch: Sequence[PreparedConversion],
    winners: set[tuple[str, bytes]],
    holders: dict[tuple[str, bytes], tuple[str, str]],
) -> None:
    reports: dict[tuple[str, str], list[Any]] = {}
    objects: dict[tuple[str, str, str], tuple[str, datetime]] = {}
    for p in batch:
        key = (p.site_id, p.dedupe_key)
        won = key in winners
        conversion_id = p.conversion_id if won else holders[key][0]
        source, ref = p.input.source or API_SOURCE, p.input.source_ref
        if not won:
            row = reports.setdefault((conversion_id, source), [ref, p.received_at, 0])
            row[2] += 1
        if ref:
            objects.setdefault((p.site_id, source, ref), (conversion_id, p.received_at))
    if reports:
        rows = list(reports.values())
        await uow.session.execute(
            _REPORT_SOURCES,
            {
                "ids": [k[0] for k in reports],
                "sources": [k[1] for k in reports],
                "refs": [r[0] for r in rows],
                "ats": [r[1] for r in rows],
                "counts": [r[2] for r in rows],
            },
        )
    if objects:
        await uow.session.execute(
            _CLAIM_OBJECTS,
            {
                "sites": [k[0] for k in objects],
                "sources": [k[1] for k in objects],
                "refs": [k[2] for k in objects],
                "ids": [v[0] for v in objects.values()],
                "ats": [v[1] for v in objects.values()],
            },
        )


def _accepted_messages(records: Sequence[common_pb2.HashedConversion]) -> list[Outgoing]:
    """One ConversionAcceptedBatch per site, each item with the trace of the request."""
    traceparent, tracestate = current_traceparent()
    by_site: dict[str, list[events_pb2.ConversionAccepted]] = defaultdict(list)
    for record in records:
        item = events_pb2.ConversionAccepted(conversion=record)
        item.trace.traceparent, item.trace.tracestate = traceparent, tracestate
        by_site[item.conversion.site_id].append(item)
    return [
        # The relay republishes the message as staged: the id holds across its retries.
        Outgoing(
            accepted_subject(site),
            events_pb2.ConversionAcceptedBatch(site_id=site, items=chunk),
            message_id(accepted_subject(site), [i.conversion.conversion_id for i in chunk]),
        )
        for site, items in by_site.items()
        for chunk in chunks(items)
    ]


class Janitor:
    """Deletes dedupe keys past their window, and webhook deliveries and refusal counts past
    their retention, a bounded chunk at a time, so those tables hold about one window of rows
    however long ingest runs. (An expired key is also reclaimed in place by the next
    conversion with the same key.)"""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        every: float = 600.0,
        chunk: int = 10_000,
        webhook_retention: timedelta = timedelta(days=30),
    ) -> None:
        self._engine = engine
        self._chunk = chunk
        self._retention = webhook_retention
        # The database away: the purge is tried again (a stop waits for the chunk in hand).
        self._loop = Periodic("janitor", self._round, interval=every, wait_first=True)

    async def purge_once(self, now: datetime | None = None) -> int:
        """One chunk of each table; answers the most rows one statement deleted."""
        now = now or datetime.now(UTC)
        params = {"now": now, "before": now - self._retention, "chunk": self._chunk}
        most = 0
        async with self._engine.begin() as conn:
            for purge in _PURGES:
                most = max(most, int((await conn.execute(purge, params)).rowcount or 0))
        return most

    async def _round(self) -> float | None:
        full = await self.purge_once() == self._chunk
        return 0.0 if full else None  # a full chunk: more may be waiting

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()


_PURGES = [
    text(f"""
        DELETE FROM {SCHEMA}.dedupe_keys WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM {SCHEMA}.dedupe_keys WHERE expires_at < :now LIMIT :chunk))
    """),
    # A pending HubSpot event stays until its deal is read, however long that takes.
    text(f"""
        DELETE FROM {SCHEMA}.webhook_deliveries WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM {SCHEMA}.webhook_deliveries
            WHERE received_at < :before AND outcome <> 'pending' LIMIT :chunk))
    """),
    text(f"""
        DELETE FROM {SCHEMA}.webhook_refusals WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM {SCHEMA}.webhook_refusals WHERE day < CAST(:before AS date)
            LIMIT :chunk))
    """),
]
