"""PostgreSQL side of attribution: touchpoints, conversions, credits; reads for the queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from attribution.adapters.orm import conversions, credits, touchpoints, versions
from attribution.app.touchpoints import CheckedTouchpoint
from attribution.domain.model import (
    CreditRow,
    Interaction,
    Sighting,
    StoredConversion,
    Touch,
)


class SqlAttributionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # --- writes --------------------------------------------------------------------------

    async def record_touchpoints(self, items: Sequence[CheckedTouchpoint]) -> set[str]:
        """Insert what is new; returns the (site, id) keys inserted, joined by '/'."""
        if not items:
            return set()
        rows = [
            {
                "site_id": t.site_id,
                "touchpoint_id": t.touchpoint_id,
                "visitor_id": t.visitor_id,
                "user_keys": list(t.user_keys),
                "channel": t.channel,
                "campaign": t.campaign,
                "interaction": t.interaction,
                "occurred_at": t.occurred_at,
            }
            for t in items
        ]
        inserted: list[Any] = []
        async with self._engine.begin() as conn:
            for start in range(0, len(rows), CHUNK):  # a statement's parameters are bounded
                statement = (
                    pg_insert(touchpoints)
                    .values(rows[start : start + CHUNK])
                    .on_conflict_do_nothing()
                    .returning(touchpoints.c.site_id, touchpoints.c.touchpoint_id)
                )
                inserted += (await conn.execute(statement)).all()
            await _bump(conn, {site for site, _ in inserted})
        return {f"{site}/{tid}" for site, tid in inserted}

    async def store_conversion(self, conn: Any, c: StoredConversion) -> None:
        """Kept as first received: a replay changes nothing here."""
        await conn.execute(
            pg_insert(conversions)
            .values(
                conversion_id=c.conversion_id,
                site_id=c.site_id,
                visitor_id=c.visitor_id,
                user_keys=list(c.user_keys),
                event_type=c.event_type,
                event_time=c.event_time,
                value=c.value,
                currency=c.currency,
            )
            .on_conflict_do_nothing()
        )

    async def replace_credits(
        self, items: Sequence[tuple[StoredConversion, Sequence[CreditRow], bool]]
    ) -> None:
        """Each conversion (as first received) with its rule-based credits replaced whole and
        its unattributed flag, all in one transaction with one version bump per site
        (idempotent, recalculable)."""
        if not items:
            return
        ids = [c.conversion_id for c, _, _ in items]
        async with self._engine.begin() as conn:
            for c, _, _ in items:
                await self.store_conversion(conn, c)
            await _bump(conn, {c.site_id for c, _, _ in items})
            await conn.execute(delete(credits).where(credits.c.conversion_id.in_(ids)))
            rows = [
                {
                    "conversion_id": c.conversion_id,
                    "model": r.model,
                    "position": r.position,
                    "site_id": c.site_id,
                    "event_time": c.event_time,
                    "event_type": c.event_type,
                    "touchpoint_id": r.touchpoint_id,
                    "channel": r.channel,
                    "campaign": r.campaign,
                    "credit": r.credit,
                    "revenue": r.revenue,
                    "currency": c.currency,
                }
                for c, credit_rows, _ in items
                for r in credit_rows
            ]
            for start in range(0, len(rows), CHUNK):
                await conn.execute(insert(credits), rows[start : start + CHUNK])
            for flag in (True, False):
                flagged = [c.conversion_id for c, _, unattributed in items if unattributed is flag]
                if flagged:
                    await conn.execute(
                        update(conversions)
                        .where(conversions.c.conversion_id.in_(flagged))
                        .values(unattributed=flag, attributed_at=func.now())
                    )

    async def erase(
        self,
        site_id: str,
        conversion_ids: Sequence[str],
        visitor_ids: Sequence[str],
        user_keys: Sequence[str] = (),
    ) -> tuple[int, int]:
        """The person's touchpoints (by visitor, by their hashed identifiers or those of their
        conversions) and their conversions with every stored result. Idempotent. Returns
        (touchpoints, conversions) gone."""
        async with self._engine.begin() as conn:
            stored = (
                (
                    await conn.execute(
                        select(func.unnest(conversions.c.user_keys)).where(
                            conversions.c.conversion_id.in_(list(conversion_ids))
                        )
                    )
                )
                .scalars()
                .all()
            )
            keys = {*stored, *user_keys}
            who = []
            if visitor_ids:
                who.append(touchpoints.c.visitor_id.in_(list(visitor_ids)))
            if keys:
                who.append(touchpoints.c.user_keys.overlap(sorted(keys)))
            gone_touches = 0
            if who:
                gone_touches = len(
                    (
                        await conn.execute(
                            delete(touchpoints)
                            .where(touchpoints.c.site_id == site_id, or_(*who))
                            .returning(touchpoints.c.touchpoint_id)
                        )
                    ).all()
                )
            ids = list(conversion_ids)
            await _bump(conn, {site_id})
            await conn.execute(delete(credits).where(credits.c.conversion_id.in_(ids)))
            gone = await conn.execute(
                delete(conversions)
                .where(conversions.c.conversion_id.in_(ids))
                .returning(conversions.c.conversion_id)
            )
            return gone_touches, len(gone.all())

    # --- reads ---------------------------------------------------------------------------

    async def touches_of(
        self,
        site_id: str,
        visitor_id: str,
        user_keys: Sequence[str],
        since: datetime,
        until: datetime,
    ) -> list[Touch]:
        """The touches of one person: the visitor, anyone sharing one of the hashed user keys,
        and so on through the visitor ids and keys those touches carry (a few hops)."""
        visitors = {visitor_id} - {""}
        keys = set(user_keys)
        found: dict[str, Touch] = {}
        async with self._engine.connect() as conn:
            for _ in range(STITCH_HOPS):
                who = []
                if visitors:
                    who.append(touchpoints.c.visitor_id.in_(sorted(visitors)))
                if keys:
                    who.append(touchpoints.c.user_keys.overlap(sorted(keys)))
                if not who:
                    return []
                query = select(
                    *_TOUCH_COLUMNS, touchpoints.c.visitor_id, touchpoints.c.user_keys
                ).where(
                    touchpoints.c.site_id == site_id,
                    touchpoints.c.occurred_at >= since,
                    touchpoints.c.occurred_at <= until,
                    or_(*who),
                )
                more_visitors, more_keys = set(visitors), set(keys)
                for r in await conn.execute(query):
                    found[r.touchpoint_id] = _touch(r)
                    more_visitors.add(r.visitor_id)
                    more_keys.update(r.user_keys)
                more_visitors.discard("")
                if more_visitors == visitors and more_keys == keys:
                    break
                visitors, keys = more_visitors, more_keys
        return list(found.values())

    async def conversion(self, conversion_id: str) -> Any:
        async with self._engine.connect() as conn:
            return (
                await conn.execute(
                    select(conversions).where(conversions.c.conversion_id == conversion_id)
                )
            ).first()

    async def credits_of(self, conversion_id: str) -> list[Any]:
        query = (
            select(credits)
            .where(credits.c.conversion_id == conversion_id)
            .order_by(credits.c.model, credits.c.position)
        )
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).all())

    async def conversions_in(
        self, site_id: str, start: datetime | None, end: datetime | None, event_types: Sequence[str]
    ) -> list[StoredConversion]:
        query = select(conversions).where(*_range(conversions, site_id, start, end, event_types))
        async with self._engine.connect() as conn:
            return [conversion_of(r) for r in await conn.execute(query)]

    async def sightings(
        self, site_id: str, since: datetime, until: datetime | None
    ) -> list[Sighting]:
        query = select(*_TOUCH_COLUMNS, touchpoints.c.visitor_id, touchpoints.c.user_keys).where(
            touchpoints.c.site_id == site_id, touchpoints.c.occurred_at >= since
        )
        if until is not None:
            query = query.where(touchpoints.c.occurred_at <= until)
        async with self._engine.connect() as conn:
            return [
                Sighting(_touch(r), r.visitor_id, tuple(r.user_keys))
                for r in await conn.execute(query)
            ]

    async def site_version(self, site_id: str) -> int:
        """Bumped by every write of the site's data, erasures included (cache key)."""
        async with self._engine.connect() as conn:
            found = (
                await conn.execute(select(versions.c.version).where(versions.c.site_id == site_id))
            ).scalar()
        return int(found or 0)

    async def credit_totals(
        self,
        site_id: str,
        models: Sequence[str],
        start: datetime | None,
        end: datetime | None,
        event_types: Sequence[str],
        key: str,
    ) -> list[tuple[str, str, str, Decimal, Decimal]]:
        """(model, key, currency, credited conversions, revenue) of the stored credits."""
        column = credits.c[key]
        query = (
            select(
                credits.c.model,
                column,
                credits.c.currency,
                func.sum(credits.c.credit),
                func.sum(credits.c.revenue),
            )
            .where(credits.c.model.in_(list(models)))
            .where(*_range(credits, site_id, start, end, event_types))
            .group_by(credits.c.model, column, credits.c.currency)
        )
        async with self._engine.connect() as conn:
            return [tuple(r) for r in await conn.execute(query)]


CHUNK = 1000  # rows per INSERT
STITCH_HOPS = 4  # visitor id -> shared key -> other visitor id -> ...


async def _bump(conn: Any, sites: Iterable[str]) -> None:
    for site in sorted(sites):
        await conn.execute(
            pg_insert(versions)
            .values(site_id=site, version=1)
            .on_conflict_do_update(
                index_elements=[versions.c.site_id], set_={"version": versions.c.version + 1}
            )
        )


_TOUCH_COLUMNS = (
    touchpoints.c.touchpoint_id,
    touchpoints.c.channel,
    touchpoints.c.campaign,
    touchpoints.c.occurred_at,
    touchpoints.c.interaction,
    touchpoints.c.seq,
)


def _touch(r: Any) -> Touch:
    return Touch(
        r.touchpoint_id, r.channel, r.campaign, r.occurred_at, Interaction(r.interaction), r.seq
    )


def conversion_of(r: Any) -> StoredConversion:
    return StoredConversion(
        r.conversion_id,
        r.site_id,
        r.visitor_id,
        tuple(r.user_keys),
        r.event_type,
        r.event_time,
        r.value,
        r.currency,
    )


def _range(
    table: Any, site_id: str, start: datetime | None, end: datetime | None, types: Iterable[str]
) -> list[Any]:
    conditions = [table.c.site_id == site_id]
    if start is not None:
        conditions.append(table.c.event_time >= start)
    if end is not None:
        conditions.append(table.c.event_time < end)
    types = list(types)
    if types:
        conditions.append(table.c.event_type.in_(types))
    return conditions
