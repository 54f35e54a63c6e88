"""PostgreSQL side of spend, exchange rates, the daily rollup, job runs and job watermarks, and
the reads the scheduled jobs make."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from attribution.adapters.orm import (
    SCHEMA,
    conversions,
    daily_metrics,
    exchange_rates,
    job_marks,
    job_runs,
    spend,
    versions,
)
from attribution.adapters.sql_store import conversion_of
from attribution.domain.model import RULE_MODELS, StoredConversion
from attribution.domain.roas import Amount
from attribution.domain.spend import ExchangeRate, SpendRecord

CHUNK = 1000


class SqlSpendStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # --- spend and rates -----------------------------------------------------------------

    async def replace_account_spend(
        self,
        site_id: str,
        platform: str,
        account_id: str,
        since: date,
        until: date,
        records: Sequence[SpendRecord],
    ) -> int:
        """The account's spend of since..until (inclusive) becomes exactly `records`: a day or
        campaign the platform no longer reports (restated to zero) goes too."""
        s = spend.c
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(spend).where(
                    s.site_id == site_id,
                    s.platform == platform,
                    s.account_id == account_id,
                    s.day >= since,
                    s.day <= until,
                )
            )
            return await self._upsert(conn, site_id, records)

    async def record_spend(self, site_id: str, records: Sequence[SpendRecord]) -> int:
        """Upsert by (site, platform, account, channel, campaign, day)."""
        async with self._engine.begin() as conn:
            return await self._upsert(conn, site_id, records)

    async def _upsert(self, conn: Any, site_id: str, records: Sequence[SpendRecord]) -> int:
        latest = {(r.platform, r.account_id, r.channel, r.campaign, r.day): r for r in records}
        rows = [
            {
                "site_id": site_id,
                "platform": r.platform,
                "account_id": r.account_id,
                "channel": r.channel,
                "campaign": r.campaign,
                "day": r.day,
                "amount": r.amount,
                "currency": r.currency,
                "recorded_at": func.now(),
            }
            for _, r in sorted(latest.items())
        ]
        for start in range(0, len(rows), CHUNK):
            stmt = insert(spend).values(rows[start : start + CHUNK])
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[
                        "site_id",
                        "platform",
                        "account_id",
                        "channel",
                        "campaign",
                        "day",
                    ],
                    set_={
                        "amount": stmt.excluded.amount,
                        "currency": stmt.excluded.currency,
                        "recorded_at": stmt.excluded.recorded_at,
                    },
                )
            )
        return len(rows)

    async def record_rates(self, site_id: str, rates: Sequence[ExchangeRate]) -> int:
        latest = {(r.day, r.currency): r.rate for r in rates}
        if not latest:
            return 0
        stmt = insert(exchange_rates).values(
            [
                {"site_id": site_id, "day": day, "currency": currency, "rate": rate}
                for (day, currency), rate in sorted(latest.items())
            ]
        )
        async with self._engine.begin() as conn:
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["site_id", "day", "currency"], set_={"rate": stmt.excluded.rate}
                )
            )
        return len(latest)

    async def spend_in(
        self, site_id: str, since: date | None, until: date | None
    ) -> list[SpendRecord]:
        """Days in [since, until)."""
        s = spend.c
        query = select(spend).where(s.site_id == site_id)
        if since is not None:
            query = query.where(s.day >= since)
        if until is not None:
            query = query.where(s.day < until)
        query = query.order_by(s.day, s.platform, s.account_id, s.channel, s.campaign)
        async with self._engine.connect() as conn:
            return [
                SpendRecord(
                    r.platform, r.account_id, r.channel, r.campaign, r.day, r.amount, r.currency
                )
                for r in await conn.execute(query)
            ]

    async def rates(
        self, site_id: str, since: date | None, until: date | None
    ) -> dict[tuple[date, str], Decimal]:
        e = exchange_rates.c
        query = select(e.day, e.currency, e.rate).where(e.site_id == site_id)
        if since is not None:
            query = query.where(e.day >= since)
        if until is not None:
            query = query.where(e.day < until)
        async with self._engine.connect() as conn:
            return {(r.day, r.currency): r.rate for r in await conn.execute(query)}

    async def revenue_by_day(
        self, site_id: str, model: str, start: datetime | None, end: datetime | None, key: str
    ) -> list[Amount]:
        """Credited conversions and revenue per key, currency and UTC day of the conversion."""
        clauses = ["site_id = :site", "model = :model"]
        params: dict[str, Any] = {"site": site_id, "model": model}
        if start is not None:
            clauses.append("event_time >= :start")
            params["start"] = start
        if end is not None:
            clauses.append("event_time < :end")
            params["end"] = end
        column = {"channel": "channel", "campaign": "campaign"}[key]
        query = text(f"""
            SELECT {column} AS key, currency, (event_time AT TIME ZONE 'UTC')::date AS day,
                   sum(credit) AS conversions, sum(revenue) AS revenue
            FROM {SCHEMA}.credits WHERE {" AND ".join(clauses)}
            GROUP BY 1, 2, 3
        """)
        async with self._engine.connect() as conn:
            return [
                Amount(r.key or "(none)", r.day, r.currency, r.revenue, r.conversions)
                for r in await conn.execute(query, params)
            ]

    # --- the rollup ----------------------------------------------------------------------

    async def days_attributed_since(self, site_id: str, since: datetime | None) -> list[date]:
        """UTC days of the conversions (re)attributed since `since` (all days when None)."""
        c = conversions.c
        day = func.date(func.timezone("UTC", c.event_time))
        query = select(day).where(c.site_id == site_id).distinct()
        if since is not None:
            query = query.where(c.attributed_at >= since)
        async with self._engine.connect() as conn:
            return sorted(r[0] for r in await conn.execute(query))

    async def roll_up(self, site_id: str, days: Sequence[date]) -> int:
        """Replace the site's daily metrics of `days` from its credits, in one transaction."""
        if not days:
            return 0
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(daily_metrics).where(
                    daily_metrics.c.site_id == site_id, daily_metrics.c.day.in_(list(days))
                )
            )
            result = await conn.execute(
                text(f"""
                    INSERT INTO {SCHEMA}.daily_metrics
                        (site_id, day, model, channel, campaign, currency, conversions, revenue)
                    SELECT site_id, (event_time AT TIME ZONE 'UTC')::date, model, channel,
                           campaign, currency, sum(credit), sum(revenue)
                    FROM {SCHEMA}.credits
                    WHERE site_id = :site AND model = ANY(:models)
                      AND (event_time AT TIME ZONE 'UTC')::date = ANY(:days)
                    GROUP BY 1, 2, 3, 4, 5, 6
                """),
                {"site": site_id, "models": [m.value for m in RULE_MODELS], "days": list(days)},
            )
            return int(result.rowcount or 0)

    # --- jobs ----------------------------------------------------------------------------

    async def record_run(
        self,
        job: str,
        scope: str,
        started_at: datetime,
        seconds: float,
        outcome: str,
        counts: dict[str, int],
    ) -> None:
        stmt = insert(job_runs).values(
            job=job,
            scope=scope,
            started_at=started_at,
            duration_seconds=seconds,
            outcome=outcome[:1000],
            counts=counts,
        )
        async with self._engine.begin() as conn:
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["job", "scope"],
                    set_={
                        "started_at": stmt.excluded.started_at,
                        "duration_seconds": stmt.excluded.duration_seconds,
                        "outcome": stmt.excluded.outcome,
                        "counts": stmt.excluded.counts,
                    },
                )
            )

    async def runs(self) -> list[Any]:
        async with self._engine.connect() as conn:
            return list(
                await conn.execute(select(job_runs).order_by(job_runs.c.job, job_runs.c.scope))
            )

    async def mark(self, job: str, site_id: str) -> datetime | None:
        m = job_marks.c
        async with self._engine.connect() as conn:
            found = await conn.execute(select(m.mark).where(m.job == job, m.site_id == site_id))
            return found.scalar()

    async def set_mark(self, job: str, site_id: str, at: datetime) -> None:
        stmt = insert(job_marks).values(job=job, site_id=site_id, mark=at)
        async with self._engine.begin() as conn:
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["job", "site_id"], set_={"mark": stmt.excluded.mark}
                )
            )

    async def sites(self) -> list[str]:
        """Every site with attribution data."""
        async with self._engine.connect() as conn:
            return sorted(r[0] for r in await conn.execute(select(versions.c.site_id)))

    async def unattributed(self, site_id: str, since: datetime) -> list[StoredConversion]:
        c = conversions.c
        query = select(conversions).where(
            c.site_id == site_id, c.unattributed.is_(True), c.event_time >= since
        )
        async with self._engine.connect() as conn:
            return [conversion_of(r) for r in await conn.execute(query)]

    async def known(self, conversion_ids: Sequence[str]) -> set[str]:
        c = conversions.c
        async with self._engine.connect() as conn:
            found = await conn.execute(
                select(c.conversion_id).where(c.conversion_id.in_(list(conversion_ids)))
            )
            return {r[0] for r in found}
