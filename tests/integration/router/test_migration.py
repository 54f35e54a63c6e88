"""Upgrading from the sGTM forwarder's ledger: deliveries still pending move to the engine's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2 as common
from convhub.events.v1 import events_pb2 as events
from hubkit.db import make_engine
from hubkit.db.migrations import upgrade
from hubkit.dispatch import migrations as ledger
from router.adapters.orm import SCHEMA, SGTM_SCHEMA
from router.migrate import MIGRATIONS, migrate

from .conftest import accepted


async def test_pending_forwarder_deliveries_survive_the_upgrade(database_url: str) -> None:
    await asyncio.to_thread(ledger.upgrade, database_url, SGTM_SCHEMA)
    await asyncio.to_thread(upgrade, database_url, MIGRATIONS, SCHEMA, "0001")
    engine: AsyncEngine = make_engine(database_url)
    now = datetime.now(UTC)
    rows = [
        ("p1", "pending", accepted("p1", "shop").SerializeToString()),
        ("p2", "pending", accepted("p2", "shop").SerializeToString()),
        ("done", "confirmed", None),
    ]
    async with engine.begin() as conn:
        for conversion_id, status, payload in rows:
            await conn.execute(
                text(
                    "INSERT INTO router.sgtm_deliveries (delivery_id, conversion_id, site_id, "
                    "config_revision, host, payload, traceparent, tracestate, status, attempts, "
                    "sequence, next_attempt_at, lease_until, created_at, updated_at) VALUES "
                    "(:d, :c, 'shop', 3, 'sgtm.shop.example', :p, 'tp', '', :s, 2, 2, :n, :n, "
                    ":n, :n)"
                ),
                {
                    "d": f"{conversion_id}:sgtm:sgtm.shop.example",
                    "c": conversion_id,
                    "p": payload,
                    "s": status,
                    "n": now,
                },
            )
    await asyncio.to_thread(migrate, database_url)  # to head
    async with engine.connect() as conn:
        moved = (
            await conn.execute(
                text(
                    f"SELECT delivery_id, status, attempts, lane_extra, account_id, request "
                    f"FROM {SGTM_SCHEMA}.deliveries ORDER BY delivery_id"
                )
            )
        ).all()
        old = await conn.execute(text("SELECT to_regclass('router.sgtm_deliveries')"))
        assert old.scalar() is None
    await engine.dispose()
    assert [(r.delivery_id, r.status, r.attempts, r.lane_extra, r.account_id) for r in moved] == [
        ("p1:sgtm:sgtm.shop.example", "pending", 2, "shop@3", "sgtm.shop.example"),
        ("p2:sgtm:sgtm.shop.example", "pending", 2, "shop@3", "sgtm.shop.example"),
    ]
    request = events.DispatchRequested.FromString(moved[0].request)
    assert request.platform == common.PLATFORM_SGTM and request.config_revision == 3
    assert request.conversion.conversion_id == "p1" and request.trace.traceparent == "tp"
    assert request.conversion.user_data.meta.email  # the conversion as it was routed
