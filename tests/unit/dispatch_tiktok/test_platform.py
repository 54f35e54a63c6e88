"""TikTokPlatform on plain objects: mapping, lanes, intake refusals, requests, frozen bytes."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from dispatch_tiktok.app.mapper import to_event
from dispatch_tiktok.app.platform import TIKTOK_POLICY, TikTokPlatform
from dispatch_tiktok.domain.model import TrackRequest
from hubkit.dispatch.credentials import CredentialsMissing
from hubkit.dispatch.model import Lane, PendingEvent, SendBatch, SendResult
from hubkit.dispatch.testing import dispatch_request
from hubkit.vocabulary import ErrorClass, Platform

EMAIL = hashlib.sha256(b"alice_abc@gmail.com").hexdigest()
PHONE = hashlib.sha256(b"+12133734253").hexdigest()
USER = common_pb2.HashedUserData(
    tiktok=common_pb2.HashedIdentifiers(email=EMAIL, phone=PHONE, external_id="a" * 64)
)
PIXEL = "C4ABCDEFGHIJKLMN1234"


def request(cid: str, now: datetime, **fields: Any) -> events_pb2.DispatchRequested:
    defaults: dict[str, Any] = {
        "platform": Platform.TIKTOK,
        "account_id": PIXEL,
        "credentials_ref": "tt",
        "user_data": USER,
        "value": "129.99",
        "currency": "usd",
        "event_time": now - timedelta(minutes=5),
    }
    return dispatch_request(cid, **{**defaults, **fields})


class Transport:
    def __init__(self) -> None:
        self.sent: list[TrackRequest] = []

    async def send(self, request: TrackRequest) -> SendResult:
        self.sent.append(request)
        return SendResult(http_status=200)

    async def close(self) -> None:
        pass


class Tokens:
    def __init__(self, missing: bool = False) -> None:
        self.missing = missing

    def access_token(self, ref: str) -> str:
        if self.missing:
            raise CredentialsMissing(f"credentials reference {ref!r} not found")
        return "tok-123"


def platform(missing: bool = False) -> TikTokPlatform:
    return TikTokPlatform(Transport(), Tokens(missing), TIKTOK_POLICY)


def pending(r: events_pb2.DispatchRequested, i: int) -> PendingEvent:
    return PendingEvent(f"d{i}", r.conversion_id, "shop", "", 1, 0, r)


def test_a_purchase_maps_field_by_field() -> None:
    now = datetime.now(UTC)
    r = request(
        "c1",
        now,
        click_ids=common_pb2.ClickIds(ttclid="E.C.P.abc", ttp="2F7h37Yk"),
        client_ip="203.0.113.7",
        user_agent="Mozilla/5.0",
        page_url="https://shop.example/thanks",
        referrer_url="https://shop.example/cart",
        items=[common_pb2.Item(id="SKU-1", name="Shoe", quantity=2, price="64.995")],
    )
    event = to_event(r, now)
    assert event == {
        "event": "CompletePayment",
        "event_time": int((now - timedelta(minutes=5)).timestamp()),
        "event_id": "evt-c1",
        "user": {
            "email": [EMAIL],
            "phone": [PHONE],
            "external_id": ["a" * 64],
            "ttclid": "E.C.P.abc",
            "ttp": "2F7h37Yk",
            "ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0",
        },
        "properties": {
            "value": 129.99,
            "currency": "USD",
            "order_id": "order-c1",
            "contents": [
                {"content_id": "SKU-1", "quantity": 2, "price": 64.995, "content_name": "Shoe"}
            ],
            "content_type": "product",
        },
        "page": {"url": "https://shop.example/thanks", "referrer": "https://shop.example/cart"},
    }


def test_event_types_map_to_standard_events_and_the_site_override_wins() -> None:
    now = datetime.now(UTC)
    names = {
        t: to_event(request(t, now, event_type=t), now)["event"]  # type: ignore[index]
        for t in ("purchase", "lead", "sign_up", "add_to_cart", "newsletter_optin")
    }
    assert names == {
        "purchase": "CompletePayment",
        "lead": "SubmitForm",
        "sign_up": "CompleteRegistration",
        "add_to_cart": "AddToCart",
        "newsletter_optin": "newsletter_optin",  # a custom event
    }
    r = request("o", now)
    r.target.event_name = "Purchase"
    assert to_event(r, now)["event"] == "Purchase"  # type: ignore[index]


def test_lanes_group_per_pixel_event_type_and_test_code() -> None:
    now = datetime.now(UTC)
    tt = platform()
    purchase = tt.lane_of(request("a", now))
    lead = tt.lane_of(request("b", now, event_type="lead"))
    test = tt.lane_of(request("c", now, test_event_code="TEST1"))
    assert purchase == Lane(PIXEL, "tt", "CompletePayment|")
    assert lead == Lane(PIXEL, "tt", "SubmitForm|")
    assert test == Lane(PIXEL, "tt", "CompletePayment|TEST1")
    assert len({purchase, lead, test}) == 3


def test_what_tiktok_would_refuse_fails_at_intake() -> None:
    now = datetime.now(UTC)
    tt = platform()
    plain = common_pb2.HashedUserData(tiktok=common_pb2.HashedIdentifiers(email="a@b.c"))
    cases = {
        "NOT_HASHED": request("a", now, user_data=plain),
        "IN_FUTURE": request("b", now, event_time=now + timedelta(hours=1)),
        "INVALID_VALUE": request("c", now, value="12,50"),
        "INVALID_CURRENCY": request("d", now, currency="EURO"),
        "CURRENCY_REQUIRED": request("e", now, currency=""),
    }
    for code, r in cases.items():
        refusal = tt.check(r, now)
        assert refusal is not None and (refusal.error_class, refusal.code) == (
            ErrorClass.BAD_INPUT,
            code,
        ), code
        assert "a@b.c" not in refusal.message
    no_time = request("f", now)
    no_time.conversion.ClearField("event_time")
    assert tt.check(no_time, now).code == "INVALID_EVENT_TIME"  # type: ignore[union-attr]
    no_pixel = request("g", now, account_id="")
    assert tt.check(no_pixel, now).error_class is ErrorClass.CONFIG  # type: ignore[union-attr]
    assert tt.check(request("h", now), now) is None


async def test_one_request_per_batch_duplicates_ride_along_and_frozen_bytes_are_sent() -> None:
    now = datetime.now(UTC)
    tt = platform()
    same = [request(f"x{i}", now, event_id="E1") for i in range(3)]
    other = request("y", now)
    admitted = tt.admit(other, now)
    assert isinstance(admitted, bytes)
    events = [pending(r, i) for i, r in enumerate(same)]
    events.append(
        dataclasses.replace(pending(other, 3), frozen=admitted.replace(b"129.99", b"9.5"))
    )
    prepared = await tt.prepare(
        SendBatch("b", Lane(PIXEL, "tt", "CompletePayment|T9"), events), now
    )
    (one,) = prepared.requests
    body = [orjson.loads(orjson.dumps(e)) for e in one.payload.data]
    assert [e["event_id"] for e in body] == ["E1", "evt-y"]
    assert body[1]["properties"]["value"] == 9.5  # exactly the frozen bytes
    assert one.payload.positions == [("d0", "d1", "d2"), ("d3",)]
    assert one.payload.test_event_code == "T9" and one.payload.access_token == "tok-123"
    assert set(one.frozen) == {"d0", "d1", "d2"}  # d3 was frozen already
    missing = await platform(missing=True).prepare(
        SendBatch("b", Lane(PIXEL, "tt", "x|"), events), now
    )
    assert not missing.requests and missing.error is not None
    assert missing.error.error_class is ErrorClass.CONFIG
