"""PostgreSQL adapter of ConversionStore and ErasureStore: dedupe claims, rows and outbox, one
transaction per call, a constant number of statements per batch."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, insert, text
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA, TEXT, TIMESTAMP, UUID
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.events.v1 import events_pb2
from hubkit.bus import Outgoing
from hubkit.db import UnitOfWork, stage
from hubkit.telemetry import current_traceparent
from ingest.adapters import mappers
from ingest.adapters.orm import SCHEMA, conversions, dedupe_keys, deliveries, outbox, routing
from ingest.domain.model import Claim, PreparedConversion
from ingest.ports import Erasure

# Claim every key at once. A key is free when absent or past its window; the unique key makes
# a concurrent claimant wait for the holder's commit, then see it. Rows are sorted so two
# overlapping batches lock in the same order and never deadlock.
_CLAIM = text(f"""
    INSERT INTO {SCHEMA}.dedupe_keys AS d
        (site_id, key, conversion_id, event_id, first_seen_at, expires_at)
    SELECT * FROM unnest(:site_ids, :keys, :conversion_ids, :event_ids, :seen, :expires)
    ORDER BY 1, 2
    ON CONFLICT (site_id, key) DO UPDATE
        SET conversion_id = EXCLUDED.conversion_id, event_id = EXCLUDED.event_id,
            first_seen_at = EXCLUDED.first_seen_at, expires_at = EXCLUDED.expires_at
        WHERE d.expires_at <= EXCLUDED.first_seen_at
    RETURNING d.site_id, d.key
""").bindparams(
    bindparam("site_ids", type_=ARRAY(TEXT)),
    bindparam("keys", type_=ARRAY(BYTEA)),
    bindparam("conversion_ids", type_=ARRAY(UUID(as_uuid=False))),
    bindparam("event_ids", type_=ARRAY(TEXT)),
    bindparam("seen", type_=ARRAY(TIMESTAMP(timezone=True))),
    bindparam("expires", type_=ARRAY(TIMESTAMP(timezone=True))),
)

_HOLDERS = text(f"""
    SELECT d.site_id, d.key, d.conversion_id, d.event_id
    FROM {SCHEMA}.dedupe_keys d
    JOIN unnest(:site_ids, :keys) AS k(site_id, key) USING (site_id, key)
""").bindparams(bindparam("site_ids", type_=ARRAY(TEXT)), bindparam("keys", type_=ARRAY(BYTEA)))


def accepted_subject(site_id: str) -> str:
    return f"convhub.conversions.accepted.{site_id}"


class SqlConversionStore:
    def __init__(self, engine: AsyncEngine, on_commit: Callable[[], None] = lambda: None) -> None:
        self._engine = engine
        self._on_commit = on_commit  # wakes the outbox relay

    async def store(self, batch: Sequence[PreparedConversion]) -> list[Claim]:
        async with UnitOfWork(self._engine) as uow:
            won = await uow.session.execute(
                _CLAIM,
                {
                    "site_ids": [p.site_id for p in batch],
                    "keys": [p.dedupe_key for p in batch],
                    "conversion_ids": [p.conversion_id for p in batch],
                    "event_ids": [p.event_id for p in batch],
                    "seen": [p.received_at for p in batch],
                    "expires": [p.dedupe_expires_at for p in batch],
                },
            )
            winners = {(r.site_id, bytes(r.key)) for r in won}
            losers = [p for p in batch if (p.site_id, p.dedupe_key) not in winners]
            holders: dict[tuple[str, bytes], tuple[str, str]] = {}
            if losers:
                rows = await uow.session.execute(
                    _HOLDERS,
                    {
                        "site_ids": [p.site_id for p in losers],
                        "keys": [p.dedupe_key for p in losers],
                    },
                )
                holders = {
                    (r.site_id, bytes(r.key)): (str(r.conversion_id), r.event_id) for r in rows
                }
            accepted = [p for p in batch if (p.site_id, p.dedupe_key) in winners]
            if accepted:
                records = [mappers.hashed_conversion(p) for p in accepted]
                await uow.session.execute(
                    insert(conversions),
                    [
                        _conversion_row(p, r.SerializeToString())
                        for p, r in zip(accepted, records, strict=True)
                    ],
                )
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
                for table in (dedupe_keys, routing, deliveries):
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
            await stage(
                s, outbox, [Outgoing(f"convhub.erasures.{site_id}", batch, f"erasure:{erasure_id}")]
            )
            await uow.commit()
        self._on_commit()
        return Erasure(erasure_id, tuple(ids))


def _conversion_row(p: PreparedConversion, record: bytes) -> dict[str, object]:
    c = p.input
    return {
        "conversion_id": p.conversion_id,
        "site_id": c.site_id,
        "order_id": c.order_id,
        "event_type": c.event_type,
        "event_id": p.event_id,
        "event_time": c.event_time,
        "received_at": p.received_at,
        "value": p.value,
        "currency": c.currency,
        "consent_decision": p.consent_decision.value,
        "visitor_id": c.visitor_id,
        "identity_hashes": mappers.identity_hashes(p),
        "record": record,
    }


def _accepted_messages(records: Sequence[object]) -> list[Outgoing]:
    """One ConversionAcceptedBatch per site, each item with the trace of the request."""
    traceparent, tracestate = current_traceparent()
    by_site: dict[str, list[events_pb2.ConversionAccepted]] = defaultdict(list)
    for record in records:
        item = events_pb2.ConversionAccepted(conversion=record)
        item.trace.traceparent, item.trace.tracestate = traceparent, tracestate
        by_site[item.conversion.site_id].append(item)
    return [
        # The first conversion id names the message for good: the relay republishes it as is.
        Outgoing(
            accepted_subject(site),
            events_pb2.ConversionAcceptedBatch(site_id=site, items=items),
            f"accepted:{items[0].conversion.conversion_id}",
        )
        for site, items in by_site.items()
    ]
