"""ResultsExport as CSV files, one per site and window, for analysts' warehouses:
`<directory>/<site_id>/attribution_<site_id>_<after>_<until>.csv`, each credit row of each
conversion (re)attributed in the window. Written to a hidden temporary file beside it, flushed
and renamed: a reader (or a bucket sync) sees a whole file or none. A conversion attributed again
later appears again in a later window: the latest row per (conversion_id, model, position)
holds."""

from __future__ import annotations

import asyncio
import csv
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from attribution.adapters.orm import SCHEMA

COLUMNS = (
    "conversion_id",
    "event_time",
    "event_type",
    "value",
    "currency",
    "attributed_at",
    "model",
    "position",
    "touchpoint_id",
    "channel",
    "campaign",
    "credit",
    "revenue",
)
_ROWS = text(f"""
    SELECT c.conversion_id, c.event_time, c.event_type, c.value, c.currency, c.attributed_at,
           r.model, r.position, r.touchpoint_id, r.channel, r.campaign, r.credit, r.revenue
    FROM {SCHEMA}.conversions c JOIN {SCHEMA}.credits r USING (conversion_id)
    WHERE c.site_id = :site AND c.attributed_at <= :until
      AND (CAST(:after AS timestamptz) IS NULL OR c.attributed_at > :after)
    ORDER BY c.attributed_at, c.conversion_id, r.model, r.position
""")
BATCH = 10_000


class CsvExport:
    def __init__(self, engine: AsyncEngine, directory: Path) -> None:
        self._engine = engine
        self._directory = directory

    async def export(self, site_id: str, after: datetime | None, until: datetime) -> int:
        folder = self._directory / site_id
        name = f"attribution_{site_id}_{_stamp(after)}_{_stamp(until)}.csv"
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        temporary = folder / f".{name}.partial"
        rows = 0
        with temporary.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(COLUMNS)
            async with self._engine.connect() as conn:
                result = await conn.stream(_ROWS, {"site": site_id, "after": after, "until": until})
                async for batch in result.partitions(BATCH):
                    writer.writerows(_line(r) for r in batch)
                    rows += len(batch)
            out.flush()
            os.fsync(out.fileno())
        if rows:
            os.replace(temporary, folder / name)
        else:
            temporary.unlink()
        return rows


def _stamp(at: datetime | None) -> str:
    return "start" if at is None else at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _line(r: Any) -> list[str]:
    return [
        r.conversion_id,
        r.event_time.astimezone(UTC).isoformat(),
        r.event_type,
        str(r.value),
        r.currency,
        r.attributed_at.astimezone(UTC).isoformat(),
        r.model,
        str(r.position),
        r.touchpoint_id,
        r.channel,
        r.campaign,
        str(r.credit),
        str(r.revenue),
    ]
