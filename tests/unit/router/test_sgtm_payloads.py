"""sGTM request bodies: field mapping, hashed user data only, batching under the limits."""

from __future__ import annotations

import hashlib

import orjson

from convhub.common.v1 import common_pb2 as common
from convhub.events.v1 import events_pb2 as events
from router.adapters.sgtm_payloads import (
    GA4_MAX_BODY,
    STAPE_MAX_BODY,
    build_bodies,
    ga4_request,
    stape_event,
)
from router.domain.site import HashRules, SgtmFormat, SgtmSettings

STAPE = SgtmSettings(url="https://sgtm.example/data")
MP = SgtmSettings(url="https://sgtm.example", format=SgtmFormat.GA4_MP, measurement_id="G-ABCD1")
EMAIL = hashlib.sha256(b"a@example.com").hexdigest()


def item(
    n: int = 1, *, visitor: str = "", event_type: str = "purchase", **conversion: object
) -> events.ConversionAccepted:
    c = common.HashedConversion(
        conversion_id=f"c{n}",
        order_id=f"o{n}",
        event_type=event_type,
        event_id=f"e{n}",
        value="10.50",
        currency="EUR",
        visitor_id=visitor or f"v{n}",
        user_data=common.HashedUserData(
            google=common.HashedIdentifiers(email=EMAIL, first_name="raw-name-not-hashed"),
            meta=common.HashedIdentifiers(email=hashlib.sha256(b"meta").hexdigest()),
        ),
        consent=common.Consent(ad_user_data=common.CONSENT_STATUS_GRANTED),
        click_ids=common.ClickIds(fbp="fb.1.1.1", gclid="g1"),
        action_source=common.ACTION_SOURCE_WEBSITE,
        **conversion,  # type: ignore[arg-type]
    )
    c.event_time.seconds = 1_800_000_000
    return events.ConversionAccepted(conversion=c)


def test_stape_event_carries_common_event_data_and_only_hashes() -> None:
    event = stape_event(item(), STAPE)
    assert event["event_name"] == "purchase" and event["event_id"] == "e1"
    assert event["transaction_id"] == "o1" and event["client_id"] == "v1"
    assert event["value"] == 10.5 and event["currency"] == "EUR"
    assert event["user_data"] == {"email_address": EMAIL}  # the unhashed name was dropped
    assert event["consent_state"] == {"ad_user_data": True}
    assert event["common_cookie"] == {"_fbp": "fb.1.1.1"} and event["gclid"] == "g1"
    assert event["action_source"] == "website" and event["event_time"] == 1_800_000_000


def test_the_configured_hash_variant_is_sent() -> None:
    meta = stape_event(item(), SgtmSettings(url="https://x", user_data_rules=HashRules.META))
    assert meta["user_data"]["email_address"] == hashlib.sha256(b"meta").hexdigest()


def test_ga4_request_maps_to_measurement_protocol() -> None:
    request, event = ga4_request(item(event_type="lead"), MP)
    assert request["client_id"] == "v1" and request["user_id"] == "v1"  # user_data needs one
    assert request["timestamp_micros"] == 1_800_000_000 * 1_000_000
    assert request["user_data"] == {"sha256_email_address": [EMAIL]}
    assert request["consent"] == {"ad_user_data": "GRANTED"}
    assert event["name"] == "generate_lead"
    assert event["params"]["transaction_id"] == "o1" and event["params"]["value"] == 10.5


def test_stape_batches_are_arrays_under_count_and_size() -> None:
    built = [(f"d{i}", item(i)) for i in range(25)]
    chunks, rejected = build_bodies(STAPE, built, max_events=10)
    assert rejected == [] and [len(ids) for ids, _ in chunks] == [10, 10, 5]
    assert [e["event_id"] for e in orjson.loads(chunks[2][1])] == [f"e{i}" for i in range(20, 25)]
    single, _ = build_bodies(STAPE, built[:2], max_events=1)
    assert [orjson.loads(body)["event_id"] for _, body in single] == ["e0", "e1"]  # objects


def test_bodies_stay_under_the_limit_and_an_oversized_event_is_refused() -> None:
    big_items = [common.Item(id=f"sku-{i}", name="x" * 900) for i in range(300)]
    built = [(f"d{i}", item(i, items=big_items)) for i in range(6)]
    chunks, rejected = build_bodies(STAPE, built, max_events=100)
    assert rejected == [] and len(chunks) > 1
    assert all(len(body) <= STAPE_MAX_BODY for _, body in chunks)
    assert sorted(i for ids, _ in chunks for i in ids) == sorted(d for d, _ in built)
    huge = [common.Item(id=f"s{i}", name="y" * 1000) for i in range(1100)]
    _, refused = build_bodies(STAPE, [("big", item(9, items=huge))], max_events=100)
    assert refused == [("big", "event exceeds the body limit")]


def test_ga4_batches_only_events_of_the_same_user() -> None:
    built = [("a1", item(1, visitor="same")), ("a2", item(2, visitor="same")), ("b", item(3))]
    chunks, rejected = build_bodies(MP, built, max_events=25)
    assert rejected == []
    by_ids = {tuple(ids): orjson.loads(body) for ids, body in chunks}
    assert [e["params"]["event_id"] for e in by_ids[("a1", "a2")]["events"]] == ["e1", "e2"]
    assert len(by_ids[("b",)]["events"]) == 1
    assert all(len(body) <= GA4_MAX_BODY for _, body in chunks)


def test_an_event_type_ga4_cannot_take_is_refused_not_sent() -> None:
    _, rejected = build_bodies(MP, [("x", item(event_type="_reserved"))], max_events=25)
    assert rejected and rejected[0][0] == "x"
