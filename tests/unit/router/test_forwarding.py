"""The sGTM forwarder's decisions with in-memory ports: retry, give up, breaker, batch size."""

from __future__ import annotations

import pytest

from hubkit.resilience import Backoff, BreakerState
from router.app.forwarding import ForwarderSettings, SgtmForwarder
from router.domain.delivery import DeliveryStatus, ErrorClass, RequestResult, SgtmDelivery
from router.domain.events import SgtmDeadLettered, SgtmDeliveriesUpdated
from router.domain.routing import TraceRef
from router.domain.site import Mode, SgtmSettings, SiteConfig, SiteRecord

from .fakes import (
    FakeClock,
    FakeDb,
    FakeMetrics,
    FakeSender,
    FakeUnitOfWork,
    FakeWakeups,
    LedgerRow,
)

HOST = "sgtm.shop.example"
SITE = SiteConfig(
    "shop", mode=Mode.SGTM, sgtm=SgtmSettings(url=f"https://{HOST}/data", max_batch_events=10)
)


@pytest.fixture
def db() -> FakeDb:
    db = FakeDb(FakeClock())
    db.sites["shop"] = SiteRecord("shop", 1, SITE)
    db.revisions[("shop", 1)] = SITE
    return db


def forwarder(db: FakeDb, sender: FakeSender, retries: int = 3, **kw: object) -> SgtmForwarder:
    return SgtmForwarder(
        lambda: FakeUnitOfWork(db),
        sender,
        db.clock,
        FakeWakeups(),
        FakeMetrics(),
        backoff=Backoff(schedule=[1.0] * retries, jitter=0),
        settings=ForwarderSettings(**kw),  # type: ignore[arg-type]
        owner="test",
    )


def enqueue(db: FakeDb, n: int, host: str = HOST, revision: int = 1) -> None:
    for i in range(n):
        d = SgtmDelivery(f"c{i}:sgtm:{host}", f"c{i}", "shop", revision, host, b"x", TraceRef())
        db.ledger[d.delivery_id] = LedgerRow(d)


async def pass_(f: SgtmForwarder, db: FakeDb) -> int:
    """One claim-and-send pass, waited for to the end."""
    claimed = await f.run_once()
    await f.flush()
    return claimed


def statuses(db: FakeDb) -> set[DeliveryStatus]:
    return {r.status for r in db.ledger.values()}


async def test_confirmed_in_batches_of_the_configured_size(db: FakeDb) -> None:
    sender = FakeSender(200)
    enqueue(db, 25)
    f = forwarder(db, sender)
    assert await pass_(f, db) == 25
    assert [len(r) for r in sender.requests] == [10, 10, 5]
    assert statuses(db) == {DeliveryStatus.CONFIRMED}
    updates = [o for e in db.published if isinstance(e, SgtmDeliveriesUpdated) for o in e.outcomes]
    assert len(updates) == 25 and {o.sequence for o in updates} == {1}


async def test_retries_through_throttling_honouring_retry_after(db: FakeDb) -> None:
    throttled = RequestResult((), ErrorClass.THROTTLE, http_status=429, retry_after=30.0)
    sender = FakeSender(throttled, throttled, 200)
    enqueue(db, 3)
    f = forwarder(db, sender)
    await pass_(f, db)
    row = db.ledger[f"c0:sgtm:{HOST}"]
    assert row.status is DeliveryStatus.PENDING and row.due == 30.0  # Retry-After beats 1 s
    assert await pass_(f, db) == 0  # not due yet
    db.clock.advance(30)
    await pass_(f, db)
    db.clock.advance(30)
    await pass_(f, db)
    assert statuses(db) == {DeliveryStatus.CONFIRMED}
    assert row.outcomes[-1].attempts == 3 and row.outcomes[-1].sequence == 3
    assert [o.status for o in row.outcomes] == [
        DeliveryStatus.PENDING,
        DeliveryStatus.PENDING,
        DeliveryStatus.CONFIRMED,
    ]


async def test_dead_lettered_after_the_last_attempt(db: FakeDb) -> None:
    sender = FakeSender(503)
    enqueue(db, 2)
    f = forwarder(db, sender, retries=2)
    for _ in range(5):
        await pass_(f, db)
        db.clock.advance(1)
    assert len(sender.requests) == 3  # the first try and two retries
    assert statuses(db) == {DeliveryStatus.DEAD}
    letters = [o for e in db.published if isinstance(e, SgtmDeadLettered) for o in e.outcomes]
    assert [(o.attempts, o.error_class) for o in letters] == [(3, ErrorClass.TRANSIENT)] * 2


async def test_a_permanent_answer_fails_at_once(db: FakeDb) -> None:
    sender = FakeSender(400)
    enqueue(db, 1)
    await pass_(forwarder(db, sender), db)
    assert statuses(db) == {DeliveryStatus.FAILED} and len(sender.requests) == 1


async def test_an_open_breaker_holds_deliveries_without_failing_them(db: FakeDb) -> None:
    sender = FakeSender(500)
    enqueue(db, 30)  # three requests of ten
    f = forwarder(
        db,
        sender,
        retries=10,
        breaker_failures=2,
        breaker_reset_seconds=3600,
        max_in_flight_per_host=1,
    )
    await pass_(f, db)
    assert f.breaker(HOST).state is BreakerState.OPEN
    assert len(sender.requests) == 2  # the third waits for the breaker, no attempt counted
    assert sorted(r.delivery.attempts for r in db.ledger.values()) == [0] * 10 + [1] * 20
    db.clock.advance(100)
    assert await pass_(f, db) == 0  # the host is excluded while its breaker is open
    assert len(sender.requests) == 2
    assert statuses(db) == {DeliveryStatus.PENDING}


async def test_a_413_halves_the_batch_without_counting_an_attempt(db: FakeDb) -> None:
    sender = FakeSender(413, 200)
    enqueue(db, 10)
    f = forwarder(db, sender)
    await pass_(f, db)
    assert statuses(db) == {DeliveryStatus.PENDING}
    assert all(r.delivery.attempts == 0 for r in db.ledger.values())
    await pass_(f, db)
    assert sender.max_events_seen == [10, 5] and statuses(db) == {DeliveryStatus.CONFIRMED}


async def test_a_revision_without_sgtm_url_dead_letters_as_config(db: FakeDb) -> None:
    enqueue(db, 1, revision=7)  # no such revision
    sender = FakeSender(200)
    await pass_(forwarder(db, sender), db)
    assert sender.requests == [] and statuses(db) == {DeliveryStatus.DEAD}
    (row,) = db.ledger.values()
    assert row.outcomes[0].error_class is ErrorClass.CONFIG and row.outcomes[0].attempts == 0
