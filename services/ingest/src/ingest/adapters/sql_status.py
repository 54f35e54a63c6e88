"""PostgreSQL adapter recording the router's decisions and the dispatchers' delivery updates,
and serving GetConversion's read model."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import BindParameter, bindparam, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT, BYTEA, TEXT, UUID
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from convhub.ingest.v1 import ingest_pb2
from hubkit import naming
from hubkit.db import UnitOfWork
from ingest.adapters.mappers import match_keys
from ingest.adapters.orm import (
    SCHEMA,
    conversion_sources,
    conversions,
    deliveries,
    hubspot_pending,
    routing,
    source_objects,
    source_syncs,
    webhook_deliveries,
    webhook_refusals,
)
from ingest.domain.sources import API_SOURCE, HUBSPOT

log = logging.getLogger(__name__)
T = TypeVar("T")

_ARRAYS: dict[str, ARRAY[Any]] = {
    "ids": ARRAY(UUID(as_uuid=False)),
    "revisions": ARRAY(BIGINT),
    "records": ARRAY(BYTEA),
    "delivery_ids": ARRAY(TEXT),
    "sequences": ARRAY(BIGINT),
}


def _params(*names: str) -> list[BindParameter[Any]]:
    return [bindparam(n, type_=_ARRAYS[n]) for n in names]


# Rows for erased (or unknown) conversions are not created: the JOIN drops them.
_ROUTED = text(f"""
    INSERT INTO {SCHEMA}.routing AS r (conversion_id, config_revision, record)
    SELECT u.* FROM unnest(:ids, :revisions, :records) AS u(conversion_id, config_revision, record)
    JOIN {SCHEMA}.conversions USING (conversion_id)
    ON CONFLICT (conversion_id) DO UPDATE
        SET config_revision = EXCLUDED.config_revision, record = EXCLUDED.record
        WHERE r.config_revision <= EXCLUDED.config_revision
""").bindparams(*_params("ids", "revisions", "records"))

# A higher sequence wins, so redelivered or reordered updates never move a status backwards.
_DELIVERED = text(f"""
    INSERT INTO {SCHEMA}.deliveries AS d (delivery_id, conversion_id, sequence, record)
    SELECT u.* FROM unnest(:delivery_ids, :ids, :sequences, :records)
        AS u(delivery_id, conversion_id, sequence, record)
    JOIN {SCHEMA}.conversions USING (conversion_id)
    ON CONFLICT (delivery_id) DO UPDATE SET sequence = EXCLUDED.sequence, record = EXCLUDED.record
        WHERE d.sequence < EXCLUDED.sequence
""").bindparams(*_params("delivery_ids", "ids", "sequences", "records"))


def delivery_id(conversion_id: str, destination: common_pb2.Destination) -> str:
    platform = common_pb2.Platform.Name(destination.platform).removeprefix("PLATFORM_")
    return naming.delivery_id(conversion_id, platform, destination.account_id)


class SqlStatusStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def record_routed(self, items: Sequence[events_pb2.ConversionRouted]) -> None:
        latest: dict[str, events_pb2.ConversionRouted] = {}
        for item in _with_uuid(items):
            seen = latest.get(item.conversion_id)
            if seen is None or seen.config_revision <= item.config_revision:
                latest[item.conversion_id] = item
        latest = dict(sorted(latest.items()))  # one lock order for concurrent writers
        pending = [
            (delivery_id(i.conversion_id, d), i.conversion_id, _pending(i, d))
            for i in latest.values()
            for d in i.destinations
        ]
        async with UnitOfWork(self._engine) as uow:
            await uow.session.execute(
                _ROUTED,
                {
                    "ids": list(latest),
                    "revisions": [i.config_revision for i in latest.values()],
                    "records": [i.SerializeToString() for i in latest.values()],
                },
            )
            if pending:
                # Sequence 0: any real update from a dispatcher supersedes "pending".
                await uow.session.execute(
                    _DELIVERED,
                    {
                        "delivery_ids": [p[0] for p in pending],
                        "ids": [p[1] for p in pending],
                        "sequences": [0] * len(pending),
                        "records": [p[2] for p in pending],
                    },
                )
            await uow.commit()

    async def record_deliveries(self, items: Sequence[events_pb2.DeliveryUpdated]) -> None:
        latest: dict[str, events_pb2.DeliveryUpdated] = {}
        for item in _with_uuid(items):
            seen = latest.get(item.delivery_id)
            if seen is None or seen.sequence < item.sequence:
                latest[item.delivery_id] = item
        latest = dict(sorted(latest.items()))  # one lock order for concurrent writers
        async with UnitOfWork(self._engine) as uow:
            await uow.session.execute(
                _DELIVERED,
                {
                    "delivery_ids": list(latest),
                    "ids": [i.conversion_id for i in latest.values()],
                    "sequences": [max(i.sequence, 1) for i in latest.values()],
                    "records": [_state(i).SerializeToString() for i in latest.values()],
                },
            )
            await uow.commit()

    async def get(self, conversion_id: str) -> ingest_pb2.GetConversionResponse | None:
        async with self._engine.connect() as conn:
            # One snapshot for the three reads: routing and its deliveries land together.
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            record = (
                await conn.execute(
                    select(conversions.c.record).where(conversions.c.conversion_id == conversion_id)
                )
            ).scalar_one_or_none()
            if record is None:
                return None
            routed = (
                await conn.execute(
                    select(routing.c.record).where(routing.c.conversion_id == conversion_id)
                )
            ).scalar_one_or_none()
            states = (
                (
                    await conn.execute(
                        select(deliveries.c.record)
                        .where(deliveries.c.conversion_id == conversion_id)
                        .order_by(deliveries.c.delivery_id)
                    )
                )
                .scalars()
                .all()
            )
            cs = conversion_sources.c
            reports = (
                await conn.execute(
                    select(cs.source, cs.reference, cs.first_reported_at, cs.reports)
                    .where(cs.conversion_id == conversion_id)
                    .order_by(cs.first_reported_at, cs.source)
                )
            ).all()
            o = source_objects.c
            own_refs = dict(
                (
                    await conn.execute(
                        select(o.source, o.reference).where(o.conversion_id == conversion_id)
                    )
                ).all()
            )
        response = ingest_pb2.GetConversionResponse(
            conversion=common_pb2.HashedConversion.FromString(record),
            deliveries=[common_pb2.DeliveryState.FromString(s) for s in states],
        )
        response.sources.extend(_sources(response.conversion, reports, own_refs))
        if routed is not None:
            r = events_pb2.ConversionRouted.FromString(routed)
            response.routing.CopyFrom(
                ingest_pb2.ConversionRouting(
                    routed=True,
                    mode=r.mode,
                    destinations=r.destinations,
                    config_revision=r.config_revision,
                    parked=r.parked,
                    parked_reason=r.parked_reason,
                    parked_detail=r.parked_detail,
                    mode_mismatch=r.mode_mismatch,
                    routed_at=r.routed_at,
                )
            )
            response.match_keys.extend(match_keys(response.conversion, r.destinations))
        return response


async def list_conversions(
    engine: AsyncEngine,
    site_id: str,
    start: datetime | None,
    end: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
    ids_only: bool,
) -> list[common_pb2.HashedConversion]:
    """The site's conversions by (received_at, conversion_id), from just past `after`."""
    c = conversions.c
    columns = [c.conversion_id, c.received_at] + ([] if ids_only else [c.record])
    query = select(*columns).where(c.site_id == site_id)
    if start is not None:
        query = query.where(c.received_at >= start)
    if end is not None:
        query = query.where(c.received_at < end)
    if after is not None:
        at, conversion_id = after
        query = query.where(
            tuple_(c.received_at, c.conversion_id)
            > tuple_(
                bindparam("after_at", at, type_=c.received_at.type),
                bindparam("after_id", conversion_id, type_=c.conversion_id.type),
            )
        )
    query = query.order_by(c.received_at, c.conversion_id).limit(limit)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    found = []
    for row in rows:
        if ids_only:
            item = common_pb2.HashedConversion(conversion_id=str(row.conversion_id))
            item.received_at.FromDatetime(row.received_at)
        else:
            item = common_pb2.HashedConversion.FromString(row.record)
        found.append(item)
    return found


SOURCE_WINDOW = timedelta(days=7)


async def list_sources(
    engine: AsyncEngine, site_ids: Sequence[str], now: datetime
) -> list[ingest_pb2.SiteSource]:
    """Per (site, source) seen in deliveries, refusals, pending events or syncs: the last 7
    days' webhooks by outcome, pending HubSpot events and the last sync. `configured` is the
    caller's to set (it knows the site configuration)."""
    d, f, p, s = webhook_deliveries.c, webhook_refusals.c, hubspot_pending.c, source_syncs.c
    since = now - SOURCE_WINDOW
    found: dict[tuple[str, str], ingest_pb2.SiteSource] = {}

    def entry(site_id: str, source: str) -> ingest_pb2.SiteSource:
        key = (site_id, source)
        if key not in found:
            found[key] = ingest_pb2.SiteSource(site_id=site_id, source=source)
        return found[key]

    async with engine.connect() as conn:
        rows = await conn.execute(
            select(d.site_id, d.source, d.outcome, func.count(), func.max(d.received_at))
            .where(d.site_id.in_(site_ids), d.received_at >= since)
            .group_by(d.site_id, d.source, d.outcome)
        )
        for site_id, source, outcome, count, last in rows:
            e = entry(site_id, source)
            field = f"webhooks_{outcome}"
            if field in ingest_pb2.SiteSource.DESCRIPTOR.fields_by_name:
                setattr(e, field, getattr(e, field) + count)
            if not e.HasField("last_webhook_at") or e.last_webhook_at.ToDatetime(UTC) < last:
                e.last_webhook_at.FromDatetime(last)
        rows = await conn.execute(
            select(f.site_id, f.source, func.sum(f.refused))
            .where(f.site_id.in_(site_ids), f.day >= since.date())
            .group_by(f.site_id, f.source)
        )
        for site_id, source, refused in rows:
            entry(site_id, source).webhooks_refused = int(refused)
        rows = await conn.execute(
            select(p.site_id, func.count()).where(p.site_id.in_(site_ids)).group_by(p.site_id)
        )
        for site_id, pending in rows:
            entry(site_id, HUBSPOT).pending = pending
        rows = await conn.execute(
            select(s.site_id, s.source, s.watermark, s.last_run_at, s.last_outcome).where(
                s.site_id.in_(site_ids)
            )
        )
        for site_id, source, watermark, last_run, outcome in rows:
            e = entry(site_id, source)
            e.last_sync_outcome = outcome
            if last_run is not None:
                e.last_sync_at.FromDatetime(last_run)
            if watermark is not None:
                e.sync_watermark.FromDatetime(watermark)
    return list(found.values())


def _sources(
    c: common_pb2.HashedConversion, duplicates: Sequence[Any], own_refs: dict[str, str]
) -> list[ingest_pb2.SourceReport]:
    """The conversion's own source first (from its record: stored without a row), folding in
    that source's later duplicate reports, then every other source that reported it."""
    own_source = common_pb2.ConversionSource.Name(c.source) if c.source else API_SOURCE
    again = {r.source: r for r in duplicates}.get(own_source)
    own = ingest_pb2.SourceReport(
        source=own_source,
        reference=own_refs.get(own_source, "") or (again.reference if again else ""),
        reports=1 + (again.reports if again else 0),
    )
    own.first_reported_at.CopyFrom(c.received_at)
    found = [own]
    for r in duplicates:
        if r.source != own_source:
            report = ingest_pb2.SourceReport(
                source=r.source, reference=r.reference, reports=r.reports
            )
            report.first_reported_at.FromDatetime(r.first_reported_at)
            found.append(report)
    return found


def _with_uuid(items: Sequence[T]) -> list[T]:
    """Items naming a conversion ingest could have issued; others are logged and skipped, so one
    bad item never blocks its batch (retrying could not fix it)."""
    good = []
    for item in items:
        try:
            uuid.UUID(item.conversion_id)  # type: ignore[attr-defined]
            good.append(item)
        except ValueError:
            log.warning("status item with a malformed conversion id skipped")
    return good


def _pending(item: events_pb2.ConversionRouted, d: common_pb2.Destination) -> bytes:
    state = common_pb2.DeliveryState(
        delivery_id=delivery_id(item.conversion_id, d),
        destination=d,
        status=common_pb2.DELIVERY_STATUS_PENDING,
        updated_at=item.routed_at,
    )
    return state.SerializeToString()


def _state(u: events_pb2.DeliveryUpdated) -> common_pb2.DeliveryState:
    return common_pb2.DeliveryState(
        delivery_id=u.delivery_id,
        destination=u.destination,
        status=u.status,
        attempts=u.attempts,
        last_error=u.last_error,
        error_class=u.error_class,
        platform_code=u.platform_code,
        batch_id=u.batch_id,
        updated_at=u.occurred_at,
    )
