"""`make bench` figures for attribution: QueryCredit over 1,000,000 stored conversions (last
touch: one credit row each; linear: 1-3 rows each), the data-driven models over 100,000
journeys (Markov, both Shapley values) and conversion-rate Shapley with 20 channels, and each
scheduled job on 1,000,000 conversions (`attribution.bench_jobs`).

    python -m attribution.bench
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from attribution.adapters.orm import SCHEMA
from attribution.adapters.sql_store import SqlAttributionStore
from attribution.bench_models import random_paths, timed
from attribution.domain.markov import markov_credit
from attribution.domain.shapley import conversion_rate_shapley, simplified_shapley
from attribution.migrate import MIGRATIONS

CONVERSIONS = 1_000_000
SITE = "bench"
# Each conversion: one row for last touch; 1 + (n % 3) rows for linear, channel by position.
_FILL = f"""
INSERT INTO {SCHEMA}.credits
  (conversion_id, model, position, site_id, event_time, event_type, touchpoint_id, channel,
   campaign, credit, revenue, currency)
SELECT 'c' || n, m.model, p.position, '{SITE}', :start + (n % 2592000) * interval '1 second',
       'purchase', 't' || n || '-' || p.position, 'channel_' || ((n + p.position) % 8),
       'campaign_' || ((n + p.position) % 40),
       CASE WHEN m.model = 'last' THEN 1 ELSE 1.0 / (1 + n % 3) END,
       CASE WHEN m.model = 'last' THEN 50 ELSE 50.0 / (1 + n % 3) END,
       CASE WHEN n % 10 = 0 THEN 'USD' ELSE 'EUR' END
FROM generate_series(1, {CONVERSIONS}) AS n
CROSS JOIN (VALUES ('last'), ('linear')) AS m(model)
CROSS JOIN LATERAL generate_series(0, CASE WHEN m.model = 'last' THEN 0 ELSE n % 3 END)
  AS p(position)
"""


async def query_credit_figures() -> dict[str, Any]:
    from hubkit.db import make_engine
    from hubkit.db.migrations import upgrade
    from hubkit.embedded import EmbeddedPostgres

    start = datetime(2026, 10, 1, tzinfo=UTC)
    with EmbeddedPostgres() as pg:
        url = pg.create_database("attribution_bench")
        await asyncio.to_thread(upgrade, url, MIGRATIONS, SCHEMA)
        engine = make_engine(url)
        try:
            began = time.perf_counter()
            async with engine.begin() as conn:
                await conn.execute(text(_FILL), {"start": start})
                await conn.execute(text(f"ANALYZE {SCHEMA}.credits"))
            loaded = time.perf_counter() - began
            store = SqlAttributionStore(engine)
            figures: dict[str, Any] = {"conversions": CONVERSIONS, "load_s": round(loaded, 1)}
            end = start + timedelta(days=31)
            for model, key in (("last", "channel"), ("linear", "channel"), ("linear", "campaign")):
                runs = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    rows = await store.credit_totals(SITE, [model], start, end, [], key)
                    runs.append(time.perf_counter() - t0)
                total = sum(r[3] for r in rows)
                assert round(total) == CONVERSIONS, total  # every conversion credited once
                figures[f"query_credit_{model}_by_{key}_s"] = round(min(runs), 3)
            return figures
        finally:
            await engine.dispose()


async def run(seconds: float = 10.0) -> dict[str, Any]:
    ten = random_paths(100_000, 10, 2025)
    twenty = random_paths(100_000, 20, 2026)
    models = {
        "markov_100k_journeys_s": timed(markov_credit, ten, 3)["best_s"],
        "simplified_shapley_100k_journeys_s": timed(simplified_shapley, ten, 3)["best_s"],
        "conversion_rate_shapley_100k_journeys_s": timed(conversion_rate_shapley, ten, 3)["best_s"],
        "conversion_rate_shapley_20_channels_s": timed(conversion_rate_shapley, twenty, 3)[
            "best_s"
        ],
    }
    from attribution import bench_jobs

    return {**models, **await query_credit_figures(), "jobs": await bench_jobs.run()}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run()), indent=2))
