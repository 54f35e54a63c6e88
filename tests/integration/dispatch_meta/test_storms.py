"""Long platform storms (docs/architecture.md §3): throttles make events wait, never fail; a broken
platform opens the breaker and events wait for it. Real NATS, PostgreSQL, the Meta simulator."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from convhub_sim.meta import MetaSimulator
from hubkit.dispatch.testing import dispatch_request
from tests.support import wait_for

from .conftest import SCHEMA, Factory, statuses


def requests(prefix: str, count: int) -> list[events_pb2.DispatchRequested]:
    out = []
    for i in range(count):
        digest = hashlib.sha256(f"{prefix}{i}@example.com".encode()).hexdigest()
        user = common_pb2.HashedUserData(meta=common_pb2.HashedIdentifiers(email=digest))
        out.append(
            dispatch_request(
                f"{prefix}{i}", user_data=user, action_source=7, value="10.00", currency="EUR"
            )
        )
    return out


async def counts(engine: AsyncEngine) -> tuple[int, int, int]:
    """(dead letters, max attempts, max failures) over the ledger."""
    async with engine.connect() as conn:
        dead = (await conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.dead_letters"))).scalar()
        row = (
            await conn.execute(
                text(f"SELECT max(attempts), max(failures) FROM {SCHEMA}.deliveries")
            )
        ).one()
    return int(dead or 0), int(row[0]), int(row[1])


async def test_a_60s_throttle_storm_delivers_every_event_once_and_fails_none(
    dispatch: Factory, sim: MetaSimulator, engine: AsyncEngine
) -> None:
    # 50 s of code 17 (no hint: the backoff grows, capped at 4 s here), then 10 s of 80004
    # with X-Business-Use-Case-Usage saying access returns in a minute.
    storm_started, wall_started = time.monotonic(), time.time()
    sim.throttle(code=17, subcode=2446079, seconds=50)
    sim.throttle(code=80004, regain_minutes=1, seconds=10)
    harness = await dispatch(linger=0.2, max_retry_delay=4.0, retry_horizon=20.0)
    await harness.publish(requests("s", 3000))

    await wait_for(
        lambda: _settled(engine, {"confirmed": 3000}), within=150, what="all 3,000 delivered"
    )
    assert time.monotonic() - storm_started >= 60  # it outlasted the storm and the hint
    processed = [e.event_id for e in sim.processed()]
    assert sorted(processed) == sorted(f"evt-s{i}" for i in range(3000))  # each once
    assert not sim.duplicates()
    # Far past the 20 s retry horizon and no failure charged, no dead letter, no breaker.
    assert await counts(engine) == (0, 1, 0)
    (account,) = harness.dispatcher.accounts()
    assert (account.breaker_state, account.consecutive_failures) == (1, 0)
    answers = sim.platform_requests()
    throttled = [r for r in answers if r.status == 400]
    assert len(throttled) < 60  # the lane paused instead of hammering a throttled platform
    # After the first 80004 (the storm's last 10 s) the lane waited the minute Meta asked for.
    first_buc = next(
        i for i, r in enumerate(answers) if r.status == 400 and r.at > wall_started + 50.1
    )
    hinted = answers[first_buc].at
    # (Requests already in flight when it answered come back within a moment.)
    assert not [r for r in answers if hinted + 2 < r.at < hinted + 59]


async def test_a_25s_5xx_storm_opens_the_breaker_events_wait_and_all_arrive_once(
    dispatch: Factory, sim: MetaSimulator, engine: AsyncEngine
) -> None:
    sim.server_error(status=503, seconds=25)
    harness = await dispatch(
        linger=0.1, breaker_failures=5, breaker_open_seconds=8.0, max_retry_delay=2.0
    )
    seen: list[int] = []

    async def watch() -> None:
        while True:
            accounts = harness.dispatcher.accounts()
            if accounts and (not seen or seen[-1] != accounts[0].breaker_state):
                seen.append(accounts[0].breaker_state)
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    try:
        await harness.publish(requests("f", 1000))
        await wait_for(
            lambda: _settled(engine, {"confirmed": 1000}), within=90, what="all delivered"
        )
    finally:
        watcher.cancel()
    # closed -> open -> half-open (probe) ... -> closed
    assert seen[:2] == [1, 2] and 3 in seen and seen[-1] == 1
    assert sorted(e.event_id for e in sim.processed()) == sorted(f"evt-f{i}" for i in range(1000))
    assert not sim.duplicates()
    dead, _, _ = await counts(engine)
    assert dead == 0
    failed = [r.at for r in sim.platform_requests() if r.status == 503]
    # The first five failures (and requests already in flight) open the breaker; after that
    # only one probe each time it half-opens, 8 s apart, until the storm is over.
    opening = [at for at in failed if at - failed[0] < 2.0]
    probes = failed[len(opening) :]
    assert 5 <= len(opening) <= 5 + 3 and 1 <= len(probes) <= 3
    assert all(b - a >= 7.5 for a, b in itertools.pairwise([opening[-1], *probes]))


async def _settled(engine: AsyncEngine, expected: dict[str, int]) -> bool:
    return await statuses(engine) == expected
