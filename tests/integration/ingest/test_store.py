"""The PostgreSQL conversion store: claims, windows and concurrent claimants on a real server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hubkit.db import make_engine
from ingest.adapters.sql_store import SqlConversionStore
from ingest.adapters.system import new_conversion_id
from ingest.domain.model import ConsentStatus, ConversionInput, PreparedConversion, SitePolicy
from ingest.domain.preparation import prepare
from ingest.domain.validation import Limits

T0 = datetime.now(UTC).replace(microsecond=0)
HOUR = SitePolicy(dedupe_window=timedelta(hours=1))


def prepared(order_id: str, at: datetime) -> PreparedConversion:
    c = ConversionInput(
        site_id="shop-1",
        order_id=order_id,
        event_type="purchase",
        event_time=at,
        ad_user_data=ConsentStatus.GRANTED,
        user_data={"email": "win@example.org"},
    )
    result = prepare(c, HOUR, at, Limits(), conversion_id=new_conversion_id())
    assert isinstance(result, PreparedConversion)
    return result


async def test_window_from_first_occurrence(migrated_db: str) -> None:
    engine = make_engine(migrated_db)
    store = SqlConversionStore(engine)
    first = (await store.store([prepared("o-1", T0)]))[0]
    inside = (await store.store([prepared("o-1", T0 + timedelta(minutes=59))]))[0]
    after = (await store.store([prepared("o-1", T0 + timedelta(hours=1))]))[0]
    # The window runs from the first occurrence, not the latest duplicate:
    again = (await store.store([prepared("o-1", T0 + timedelta(hours=1, minutes=59))]))[0]
    await engine.dispose()
    assert first.stored and not inside.stored and inside.conversion_id == first.conversion_id
    assert after.stored and after.conversion_id != first.conversion_id
    assert not again.stored and again.conversion_id == after.conversion_id


async def test_concurrent_overlapping_batches_resolve_each_key_once(migrated_db: str) -> None:
    engine = make_engine(migrated_db)
    store = SqlConversionStore(engine)
    orders = [f"o-{i}" for i in range(200)]
    # Ten writers, each with all 200 keys in its own order: no deadlock, one winner per key.
    batches = [[prepared(o, T0) for o in (orders[k:] + orders[:k])] for k in range(0, 200, 20)]
    results = await asyncio.gather(*(store.store(b) for b in batches))
    await engine.dispose()
    winners: dict[str, set[str]] = {}
    for batch, claims in zip(batches, results, strict=True):
        for p, claim in zip(batch, claims, strict=True):
            winners.setdefault(p.input.order_id, set()).add(claim.conversion_id)
    assert all(len(ids) == 1 for ids in winners.values()) and len(winners) == 200
    assert sum(c.stored for claims in results for c in claims) == 200


async def test_janitor_purges_only_expired_keys(migrated_db: str) -> None:
    from ingest.adapters.sql_store import Janitor

    engine = make_engine(migrated_db)
    store = SqlConversionStore(engine)
    await store.store([prepared("old", T0), prepared("fresh", T0 + timedelta(minutes=30))])
    janitor = Janitor(engine, chunk=1)
    assert await janitor.purge_once(now=T0 + timedelta(minutes=61)) == 1
    assert await janitor.purge_once(now=T0 + timedelta(minutes=61)) == 0
    # The fresh key still dedupes; the purged one is a new conversion again.
    fresh, old = await store.store(
        [prepared("fresh", T0 + timedelta(minutes=62)), prepared("old", T0 + timedelta(minutes=62))]
    )
    await engine.dispose()
    assert not fresh.stored and old.stored
