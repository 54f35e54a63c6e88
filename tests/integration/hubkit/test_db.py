"""The db kit against a real PostgreSQL: unit of work, per-schema migrations, outbox and relay."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, insert, select, text

from hubkit.bus import (
    JetStreamPublisher,
    Outgoing,
    PublishError,
    StreamSpec,
    connect,
    ensure_stream,
)
from hubkit.db import OutboxRelay, UnitOfWork, make_engine, outbox_table, stage
from hubkit.db.migrations import upgrade
from hubkit.embedded import EmbeddedNats
from tests.support import wait_for

MIGRATIONS = Path(__file__).parent / "sample_migrations"
SCHEMA = "sample"
STREAM = StreamSpec("TEST_OUTBOX", ("test.outbox.>",))
metadata = MetaData()
items = Table(
    "items", metadata, Column("id", Text, primary_key=True), Column("n", Integer), schema=SCHEMA
)
outbox = outbox_table(metadata, SCHEMA)


@pytest.fixture
async def engine(database_url: str):
    await asyncio.to_thread(upgrade, database_url, MIGRATIONS, SCHEMA)
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


async def count(engine, table: Table) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def test_migrations_are_per_schema_and_idempotent(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url, MIGRATIONS, SCHEMA)
    await asyncio.to_thread(upgrade, database_url, MIGRATIONS, SCHEMA)
    engine = make_engine(database_url)
    async with engine.connect() as conn:
        version = (await conn.execute(text("SELECT version_num FROM sample.alembic_version"))).all()
        public = (
            await conn.execute(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            )
        ).scalar_one()
    await engine.dispose()
    assert version == [("0001",)] and public == 0


async def test_unit_of_work_rolls_back_unless_committed(engine) -> None:
    async with UnitOfWork(engine) as uow:
        await uow.session.execute(insert(items).values(id="dropped", n=1))
    with pytest.raises(RuntimeError):
        async with UnitOfWork(engine) as uow:
            await uow.session.execute(insert(items).values(id="failed", n=2))
            raise RuntimeError("handler failed")
    async with UnitOfWork(engine) as uow:
        await uow.session.execute(insert(items).values(id="kept", n=3))
        await uow.commit()
    async with engine.connect() as conn:
        assert (await conn.execute(select(items.c.id))).scalars().all() == ["kept"]


async def stage_items(engine, ids: list[str]) -> None:
    """State and its announcement, committed together."""
    async with UnitOfWork(engine) as uow:
        await uow.session.execute(insert(items), [{"id": i, "n": 0} for i in ids])
        await stage(
            uow.session,
            outbox,
            [Outgoing(f"test.outbox.{i}", i.encode(), f"item-{i}") for i in ids],
        )
        await uow.commit()


async def stream_payloads(js: JetStreamContext) -> list[bytes]:
    sub = await js.pull_subscribe("test.outbox.>", stream=STREAM.name)
    n = (await js.stream_info(STREAM.name)).state.messages
    msgs = await sub.fetch(n, timeout=2) if n else []
    return [m.data for m in msgs]


async def test_row_committed_before_a_crash_is_published_after_restart(engine, js) -> None:
    await ensure_stream(js, STREAM)
    await stage_items(engine, ["a", "b", "c"])
    # The process that committed died here: no relay ever ran. A new one starts:
    relay = OutboxRelay(engine, outbox, JetStreamPublisher(js))
    assert await relay.relay_once() == 3
    assert await count(engine, outbox) == 0
    assert sorted(await stream_payloads(js)) == [b"a", b"b", b"c"]


class CrashAfterPublish:
    """Publishes, then dies before the relay can delete the rows (the worst moment)."""

    def __init__(self, inner: JetStreamPublisher) -> None:
        self.inner = inner

    async def publish_each(self, messages) -> list[Exception | None]:
        await self.inner.publish_all(messages)
        raise PublishError("process killed after PubAck")


async def test_crash_between_publish_and_delete_publishes_each_message_once(engine, js) -> None:
    await ensure_stream(js, STREAM)
    await stage_items(engine, [str(i) for i in range(50)])
    with pytest.raises(PublishError):
        await OutboxRelay(engine, outbox, CrashAfterPublish(JetStreamPublisher(js))).relay_once()
    assert await count(engine, outbox) == 50  # rows survived the crash
    assert await OutboxRelay(engine, outbox, JetStreamPublisher(js)).relay_once() == 50
    assert await count(engine, outbox) == 0
    payloads = await stream_payloads(js)
    assert len(payloads) == 50 and len(set(payloads)) == 50


async def test_relay_rides_out_a_nats_restart(
    engine, own_nats: EmbeddedNats, caplog: pytest.LogCaptureFixture
) -> None:
    nc = await connect(own_nats.url, name="relay-test")
    js = nc.jetstream()
    await ensure_stream(js, STREAM)
    relay = OutboxRelay(engine, outbox, JetStreamPublisher(js, timeout=0.5), poll_interval=0.05)
    await relay.start()
    await stage_items(engine, ["before"])
    relay.notify()
    await wait_for(lambda: relay.published >= 1, within=10, what="the first row published")

    await asyncio.to_thread(own_nats.kill)
    with caplog.at_level(logging.WARNING, logger="hubkit.worker"):
        await stage_items(engine, ["during-1", "during-2"])
        relay.notify()
        # A round that read the rows and could not publish them: it says so, and keeps them.
        await wait_for(
            lambda: "outbox-relay: NATS unavailable" in caplog.text, what="a failed round"
        )
    assert await count(engine, outbox) == 2  # kept while NATS is down
    await asyncio.to_thread(own_nats.start)  # the relay keeps running meanwhile
    await wait_for(lambda: relay.published >= 3, within=30, what="the rows published")
    await relay.stop()
    assert sorted(await stream_payloads(js)) == [b"before", b"during-1", b"during-2"]
    await nc.close()


async def test_a_message_the_stream_refuses_never_holds_back_the_others(engine, js) -> None:
    await ensure_stream(js, STREAM)
    async with UnitOfWork(engine) as uow:
        await stage(
            uow.session,
            outbox,
            [
                Outgoing("test.outbox.ok-1", b"1", "ok-1"),
                Outgoing("nowhere.refused", b"x", "refused"),  # no stream takes this subject
                Outgoing("test.outbox.ok-2", b"2", "ok-2"),
            ],
        )
        await uow.commit()
    relay = OutboxRelay(engine, outbox, JetStreamPublisher(js, timeout=0.5))
    with pytest.raises(PublishError):
        await relay.relay_once()
    assert sorted(await stream_payloads(js)) == [b"1", b"2"]
    assert await count(engine, outbox) == 1  # kept, not lost: it goes out once it can
