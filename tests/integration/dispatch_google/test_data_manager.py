"""dispatch-google through the Data Manager API, end to end on the engine: batching, request
statuses, fast-fail isolation, token refresh, 429 storms, byte-identical resends."""

from __future__ import annotations

import time

import orjson
import pytest

from convhub.common.v1 import common_pb2
from convhub.dispatch.v1 import dispatch_pb2
from convhub_sim.google import GoogleSimulator
from dispatch_google.domain import rules
from tests.support import wait_for

from .conftest import (
    ADMIN,
    CUSTOMER,
    Factory,
    ingest_bodies,
    requests,
    rows,
    scalar,
    settled,
    statuses,
    stub_of,
)


async def test_4500_events_go_in_3_requests_sent_then_confirmed_by_their_status(
    dispatch: Factory, sim: GoogleSimulator, engine
) -> None:
    harness = await dispatch(linger=3.0, status_delay=5.0)  # first asked 5 s after acceptance
    await harness.publish(requests("b", 4500))
    await wait_for(lambda: settled(engine, {"sent": 4500}), within=60, what="accepted: SENT")
    bodies = ingest_bodies(sim)
    assert sorted(len(b["events"]) for b in bodies) == [500, 2000, 2000]
    (destination,) = bodies[0]["destinations"]
    assert destination == {
        "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": CUSTOMER},
        "productDestinationId": "987654",
    }
    assert bodies[0]["encoding"] == "HEX" and not bodies[0].get("validateOnly")
    # Google reports on each request later: every event confirmed by its request's SUCCESS.
    await wait_for(lambda: settled(engine, {"confirmed": 4500}), within=30, what="confirmed")
    assert sorted(e.transaction_id for e in sim.conversions()) == sorted(
        f"order-b{i}" for i in range(4500)
    )
    assert not sim.duplicates() and not sim.adjustments()
    states = await rows(engine, "SELECT status_state, status_due_at FROM {s}.batches")
    assert [(s, due) for s, due in states] == [("SUCCESS", None)] * 3


async def test_three_events_google_refuses_fail_with_its_reason_and_cost_the_rest_nothing(
    dispatch: Factory, sim: GoogleSimulator, engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Our intake rules would refuse these at once (tested in the unit tests); switched off here
    # so that Google's own fast-fail answer is what isolates them.
    monkeypatch.setattr(rules, "dm_refusal", lambda event, now: None)
    batch = requests("r", 8)
    for i in (1, 4, 6):
        batch[i].conversion.user_data.google.email = "zz" * 32  # not hex
    await (await dispatch(linger=1.0)).publish(batch)
    await wait_for(lambda: settled(engine, {"confirmed": 5, "failed": 3}), what="isolated")
    first, second = ingest_bodies(sim)
    assert len(first["events"]) == 8 and len(second["events"]) == 5
    failed = await rows(
        engine,
        "SELECT conversion_id, platform_code, last_error, attempts FROM {s}.deliveries"
        " WHERE status = 'failed' ORDER BY conversion_id",
    )
    assert [r.conversion_id for r in failed] == ["r1", "r4", "r6"]
    assert {r.platform_code for r in failed} == {"INVALID_HEX_ENCODING"}
    assert all("HEX" in r.last_error for r in failed)  # Google's own description
    # The five went again untried: one counted attempt each, no failure charged.
    assert (
        await scalar(
            engine,
            "SELECT count(*) FROM {s}.deliveries"
            " WHERE status = 'confirmed' AND attempts = 1 AND failures = 0",
        )
        == 5
    )


async def test_bad_events_are_refused_at_intake_with_googles_reason_never_sent(
    dispatch: Factory, sim: GoogleSimulator, engine
) -> None:
    batch = requests("i", 6)
    batch[2].conversion.user_data.google.email = "zz" * 32
    batch[3].conversion.currency = "euro"
    await (await dispatch(linger=0.5)).publish(batch)
    await wait_for(lambda: settled(engine, {"confirmed": 4, "failed": 2}), what="refused")
    (body,) = ingest_bodies(sim)
    assert len(body["events"]) == 4
    codes = await rows(
        engine,
        "SELECT conversion_id, platform_code, attempts FROM {s}.deliveries"
        " WHERE status = 'failed' ORDER BY conversion_id",
    )
    assert [(r.conversion_id, r.platform_code, r.attempts) for r in codes] == [
        ("i2", "INVALID_HEX_ENCODING", 0),
        ("i3", "INVALID_CURRENCY_CODE", 0),
    ]


async def test_an_expired_token_is_refreshed_once_and_the_batch_goes_through(
    dispatch: Factory, sim: GoogleSimulator, engine
) -> None:
    harness = await dispatch(linger=0.2)
    await harness.publish(requests("a", 10))
    await wait_for(lambda: settled(engine, {"confirmed": 10}), what="first batch")
    assert sim.tokens_issued == 1
    sim.expire_tokens()
    await harness.publish(requests("e", 10))
    await wait_for(lambda: settled(engine, {"confirmed": 20}), what="second batch")
    assert sim.tokens_issued == 2  # one refresh, on ACCESS_TOKEN_EXPIRED
    assert await scalar(engine, "SELECT max(failures) FROM {s}.deliveries") == 0
    expired = [r for r in sim.requests if r.path == "/v1/events:ingest" and r.status == 401]
    assert len(expired) == 1


async def test_a_429_storm_is_ridden_out_with_no_event_failed(
    dispatch: Factory, sim: GoogleSimulator, engine
) -> None:
    started = time.monotonic()
    sim.throttle(seconds=15, retry_delay=1.0)
    harness = await dispatch(linger=0.2)
    await harness.publish(requests("t", 50))
    await wait_for(lambda: settled(engine, {"confirmed": 50}), within=60, what="storm ridden")
    assert time.monotonic() - started >= 15  # nothing got through during the storm
    throttled = [r for r in sim.requests if r.path == "/v1/events:ingest" and r.status == 429]
    assert throttled
    assert await scalar(engine, "SELECT max(failures) FROM {s}.deliveries") == 0
    assert sorted(e.transaction_id for e in sim.conversions()) == sorted(
        f"order-t{i}" for i in range(50)
    )


async def test_a_partial_success_shows_its_reason_counts_in_get_batch_and_get_stats(
    dispatch: Factory, sim: GoogleSimulator, engine
) -> None:
    batch = requests("p", 5)
    sim.script_gclid(batch[1].conversion.click_ids.gclid, "CLICK_NOT_FOUND")
    batch[3].conversion.consent.ad_user_data = common_pb2.CONSENT_STATUS_DENIED
    harness = await dispatch(linger=0.5)
    await harness.publish(batch)
    await wait_for(lambda: _final(engine), what="the request's status final", within=20)
    batch_id = await scalar(engine, "SELECT batch_id FROM {s}.batches")
    async with stub_of(harness) as stub:
        got = await stub.GetBatch(dispatch_pb2.GetBatchRequest(batch_id=batch_id), metadata=ADMIN)
        stats = await stub.GetStats(dispatch_pb2.GetStatsRequest(), metadata=ADMIN)
    status = got.batch.platform_status
    assert (status.state, status.final, status.record_count) == ("PARTIAL_SUCCESS", True, 5)
    assert dict(status.error_counts) == {"CLICK_NOT_FOUND": 1, "DENIED_CONSENT": 1}
    assert got.batch.status == dispatch_pb2.BATCH_STATUS_PARTIALLY_FAILED
    assert got.batch.platform_request_id  # Google's requestId
    assert dict(stats.request_states) == {"PARTIAL_SUCCESS": 1}
    assert dict(stats.platform_error_counts) == {"CLICK_NOT_FOUND": 1, "DENIED_CONSENT": 1}
    # A partial report names no event: every event stays SENT, none is claimed confirmed.
    assert await statuses(engine) == {"sent": 5}


async def test_a_replayed_event_is_sent_byte_identical(
    dispatch: Factory, sim: GoogleSimulator, engine
) -> None:
    from convhub_sim import Fault

    sim.fail_next(1, Fault(status=403))  # PERMISSION_DENIED: failed for good, dead-lettered
    harness = await dispatch(linger=0.3)
    await harness.publish(requests("x", 3, event_time=None))
    await wait_for(lambda: settled(engine, {"failed": 3}), what="failed on 403")
    async with stub_of(harness) as stub:
        replay = await stub.ReplayDeadLetters(
            dispatch_pb2.ReplayDeadLettersRequest(filter=dispatch_pb2.DeadLetterFilter()),
            metadata=ADMIN,
        )
        assert replay.replayed == 3
    await wait_for(lambda: settled(engine, {"confirmed": 3}), what="replayed and delivered")
    first, again = (r.body for r in sim.requests if r.path == "/v1/events:ingest")
    frozen = await rows(engine, "SELECT payload FROM {s}.deliveries")
    for (payload,) in frozen:
        assert bytes(payload) in first and bytes(payload) in again
    assert [e["eventTimestamp"] for e in orjson.loads(first)["events"]] == [
        e["eventTimestamp"] for e in orjson.loads(again)["events"]
    ]
    assert not sim.adjustments()


async def test_validate_only_sites_are_validated_by_google_and_recorded_nowhere(
    dispatch: Factory, sim: GoogleSimulator, engine
) -> None:
    batch = requests("v", 4)
    for request in batch:
        request.target.validate_only = True
    await (await dispatch(linger=0.3)).publish(batch)
    await wait_for(lambda: settled(engine, {"confirmed": 4}), what="validated")
    (body,) = ingest_bodies(sim)
    assert body["validateOnly"] is True
    assert not sim.conversions()
    assert (
        await scalar(engine, "SELECT count(*) FROM {s}.batches WHERE status_due_at IS NOT NULL")
        == 0
    )


async def _final(engine) -> bool:
    return bool(
        await scalar(
            engine,
            "SELECT count(*) FROM {s}.batches WHERE status_state <> '' AND status_due_at IS NULL",
        )
    )
