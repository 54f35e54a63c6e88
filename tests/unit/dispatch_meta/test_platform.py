"""MetaPlatform: lanes, intake checks, request preparation (dedupe, local refusals)."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from dispatch_meta.app.platform import META_POLICY, MetaPlatform
from dispatch_meta.domain.model import EventsRequest, MetaCredentials
from hubkit.dispatch.credentials import CredentialsMissing
from hubkit.dispatch.model import ErrorClass, Lane, PendingEvent, SendBatch, SendResult
from hubkit.dispatch.testing import dispatch_request

NOW = datetime.now(UTC)


@pytest.fixture(autouse=True)
def _now() -> None:
    """NOW is each test's own: requests built without an event time are stamped at their
    building, and a suite runs for minutes after this module is imported."""
    global NOW
    NOW = datetime.now(UTC)


USER = common_pb2.HashedUserData(
    meta=common_pb2.HashedIdentifiers(email=hashlib.sha256(b"a@b.c").hexdigest())
)
PRICE = {"value": "19.99", "currency": "EUR"}


class FakeTransport:
    def __init__(self) -> None:
        self.sent: list[EventsRequest] = []

    async def send(self, request: EventsRequest) -> SendResult:
        self.sent.append(request)
        return SendResult(http_status=200)

    async def close(self) -> None:
        pass


class FakeCredentials:
    def __init__(self, missing: bool = False) -> None:
        self.missing = missing

    def meta_credentials(self, ref: str) -> MetaCredentials:
        if self.missing:
            raise CredentialsMissing(f"credentials reference {ref!r} not found")
        return MetaCredentials("token")


def platform(missing: bool = False) -> tuple[MetaPlatform, FakeTransport]:
    transport = FakeTransport()
    return MetaPlatform(transport, FakeCredentials(missing), META_POLICY), transport


def ids(fragment: object) -> dict[str, Any]:
    """A mapped event back from the orjson Fragment the request carries."""
    return orjson.loads(orjson.dumps(fragment))  # type: ignore[no-any-return]


def pending(request: events_pb2.DispatchRequested, i: int) -> PendingEvent:
    return PendingEvent(f"d{i}", f"c{i}", "shop", "", 1, 0, request)


def test_lanes_separate_test_events_and_credentials() -> None:
    meta, _ = platform()
    live = dispatch_request("a", user_data=USER)
    test = dispatch_request("b", user_data=USER, test_event_code="TEST1")
    assert meta.lane_of(live) == Lane("1234567890", "meta-test", "")
    assert meta.lane_of(test) == Lane("1234567890", "meta-test", "TEST1")


def test_intake_check_refuses_unusable_configuration() -> None:
    meta, _ = platform()
    bad_pixel = dispatch_request(
        "a", user_data=USER, account_id="pixel-1", action_source=7, **PRICE
    )
    no_creds = dispatch_request("b", user_data=USER, credentials_ref="", action_source=7, **PRICE)
    fine = dispatch_request("c", user_data=USER, action_source=7, **PRICE)
    assert meta.check(bad_pixel, NOW).error_class is ErrorClass.CONFIG  # type: ignore[union-attr]
    assert meta.check(no_creds, NOW).error_class is ErrorClass.CONFIG  # type: ignore[union-attr]
    assert meta.check(fine, NOW) is None


async def test_prepare_drops_duplicate_event_ids_within_a_request() -> None:
    meta, transport = platform()
    same = [
        dispatch_request(f"x{i}", user_data=USER, action_source=7, event_id="E1", **PRICE)
        for i in range(3)
    ]
    other = dispatch_request("y", user_data=USER, action_source=7, **PRICE)
    batch = SendBatch(
        "b1",
        Lane("1234567890", "meta-test", "T"),
        [pending(r, i) for i, r in enumerate([*same, other])],
    )
    prepared = await meta.prepare(batch, NOW)
    (request,) = prepared.requests
    assert [ids(e)["event_id"] for e in request.payload.data] == ["E1", "evt-y"]
    assert request.delivery_ids == ("d0", "d1", "d2", "d3")  # all ride on the answer
    assert request.payload.test_event_code == "T" and not prepared.event_errors
    assert set(request.frozen) == {"d0", "d3"}  # the bytes of each event sent
    await meta.send(batch.lane, request)
    assert transport.sent == [request.payload]


async def test_a_resend_carries_the_bytes_of_the_first_send() -> None:
    meta, _ = platform()
    event = pending(dispatch_request("z", user_data=USER, action_source=7, **PRICE), 0)
    first = await meta.prepare(SendBatch("b1", Lane("1234567890", "meta-test"), [event]), NOW)
    sent = first.requests[0].frozen["d0"]
    later = dataclasses.replace(event, frozen=sent.replace(b"19.99", b"29.99"))
    again = await meta.prepare(SendBatch("b2", Lane("1234567890", "meta-test"), [later]), NOW)
    (request,) = again.requests
    assert ids(request.payload.data[0])["custom_data"]["value"] == 29.99  # the frozen bytes
    assert not request.frozen  # already frozen: nothing new to keep


async def test_prepare_refuses_bad_events_locally_and_missing_credentials_whole() -> None:
    meta, _ = platform()
    good = dispatch_request("g", user_data=USER, action_source=7, **PRICE)
    leaky = dispatch_request(
        "l",
        user_data=common_pb2.HashedUserData(meta=common_pb2.HashedIdentifiers(email="a@b.c")),
        action_source=7,
        **PRICE,
    )
    batch = SendBatch("b", Lane("1234567890", "meta-test"), [pending(good, 0), pending(leaky, 1)])
    prepared = await meta.prepare(batch, NOW)
    assert set(prepared.event_errors) == {"d1"}
    assert [ids(e)["event_id"] for e in prepared.requests[0].payload.data] == ["evt-g"]

    only_bad = SendBatch("b", Lane("1234567890", "meta-test"), [pending(leaky, 1)])
    assert not (await meta.prepare(only_bad, NOW)).requests

    locked_out, _ = platform(missing=True)
    refused = await locked_out.prepare(batch, NOW)
    assert not refused.requests and refused.error is not None
    assert refused.error.error_class is ErrorClass.CONFIG


async def test_an_event_is_mapped_once_at_intake_and_sent_as_admitted() -> None:
    meta, _ = platform()
    request = dispatch_request("a", user_data=USER, action_source=7, **PRICE)
    admitted = meta.admit(request, NOW)
    assert isinstance(admitted, bytes) and meta.check(request, NOW) is None
    event = dataclasses.replace(pending(request, 0), frozen=admitted)
    prepared = await meta.prepare(SendBatch("b", Lane("1234567890", "meta-test"), [event]), NOW)
    (sent,) = prepared.requests
    assert orjson.dumps(sent.payload.data[0]) == admitted
    assert not sent.frozen  # the engine has them already

    bad = dispatch_request("b", user_data=USER, account_id="pixel-1", action_source=7, **PRICE)
    assert meta.admit(bad, NOW) == meta.check(bad, NOW)


async def test_bytes_admitted_at_intake_that_got_too_old_fail_unsent() -> None:
    meta, _ = platform()
    old = NOW - timedelta(days=6, hours=23)
    request = dispatch_request("a", user_data=USER, action_source=7, event_time=old, **PRICE)
    admitted = meta.admit(request, NOW)
    assert isinstance(admitted, bytes)
    event = dataclasses.replace(pending(request, 0), frozen=admitted)
    later = NOW + timedelta(hours=2)
    prepared = await meta.prepare(SendBatch("b", Lane("1234567890", "meta-test"), [event]), later)
    assert not prepared.requests
    assert prepared.event_errors["d0"].error_class is ErrorClass.TOO_OLD
    assert prepared.event_errors["d0"].code == "100/2804003"
