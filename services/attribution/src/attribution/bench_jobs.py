"""How long each scheduled job takes on 1,000,000 conversions (`make bench`, and
`python -m attribution.bench_jobs [conversions]`).

One site, 30 days: every conversion has its visitor's click touchpoint an hour before and
credit rows under the five rule-based models (5,000,000 rows); 1 % are unattributed and get
their touchpoint late. Measured with the jobs as the service runs them:
- rollup: every day of the site (a first run);
- export: every result of the site into one CSV file (a first run);
- retry unattributed: the 10,000 unattributed conversions, credited again;
- recalculate: the last day's conversions (about 1/30 of them) credited again;
- reconcile: all 1,000,000 ids compared with attribution's (ingest's side is its
  ListConversions, a keyset scan measured apart); none missing.
- spend sync: independent of conversions; timed against the local simulators with three
  accounts (Google, Meta, TikTok) of 100 campaigns over 30 days each (9,000 rows), read page
  by page through the real clients, pacing included.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from attribution.adapters.export_files import CsvExport
from attribution.adapters.orm import SCHEMA
from attribution.adapters.sql_spend import SqlSpendStore
from attribution.adapters.sql_store import SqlAttributionStore
from attribution.app.attribute import Attribute
from attribution.app.jobs import Job, Jobs
from attribution.app.spend import SyncSpend
from attribution.domain.model import Settings, StoredConversion
from attribution.migrate import MIGRATIONS

SITE = "bench"
DAYS = 30
_CONVERSIONS = f"""
INSERT INTO {SCHEMA}.conversions
  (conversion_id, site_id, visitor_id, event_type, event_time, value, currency, unattributed,
   attributed_at)
SELECT 'c' || n, '{SITE}', 'v' || n, 'purchase',
       :end - (((n::bigint * 7919) % ({DAYS} * 86400)) * interval '1 second'), 50, 'EUR',
       n % 100 = 0, :loaded
FROM generate_series(1, :n) AS n
"""
# The unattributed 1 % get their touchpoint only now ("late"): the retry finds it.
_TOUCHPOINTS = f"""
INSERT INTO {SCHEMA}.touchpoints
  (site_id, touchpoint_id, visitor_id, channel, campaign, interaction, occurred_at)
SELECT '{SITE}', 't' || n, 'v' || n, 'channel_' || (n % 8), 'campaign_' || (n % 40), 'click',
       :end - (((n::bigint * 7919) % ({DAYS} * 86400)) * interval '1 second') - interval '1 hour'
FROM generate_series(1, :n) AS n
"""
_CREDITS = f"""
INSERT INTO {SCHEMA}.credits
  (conversion_id, model, position, site_id, event_time, event_type, touchpoint_id, channel,
   campaign, credit, revenue, currency)
SELECT c.conversion_id, m.model, 0, c.site_id, c.event_time, c.event_type,
       't' || substr(c.conversion_id, 2), 'channel_' || (substr(c.conversion_id, 2)::int % 8),
       'campaign_' || (substr(c.conversion_id, 2)::int % 40), 1, c.value, c.currency
FROM {SCHEMA}.conversions c
CROSS JOIN (VALUES ('first'), ('last'), ('linear'), ('position_based'), ('time_decay')) m(model)
WHERE NOT c.unattributed
"""


class _AllKnown:
    """Ingest's side of the reconciliation: every id attribution has, in ListConversions pages."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    async def ids(self, site_id: str, since: datetime, until: datetime) -> AsyncIterator[list[str]]:
        async with self._engine.connect() as conn:
            result = await conn.stream(
                text(f"SELECT conversion_id FROM {SCHEMA}.conversions WHERE site_id = :s"),
                {"s": site_id},
            )
            async for page in result.partitions(5000):
                yield [r[0] for r in page]

    async def get(self, conversion_id: str) -> StoredConversion | None:
        return None


async def run(conversions: int = 1_000_000) -> dict[str, Any]:
    from hubkit.db import make_engine
    from hubkit.db.migrations import upgrade
    from hubkit.embedded import EmbeddedPostgres

    end = datetime.now(UTC).replace(microsecond=0)
    with EmbeddedPostgres() as pg, tempfile.TemporaryDirectory() as exports:
        url = pg.create_database("attribution_jobs")
        await asyncio.to_thread(upgrade, url, MIGRATIONS, SCHEMA)
        engine = make_engine(url)
        try:
            t0 = time.perf_counter()
            params = {"n": conversions, "end": end, "loaded": end - timedelta(hours=2)}
            async with engine.begin() as conn:
                for fill in (_CONVERSIONS, _TOUCHPOINTS, _CREDITS):
                    await conn.execute(text(fill), params)
                await conn.execute(text(f"INSERT INTO {SCHEMA}.versions VALUES ('{SITE}', 1)"))
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f"VACUUM ANALYZE {SCHEMA}.credits"))
                await conn.execute(text(f"VACUUM ANALYZE {SCHEMA}.conversions"))
                await conn.execute(text(f"VACUUM ANALYZE {SCHEMA}.touchpoints"))
            figures: dict[str, Any] = {
                "conversions": conversions,
                "load_s": round(time.perf_counter() - t0, 1),
            }
            store, spend = SqlAttributionStore(engine), SqlSpendStore(engine)
            settings = Settings()
            attribute = Attribute(store, lambda site: settings)
            jobs = Jobs(
                spend,
                attribute,
                lambda site: settings,
                store,
                SyncSpend(spend, {}, lambda site: None, clock=lambda: end),  # type: ignore[arg-type,return-value]
                _AllKnown(engine),
                CsvExport(engine, Path(exports)),
                clock=lambda: datetime.now(UTC),
            )
            for job, days in (
                (Job.ROLLUP, 0),
                (Job.EXPORT, 0),
                (Job.RETRY_UNATTRIBUTED, 0),
                (Job.RECALCULATE, 1),
                (Job.RECONCILE, DAYS),
            ):
                result = await jobs.run(job, SITE, days)
                assert result.outcome == "ok", result.outcome
                figures[f"{job.value}_s"] = round(result.seconds, 2)
                figures[f"{job.value}_counts"] = {
                    k: v for k, v in result.counts.items() if k != "sites"
                }
            figures |= await _spend_sync(spend, end)
            return figures
        finally:
            await engine.dispose()


async def _spend_sync(spend: SqlSpendStore, end: datetime) -> dict[str, Any]:
    from attribution.adapters.spend_google import GoogleSpendReports
    from attribution.adapters.spend_meta import MetaSpendReports
    from attribution.adapters.spend_tiktok import TikTokSpendReports
    from attribution.app.sites import SiteView
    from attribution.app.spend_ports import SpendAccount
    from convhub_sim.google import GoogleSimulator
    from convhub_sim.meta import MetaSimulator
    from convhub_sim.tiktok import TikTokSimulator
    from hubkit.dispatch.credentials import CredentialStore

    accounts = (
        SpendAccount("google", "1234567890", "g"),
        SpendAccount("meta", "101202303", "m"),
        SpendAccount("tiktok", "7100000000000000001", "t"),
    )
    rows = [
        {
            "campaign": f"campaign_{c}",
            "date": (end.date() - timedelta(days=d)).isoformat(),
            "amount": "12.34",
        }
        for c in range(100)
        for d in range(DAYS)
    ]
    with tempfile.TemporaryDirectory() as folder:
        creds = Path(folder)
        (creds / "g").write_text(
            json.dumps(
                {
                    "client_id": "100000000042-bench.apps.googleusercontent.com",
                    "client_secret": "google-client-secret",
                    "refresh_token": "dev-refresh-token",
                    "developer_token": "dev-developer-token",
                }
            )
        )
        (creds / "m").write_text(json.dumps({"access_token": "EAAB-bench-token"}))
        (creds / "t").write_text("dev-tiktok-token")
        store = CredentialStore(creds)
        async with GoogleSimulator() as g, MetaSimulator() as m, TikTokSimulator() as t:
            g.seed_spend(accounts[0].account_id, rows, currency="EUR")
            m.seed_spend(accounts[1].account_id, rows, currency="EUR")
            t.seed_spend(accounts[2].account_id, rows, currency="EUR")
            clients: list[GoogleSpendReports | MetaSpendReports | TikTokSpendReports] = [
                GoogleSpendReports(g.url, f"{g.url}/token", store),
                MetaSpendReports(m.url, store),
                TikTokSpendReports(t.url, store),
            ]
            sync = SyncSpend(
                spend,
                {c.platform: c for c in clients},
                lambda site: SiteView(accounts=accounts),
                clock=lambda: end,
            )
            t0 = time.perf_counter()
            counts = await sync(SITE, DAYS)
            seconds = time.perf_counter() - t0
            for client in clients:
                await client.close()
    return {"spend_sync_s": round(seconds, 2), "spend_sync_counts": dict(counts)}


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(json.dumps(asyncio.run(run(n)), indent=2))
