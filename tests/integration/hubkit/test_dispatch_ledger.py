"""The delivery ledger against a real PostgreSQL: migrations, claims, leases, replay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hubkit.db import make_engine
from hubkit.db.engine import sync_url
from hubkit.dispatch.ledger import DeadLetterFilter, LedgerUnitOfWork, NewDelivery
from hubkit.dispatch.migrations import ledger_metadata, upgrade
from hubkit.dispatch.model import BatchStatus, ErrorClass, Lane, PlatformError, SendResult, Status
from hubkit.dispatch.outcomes import plan_batch
from hubkit.dispatch.policy import DispatchPolicy
from hubkit.dispatch.tables import LedgerTables
from hubkit.dispatch.testing import create_ledger, dispatch_request

SCHEMA = "dispatch_test"
LANE = Lane("1234567890", "meta-test")


@pytest.fixture
async def ledger(database_url: str) -> AsyncIterator[tuple[AsyncEngine, LedgerTables]]:
    engine = make_engine(database_url)
    tables = await create_ledger(engine, SCHEMA)
    yield engine, tables
    await engine.dispose()


def item(n: int, rejection: PlatformError | None = None) -> NewDelivery:
    request = dispatch_request(f"c{n}")
    return NewDelivery(
        delivery_id=request.delivery_id,
        conversion_id=request.conversion_id,
        site_id="shop",
        lane=LANE,
        event_id=f"evt-c{n}",
        request=request,
        received_at=datetime.now(UTC),
        rejection=rejection,
    )


async def test_the_shared_ledger_migrations_create_exactly_the_ledger(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url, SCHEMA)
    await asyncio.to_thread(upgrade, database_url, SCHEMA)  # idempotent

    def diff() -> list[object]:
        engine = create_engine(sync_url(database_url))
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_schemas": True, "version_table_schema": SCHEMA}
            )
            found = compare_metadata(context, ledger_metadata(SCHEMA))
        engine.dispose()
        # Only our schema matters (the version table is alembic's own).
        return [d for d in found if "alembic_version" not in str(d)]

    assert await asyncio.to_thread(diff) == []


async def test_intake_is_idempotent_and_rejections_are_dead_lettered(ledger) -> None:
    engine, tables = ledger
    refused = PlatformError(ErrorClass.TOO_OLD, "TOO_OLD", "older than 7 days")
    async with LedgerUnitOfWork(engine, tables) as uow:
        fresh = await uow.ledger.add([item(1), item(2), item(3, refused)])
        changes = await uow.ledger.reject_at_intake([f for f in fresh if f.rejection])
        await uow.commit()
    assert len(fresh) == 3 and [c.status for c in changes] == [Status.FAILED]
    async with LedgerUnitOfWork(engine, tables) as uow:
        again = await uow.ledger.add([item(1), item(2), item(4)])
        await uow.commit()
    assert [a.delivery_id for a in again] == ["c4:meta:1234567890"]
    async with engine.connect() as conn:
        dead = (await conn.execute(select(tables.dead_letters))).all()
    assert [(d.delivery_id, d.error_class, d.reason) for d in dead] == [
        ("c3:meta:1234567890", ErrorClass.TOO_OLD, "too_old TOO_OLD: older than 7 days")
    ]


async def test_intake_of_items_already_there_keeps_its_transaction_usable(ledger) -> None:
    engine, tables = ledger
    async with LedgerUnitOfWork(engine, tables) as uow:
        first = await uow.ledger.add([item(1), item(2)])
        again = await uow.ledger.add([item(2), item(3)])  # c2 taken: the slower path
        last = await uow.ledger.add([item(4)])
        await uow.commit()
    assert [f.delivery_id for f in first] == ["c1:meta:1234567890", "c2:meta:1234567890"]
    assert [a.delivery_id for a in again] == ["c3:meta:1234567890"]
    assert [x.delivery_id for x in last] == ["c4:meta:1234567890"]
    async with engine.connect() as conn:
        stored = (await conn.execute(select(tables.deliveries.c.delivery_id))).scalars().all()
    assert sorted(stored) == [f"c{n}:meta:1234567890" for n in (1, 2, 3, 4)]


async def test_competing_claims_take_disjoint_events(ledger) -> None:
    engine, tables = ledger
    async with LedgerUnitOfWork(engine, tables) as uow:
        await uow.ledger.add([item(i) for i in range(30)])
        await uow.commit()

    async def claim(batch: str) -> set[str]:
        async with LedgerUnitOfWork(engine, tables) as uow:
            events = await uow.ledger.claim(LANE, 12, owner=batch, lease=30, batch_id=batch)
            await asyncio.sleep(0.1)  # hold the row locks while the others claim
            await uow.commit()
        return {e.delivery_id for e in events}

    a, b, c = await asyncio.gather(claim("a"), claim("b"), claim("c"))
    assert not (a & b or b & c or a & c)
    assert len(a | b | c) == 30 and sorted(map(len, (a, b, c))) == [6, 12, 12]


async def test_expired_leases_return_to_pending_and_their_batch_says_why(ledger) -> None:
    engine, tables = ledger
    async with LedgerUnitOfWork(engine, tables) as uow:
        await uow.ledger.add([item(i) for i in range(5)])
        claimed = await uow.ledger.claim(LANE, 10, owner="gone", lease=0.05, batch_id="b1")
        await uow.commit()
    assert len(claimed) == 5 and {e.attempt for e in claimed} == {1}
    await asyncio.sleep(0.1)
    async with LedgerUnitOfWork(engine, tables) as uow:
        released = await uow.ledger.release(note="lease expired")
        await uow.commit()
    assert released == {LANE: 5}
    async with engine.connect() as conn:
        statuses = (await conn.execute(select(tables.deliveries.c.status))).scalars().all()
        batch = (await conn.execute(select(tables.batches))).one()
    assert set(statuses) == {Status.PENDING.value}
    assert (batch.status, batch.error_message) == (
        BatchStatus.RETRY_SCHEDULED.value,
        "lease expired",
    )


async def test_an_answer_after_the_lease_lapsed_confirms_what_was_not_claimed_again(
    ledger,
) -> None:
    engine, tables = ledger
    async with LedgerUnitOfWork(engine, tables) as uow:
        await uow.ledger.add([item(i) for i in range(3)])
        sent = await uow.ledger.claim(LANE, 10, owner="slow", lease=0.05, batch_id="b1")
        await uow.commit()
    await asyncio.sleep(0.1)
    async with LedgerUnitOfWork(engine, tables) as uow:
        await uow.ledger.release(note="lease expired")  # all three back to pending
        again = await uow.ledger.claim(LANE, 1, owner="other", lease=30, batch_id="b2")
        await uow.commit()
    parts = [(sent, SendResult(200))]
    plan = plan_batch(parts, DispatchPolicy(), datetime.now(UTC))
    async with LedgerUnitOfWork(engine, tables) as uow:
        changes = await uow.ledger.settle(
            "b1", LANE, parts, plan, frozen={}, started_at=datetime.now(UTC), latency_ms=1
        )
        await uow.commit()
    # Meta has all three: the two pending ones are confirmed; the one b2 holds is b2's.
    assert sorted(c.delivery_id for c in changes) == sorted(
        e.delivery_id for e in sent if e.delivery_id != again[0].delivery_id
    )
    assert {(c.status, c.sequence) for c in changes} == {(Status.CONFIRMED, 1)}
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(tables.deliveries.c.delivery_id, tables.deliveries.c.status))
        ).all()
    assert dict(rows) == {
        e.delivery_id: "sending" if e.delivery_id == again[0].delivery_id else "confirmed"
        for e in sent
    }


async def test_replay_is_idempotent_and_resets_the_retry_budget(ledger) -> None:
    engine, tables = ledger
    policy = DispatchPolicy(retry_schedule=(0.01,), retry_horizon=1.0)
    error = PlatformError(ErrorClass.TRANSIENT, "2", "down")
    long_ago = datetime.now(UTC) - timedelta(seconds=5)  # past the 1 s horizon
    async with LedgerUnitOfWork(engine, tables) as uow:
        await uow.ledger.add([item(i) for i in range(4)])
        events = await uow.ledger.claim(LANE, 10, owner="me", lease=30, batch_id="b1")
        dead_events = [
            e.__class__(**{**_fields(e), "failures": 1, "first_attempt_at": long_ago})
            for e in events
        ]
        parts = [(dead_events, SendResult(500, error=error))]
        plan = plan_batch(parts, policy, datetime.now(UTC))
        await uow.ledger.settle(
            "b1",
            LANE,
            parts,
            plan,
            frozen={},
            started_at=datetime.now(UTC),
            latency_ms=3,
        )
        await uow.commit()
    assert {o.status for o in plan.outcomes} == {Status.DEAD}
    async with LedgerUnitOfWork(engine, tables) as uow:
        dry = await uow.ledger.replay(ids=None, selector=DeadLetterFilter(), dry_run=True)
        first = await uow.ledger.replay(
            ids=None, selector=DeadLetterFilter(site_id="shop"), limit=3
        )
        await uow.commit()
    assert (dry.matched, dry.replayed) == (4, 0)
    assert (first.matched, first.replayed, first.lanes) == (3, 3, {LANE: 3})
    async with LedgerUnitOfWork(engine, tables) as uow:
        rest = await uow.ledger.replay(ids=None, selector=DeadLetterFilter())
        none_left = await uow.ledger.replay(ids=None, selector=DeadLetterFilter())
        replayed_again = await uow.ledger.replay(
            ids=None, selector=DeadLetterFilter(include_replayed=True)
        )
        await uow.commit()
    assert (rest.replayed, none_left.matched, replayed_again.replayed) == (1, 0, 0)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(tables.deliveries))).all()
    assert {(r.status, r.failures, r.replay_count) for r in rows} == {("pending", 0, 1)}
    async with engine.begin() as conn:
        await conn.execute(update(tables.deliveries).values(status="confirmed"))


def _fields(event: object) -> dict[str, object]:
    return {name: getattr(event, name) for name in event.__slots__}  # type: ignore[attr-defined]
