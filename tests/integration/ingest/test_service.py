"""Ingest end to end against real PostgreSQL and NATS JetStream, through gRPC and NATS."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import create_engine, text

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from convhub.ingest.v1 import ingest_pb2
from hubkit.auth import Scope, issue_token
from hubkit.db import sync_url
from hubkit.grpcx import auth_metadata
from tests.support import wait_for

from .conftest import RunningIngest, ingest_settings, start_ingest, token

ACCEPTED = ingest_pb2.INGEST_STATUS_ACCEPTED
DUPLICATE = ingest_pb2.INGEST_STATUS_DUPLICATE
REJECTED = ingest_pb2.INGEST_STATUS_REJECTED
RAW_EMAIL, RAW_PHONE, RAW_FIRST, RAW_LAST = (
    "Zelda.Quux@Example.org",
    "+44 20 7946 0958",
    "Zelda",
    "Quuxington",
)


def conversion(order_id: str, site: str = "shop-1", **fields: object) -> ingest_pb2.Conversion:
    values: dict[str, object] = {
        "site_id": site,
        "order_id": order_id,
        "event_type": "purchase",
        "value": "49.90",
        "currency": "EUR",
        "page_url": "https://shop.example/thanks",
        "visitor_id": "v-1",
        "user_data": ingest_pb2.UserData(
            email=RAW_EMAIL,
            phone=RAW_PHONE,
            first_name=RAW_FIRST,
            last_name=RAW_LAST,
            client_ip="203.0.113.9",
        ),
        "consent": common_pb2.Consent(ad_user_data=common_pb2.CONSENT_STATUS_GRANTED),
    }
    c = ingest_pb2.Conversion(**{**values, **fields})
    c.event_time.FromDatetime(datetime.now(UTC) - timedelta(minutes=1))
    return c


async def accepted_messages(js, site: str = "shop-1") -> list[events_pb2.ConversionAccepted]:  # type: ignore[no-untyped-def]
    """Every ConversionAccepted item in the stream for `site`, in order."""
    info = await js.stream_info("CONVHUB_CONVERSIONS")
    sub = await js.subscribe(f"convhub.conversions.accepted.{site}", ordered_consumer=True)
    items: list[events_pb2.ConversionAccepted] = []
    for _ in range(info.state.messages):
        try:
            msg = await sub.next_msg(timeout=2)
        except Exception:
            break
        items.extend(events_pb2.ConversionAcceptedBatch.FromString(msg.data).items)
    await sub.unsubscribe()
    return items


async def test_batch_with_one_bad_conversion_accepts_the_others(
    ingest_service: RunningIngest, js
) -> None:
    bad = conversion("o-2", currency="EURO")
    response = await ingest_service.stub.IngestBatch(
        ingest_pb2.IngestBatchRequest(conversions=[conversion("o-1"), bad, conversion("o-3")]),
        metadata=token(["shop-1"]),
    )
    assert [r.status for r in response.results] == [ACCEPTED, REJECTED, ACCEPTED]
    assert [(e.field, e.code) for e in response.results[1].errors] == [
        ("currency", "INVALID_CURRENCY")
    ]
    ids = {response.results[0].conversion_id, response.results[2].conversion_id}

    async def published() -> set[str]:
        found = {i.conversion.conversion_id for i in await accepted_messages(js)}
        return found if found == ids else set()

    await wait_for(published)
    items = await accepted_messages(js)
    assert all(i.trace.traceparent for i in items)  # each item carries its own trace context


async def test_unknown_enum_values_reject_only_their_conversion(
    ingest_service: RunningIngest,
) -> None:
    odd = conversion("u-2")
    odd.source = 99  # a newer client's enum value
    odd.mode_hint = 7
    response = await ingest_service.stub.IngestBatch(
        ingest_pb2.IngestBatchRequest(conversions=[conversion("u-1"), odd, conversion("u-3")]),
        metadata=token(["shop-1"]),
    )
    assert [r.status for r in response.results] == [ACCEPTED, REJECTED, ACCEPTED]
    assert {(e.field, e.code) for e in response.results[1].errors} == {
        ("source", "INVALID_VALUE"),
        ("mode_hint", "INVALID_VALUE"),
    }


async def test_auth_scoping_and_exact_errors(ingest_service: RunningIngest) -> None:
    request = ingest_pb2.IngestRequest(conversion=conversion("o-1", site="shop-b"))
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await ingest_service.stub.Ingest(request, metadata=token(["shop-a"]))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    forged = issue_token(
        "another-secret-that-is-long-enough-too!", subject="x", sites=["*"], scopes=[Scope.INGEST]
    )
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await ingest_service.stub.Ingest(request, metadata=auth_metadata(forged))
    assert bad.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert bad.value.details() == "Invalid token signature"
    with pytest.raises(grpc.aio.AioRpcError) as too_big:
        await ingest_service.stub.IngestBatch(
            ingest_pb2.IngestBatchRequest(conversions=[conversion(str(i)) for i in range(1001)]),
            metadata=token(["*"]),
        )
    assert too_big.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_thousand_concurrent_identical_submissions_accept_exactly_one(
    ingest_service: RunningIngest, js
) -> None:
    same = ingest_pb2.IngestRequest(conversion=conversion("race-1"))
    metadata = token(["shop-1"])
    results = await asyncio.gather(
        *(ingest_service.stub.Ingest(same, metadata=metadata) for _ in range(1000))
    )
    accepted = [r for r in results if r.status == ACCEPTED]
    assert len(accepted) == 1
    original = accepted[0].conversion_id
    assert all(
        r.status == DUPLICATE and r.duplicate_of == original
        for r in results
        if r is not accepted[0]
    )
    await wait_for(lambda: _count_published(js, original))
    assert [i.conversion.conversion_id for i in await accepted_messages(js)] == [original]


async def _count_published(js, conversion_id: str) -> bool:  # type: ignore[no-untyped-def]
    return any(i.conversion.conversion_id == conversion_id for i in await accepted_messages(js))


async def test_rate_limit_answers_resource_exhausted_with_a_delay(
    migrated_db: str, nats_url: str, js
) -> None:
    running = await start_ingest(ingest_settings(migrated_db, nats_url, site_rate_per_second=5.0))
    try:
        batch = ingest_pb2.IngestBatchRequest(conversions=[conversion(f"r-{i}") for i in range(8)])
        first = await running.stub.IngestBatch(batch, metadata=token(["shop-1"]))
        assert all(r.status == ACCEPTED for r in first.results)
        with pytest.raises(grpc.aio.AioRpcError) as limited:
            await running.stub.IngestBatch(batch, metadata=token(["shop-1"]))
        assert limited.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        trailing = dict(limited.value.trailing_metadata() or ())
        assert int(trailing["retry-after-ms"]) > 0
    finally:
        running.stop.set()
        await running.task


async def test_nats_inbound_request_gets_the_outcome(ingest_service: RunningIngest, nc) -> None:
    batch = events_pb2.InboundConversionBatch(
        site_id="shop-1",
        items=[
            events_pb2.InboundConversion(conversion=conversion("n-1")),
            events_pb2.InboundConversion(conversion=conversion("n-2", event_type="Bad Type")),
            events_pb2.InboundConversion(conversion=conversion("n-3", site="shop-2")),
        ],
    )
    reply = await nc.request("convhub.in.conversions.shop-1", batch.SerializeToString(), timeout=5)
    results = ingest_pb2.IngestBatchResponse.FromString(reply.data).results
    assert [r.status for r in results] == [ACCEPTED, REJECTED, REJECTED]
    assert results[2].errors[0].code == "SITE_MISMATCH"
    again = await nc.request("convhub.in.conversions.shop-1", batch.SerializeToString(), timeout=5)
    repeat = ingest_pb2.IngestBatchResponse.FromString(again.data).results[0]
    assert repeat.status == DUPLICATE and repeat.duplicate_of == results[0].conversion_id
    garbage = await nc.request("convhub.in.conversions.shop-1", b"\xff\xff", timeout=5)
    assert garbage.headers["Convhub-Status"] == "INVALID_ARGUMENT"


async def test_get_conversion_shows_routing_and_delivery_status(
    ingest_service: RunningIngest, js
) -> None:
    accepted = await ingest_service.stub.Ingest(
        ingest_pb2.IngestRequest(conversion=conversion("s-1")), metadata=token(["shop-1"])
    )
    cid = accepted.conversion_id
    meta = common_pb2.Destination(platform=common_pb2.PLATFORM_META, account_id="px-1")
    google = common_pb2.Destination(platform=common_pb2.PLATFORM_GOOGLE, account_id="123")
    routed = events_pb2.ConversionRoutedBatch(
        site_id="shop-1",
        items=[
            events_pb2.ConversionRouted(
                conversion_id=cid,
                mode=common_pb2.ATTRIBUTION_MODE_DIRECT,
                destinations=[meta, google],
                config_revision=3,
            )
        ],
    )
    await js.publish(
        "convhub.routed.shop-1",
        routed.SerializeToString(),
        headers={"Nats-Msg-Id": f"routed-{cid}"},
    )
    sent = events_pb2.DeliveryUpdated(
        delivery_id=f"{cid}:meta:px-1",
        conversion_id=cid,
        destination=meta,
        status=common_pb2.DELIVERY_STATUS_CONFIRMED,
        attempts=2,
        sequence=2,
    )
    stale = events_pb2.DeliveryUpdated(
        delivery_id=f"{cid}:meta:px-1",
        conversion_id=cid,
        destination=meta,
        status=common_pb2.DELIVERY_STATUS_FAILED,
        attempts=1,
        last_error="HTTP 500",
        sequence=1,
    )
    for i, update in enumerate((sent, stale)):  # the stale one arrives last: it must not win
        await js.publish(
            "convhub.delivery.meta.shop-1",
            events_pb2.DeliveryUpdatedBatch(site_id="shop-1", items=[update]).SerializeToString(),
            headers={"Nats-Msg-Id": f"d-{cid}-{i}"},
        )

    async def settled() -> ingest_pb2.GetConversionResponse | None:
        got = await ingest_service.stub.GetConversion(
            ingest_pb2.GetConversionRequest(conversion_id=cid), metadata=token(["shop-1"])
        )
        states = {d.delivery_id: d for d in got.deliveries}
        meta_state = states.get(f"{cid}:meta:px-1")
        return got if meta_state and meta_state.attempts == 2 and len(states) == 2 else None

    got = await wait_for(settled)
    assert got.routing.routed and got.routing.config_revision == 3
    states = {d.delivery_id: d.status for d in got.deliveries}
    assert states == {
        f"{cid}:meta:px-1": common_pb2.DELIVERY_STATUS_CONFIRMED,
        f"{cid}:google:123": common_pb2.DELIVERY_STATUS_PENDING,
    }
    assert (
        got.conversion.user_data.meta.email
        == hashlib.sha256(RAW_EMAIL.lower().encode()).hexdigest()
    )
    # What each routed destination receives to match the conversion.
    keys = {m.destination.platform: (list(m.keys), m.score) for m in got.match_keys}
    assert keys == {
        common_pb2.PLATFORM_META: (["email", "phone", "name", "ip"], 5.8),
        common_pb2.PLATFORM_GOOGLE: (["email", "phone", "ip"], 5.5),
    }
    with pytest.raises(grpc.aio.AioRpcError) as other_site:
        await ingest_service.stub.GetConversion(
            ingest_pb2.GetConversionRequest(conversion_id=cid), metadata=token(["shop-9"])
        )
    assert other_site.value.code() == grpc.StatusCode.NOT_FOUND


def _dump_schema(database_url: str) -> str:
    """Every row of every ingest table, as text."""
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ingest'"
                )
            )
            .scalars()
            .all()
        )
        dump = []
        for table in tables:
            for row in conn.execute(text(f'SELECT * FROM ingest."{table}"')):
                dump.extend(
                    bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else str(v)
                    for v in row
                )
    engine.dispose()
    return "\n".join(dump)


async def test_no_raw_personal_data_in_tables_streams_or_logs(
    ingest_service: RunningIngest, js, capfd
) -> None:
    await ingest_service.stub.IngestBatch(
        ingest_pb2.IngestBatchRequest(
            conversions=[conversion(f"p-{i}") for i in range(5)] + [conversion("p-bad", value="x")]
        ),
        metadata=token(["shop-1"]),
    )
    await ingest_service.stub.EraseUser(
        ingest_pb2.EraseUserRequest(site_id="shop-1", external_id="nobody"),
        metadata=token(["shop-1"], [Scope.ADMIN]),
    )
    await wait_for(lambda: _stream_has(js, 5))
    stream_bytes = b""
    for stream in ("CONVHUB_CONVERSIONS", "CONVHUB_ERASURES"):
        info = await js.stream_info(stream)
        for seq in range(1, info.state.last_seq + 1):
            stream_bytes += (await js.get_msg(stream, seq)).data
    stored = _dump_schema(ingest_service.settings.database_url)
    logs = "".join(capfd.readouterr())
    assert "shop-1" in stored and stream_bytes  # the dump really holds the data
    digits = RAW_PHONE.replace(" ", "").lstrip("+")
    for raw in (RAW_EMAIL, RAW_EMAIL.lower(), RAW_FIRST, RAW_LAST, RAW_PHONE, digits):
        assert raw.encode() not in stream_bytes
        assert raw not in stored and raw.lower() not in stored.lower()
        assert raw not in logs


async def _outbox_empty(database_url: str) -> bool:
    def count() -> int:
        engine = create_engine(sync_url(database_url))
        with engine.connect() as conn:
            n = conn.execute(text("SELECT count(*) FROM ingest.outbox")).scalar_one()
        engine.dispose()
        return int(n)

    return await asyncio.to_thread(count) == 0


async def _stream_has(js, n: int) -> bool:  # type: ignore[no-untyped-def]
    return len(await accepted_messages(js)) >= n


async def test_erase_user_leaves_no_row_of_that_person(ingest_service: RunningIngest, js) -> None:
    other = conversion("keep-1")
    other.user_data.email = "someone.else@example.org"
    batch = [conversion("e-1"), conversion("e-2", site="shop-2"), conversion("e-3"), other]
    results = (
        await ingest_service.stub.IngestBatch(
            ingest_pb2.IngestBatchRequest(conversions=batch), metadata=token(["*"])
        )
    ).results
    erased = await ingest_service.stub.EraseUser(
        ingest_pb2.EraseUserRequest(site_id="shop-1", hashed_email=RAW_EMAIL),
        metadata=token(["shop-1"], [Scope.ADMIN]),
    )
    assert erased.conversions_erased == 2
    await wait_for(lambda: _outbox_empty(ingest_service.settings.database_url))
    person = hashlib.sha256(RAW_EMAIL.lower().encode()).hexdigest()
    stored = _dump_schema(ingest_service.settings.database_url)
    for cid in (results[0].conversion_id, results[2].conversion_id):
        assert cid not in stored
    assert results[3].conversion_id in stored and results[1].conversion_id in stored
    # shop-2's conversion of the same person is another site's data: untouched by this erasure.
    assert person in stored

    async def published() -> events_pb2.UserErased | None:
        info = await js.stream_info("CONVHUB_ERASURES")
        if not info.state.messages:
            return None
        msg = await js.get_msg("CONVHUB_ERASURES", info.state.last_seq)
        return events_pb2.UserErasedBatch.FromString(msg.data).items[0]

    event = await wait_for(published)
    assert set(event.conversion_ids) == {results[0].conversion_id, results[2].conversion_id}
    assert list(event.hashed_emails) == [person]
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await ingest_service.stub.GetConversion(
            ingest_pb2.GetConversionRequest(conversion_id=results[0].conversion_id),
            metadata=token(["shop-1"]),
        )
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as needs_admin:
        await ingest_service.stub.EraseUser(
            ingest_pb2.EraseUserRequest(site_id="shop-1", hashed_email=RAW_EMAIL),
            metadata=token(["shop-1"]),
        )
    assert needs_admin.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_site_policies_follow_the_kv_bucket(ingest_service: RunningIngest, js) -> None:
    from convhub.router.v1 import router_pb2
    from hubkit.bus import SITES_BUCKET, ensure_kv

    kv = await ensure_kv(js, SITES_BUCKET)
    site = router_pb2.Site(
        site_id="strict",
        revision=1,
        consent=router_pb2.ConsentPolicy(when_not_granted=router_pb2.CONSENT_ACTION_REJECT),
        dedupe=router_pb2.DedupePolicy(key_fields=["order_id", "value"]),
    )
    await kv.put("strict", site.SerializeToString())
    denied = conversion("k-1", site="strict")
    denied.consent.ad_user_data = common_pb2.CONSENT_STATUS_DENIED

    async def rejected() -> ingest_pb2.IngestResponse | None:
        r = await ingest_service.stub.Ingest(
            ingest_pb2.IngestRequest(conversion=denied), metadata=token(["strict"])
        )
        return r if r.status == REJECTED else None

    response = await wait_for(rejected)
    assert [(e.field, e.code) for e in response.errors] == [
        ("consent.ad_user_data", "CONSENT_REQUIRED")
    ]
    # The site's key fields: same order with another value is a different conversion.
    a, b = conversion("k-2", site="strict"), conversion("k-2", site="strict", value="1.00")
    results = (
        await ingest_service.stub.IngestBatch(
            ingest_pb2.IngestBatchRequest(conversions=[a, b]), metadata=token(["strict"])
        )
    ).results
    assert [r.status for r in results] == [ACCEPTED, ACCEPTED]
    # Deleting the configuration brings back the defaults (store without user data).
    await kv.delete("strict")

    async def stored_without_user_data() -> bool:
        r = await ingest_service.stub.Ingest(
            ingest_pb2.IngestRequest(conversion=denied), metadata=token(["strict"])
        )
        return r.status == ACCEPTED

    assert await wait_for(stored_without_user_data)


async def test_nats_inbound_refuses_bad_subjects_and_oversized_bursts(
    migrated_db: str, nats_url: str, nc
) -> None:
    running = await start_ingest(ingest_settings(migrated_db, nats_url, site_rate_per_second=2.0))
    try:
        one = events_pb2.InboundConversionBatch(
            site_id="shop-1",
            items=[events_pb2.InboundConversion(conversion=conversion(f"b-{i}")) for i in range(5)],
        )
        reply = await nc.request("convhub.in.conversions._bad", one.SerializeToString(), timeout=5)
        assert reply.headers["Convhub-Status"] == "INVALID_ARGUMENT"
        # 5 > the burst of 2/s x 2 s: it could never be admitted, so it is refused at once
        # (a fire-and-forget one would otherwise hold a slot forever).
        reply = await nc.request(
            "convhub.in.conversions.shop-1", one.SerializeToString(), timeout=5
        )
        assert reply.headers["Convhub-Status"] == "RESOURCE_EXHAUSTED"
    finally:
        running.stop.set()
        await running.task


async def test_an_unusable_identifier_is_a_warning_on_an_accepted_conversion(
    ingest_service: RunningIngest,
) -> None:
    c = conversion("w-1")
    c.user_data.phone = "555-1212"
    c.user_data.country = "US"
    c.click_ids.gclid = "not a gclid!"
    answer = await ingest_service.stub.Ingest(
        ingest_pb2.IngestRequest(conversion=c), metadata=token(["shop-1"])
    )
    assert answer.status == ingest_pb2.INGEST_STATUS_ACCEPTED and not answer.errors
    assert sorted((w.field, w.code) for w in answer.warnings) == [
        ("click_ids.gclid", "INVALID_FORMAT"),
        ("user_data.phone", "INVALID_FORMAT"),
    ]
    assert not any("555" in w.message or "gclid!" in w.message for w in answer.warnings)
    got = await ingest_service.stub.GetConversion(
        ingest_pb2.GetConversionRequest(conversion_id=answer.conversion_id),
        metadata=token(["shop-1"]),
    )
    assert not got.conversion.user_data.meta.phone and got.conversion.user_data.meta.email
    assert not got.conversion.click_ids.gclid


async def test_list_conversions_pages_through_a_site_in_order(
    ingest_service: RunningIngest,
) -> None:
    batch = [conversion(f"list-{n}") for n in range(5)]
    answers = await ingest_service.stub.IngestBatch(
        ingest_pb2.IngestBatchRequest(conversions=batch), metadata=token(["shop-1"])
    )
    accepted = {r.conversion_id for r in answers.results}
    request = ingest_pb2.ListConversionsRequest(site_id="shop-1", page_size=2, ids_only=True)
    pages = []
    while True:
        page = await ingest_service.stub.ListConversions(request, metadata=token(["shop-1"]))
        pages.append([c.conversion_id for c in page.conversions])
        assert all(not c.order_id for c in page.conversions)  # ids only
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert [len(p) for p in pages] == [2, 2, 1]
    assert {i for p in pages for i in p} == accepted
    full = await ingest_service.stub.ListConversions(
        ingest_pb2.ListConversionsRequest(site_id="shop-1"), metadata=token(["shop-1"])
    )
    assert {c.order_id for c in full.conversions} == {f"list-{n}" for n in range(5)}
    assert all(c.user_data.meta.email for c in full.conversions)  # hashed, never raw
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await ingest_service.stub.ListConversions(
            ingest_pb2.ListConversionsRequest(site_id="shop-1", page_token="nope"),
            metadata=token(["shop-1"]),
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as other:
        await ingest_service.stub.ListConversions(
            ingest_pb2.ListConversionsRequest(site_id="shop-2"), metadata=token(["shop-1"])
        )
    assert other.value.code() == grpc.StatusCode.PERMISSION_DENIED
