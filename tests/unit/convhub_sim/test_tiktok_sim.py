"""The TikTok Events API simulator is faithful to docs/platforms.md §3 (checklist §3.8)."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from convhub_sim import REGISTRY
from convhub_sim.tiktok import TikTokSimulator

TOKEN = "tok-1"
PIXEL = "C4ABCDEFGHIJKLMN1234"
PATH = "/open_api/v1.3/event/track/"
H = hashlib.sha256(b"alice_abc@gmail.com").hexdigest()
REQUEST_ID = re.compile(r"(\d{14})[0-9A-F]{20}")
PIXEL_MESSAGE = (
    "No permission to operate pixel code: {}. You must be an admin or operator of this"
    " advertiser account."
)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event": "CompletePayment",
        "event_time": int(time.time()) - 60,
        "event_id": "order-1001",
        "user": {"email": [H], "phone": H, "external_id": [H, H], "ttclid": "E.C.P.x"},
        "properties": {
            "currency": "USD",
            "value": 129.99,
            "content_type": "product",
            "contents": [{"content_id": "SKU-1", "price": 129.99, "quantity": 1}],
        },
        "page": {"url": "https://shop.example.com/thanks"},
    }
    base.update(overrides)
    return base


def body(events: list[Any], **overrides: Any) -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": PIXEL, "data": events, **overrides}


@pytest.fixture
async def sim() -> AsyncIterator[TikTokSimulator]:
    simulator = TikTokSimulator(tokens={TOKEN}, pixels={PIXEL}, clock=Clock())
    await simulator.start()
    yield simulator
    await simulator.stop()


async def post(
    sim: TikTokSimulator, payload: Any, *, token: str | None = TOKEN, path: str = PATH
) -> httpx.Response:
    headers = {} if token is None else {"Access-Token": token}
    async with httpx.AsyncClient(base_url=sim.url) as client:
        return await client.post(path, json=payload, headers=headers)


async def send(sim: TikTokSimulator, events: list[Any], **overrides: Any) -> httpx.Response:
    return await post(sim, body(events, **overrides))


def envelope_of(response: httpx.Response, code: int) -> dict[str, Any]:
    """Application answers are HTTP 200 with the envelope; return it after checking its code."""
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert set(answer) == {"code", "message", "request_id", "data"}, answer
    assert answer["code"] == code, answer
    assert REQUEST_ID.fullmatch(answer["request_id"]), answer["request_id"]
    assert answer["data"] == {}
    return answer


async def test_success_envelope_request_id_and_what_is_stored(sim: TikTokSimulator) -> None:
    sent = [event(), event(event="AddToCart", event_id="cart-1")]
    response = await send(sim, sent, test_event_code="TEST12345")
    answer = envelope_of(response, 0)
    assert answer["message"] == "OK"
    stamp = REQUEST_ID.fullmatch(answer["request_id"])
    assert stamp is not None
    expected = datetime.fromtimestamp(sim.clock(), UTC).strftime("%Y%m%d%H%M%S")
    assert stamp.group(1) == expected  # the UTC time of the answer
    stored = [(e.pixel, e.event, e.event_id, e.test_event_code) for e in sim.processed()]
    assert stored == [
        (PIXEL, "CompletePayment", "order-1001", "TEST12345"),
        (PIXEL, "AddToCart", "cart-1", "TEST12345"),
    ]
    assert [e.payload for e in sim.processed()] == sent  # kept exactly as sent
    assert {e.request_id for e in sim.received} == {answer["request_id"]}
    assert all(e.at == sim.clock() and e.event_source == "web" for e in sim.received)
    assert sim.duplicates() == []
    assert sim.event_requests() == [body(sent, test_event_code="TEST12345")]
    assert [(a.http_status, a.code) for a in sim.answers()] == [(200, 0)]
    assert sim.platform_requests()[-1].code == 0
    assert REGISTRY["tiktok"] == (
        "convhub_sim.tiktok:TikTokSimulator",
        {"CONVHUB_TIKTOK_API_URL": ""},
    )


async def test_the_path_without_trailing_slash_is_the_same_endpoint(sim: TikTokSimulator) -> None:
    envelope_of(await post(sim, body([event()]), path=PATH.rstrip("/")), 0)
    assert len(sim.processed()) == 1 and len(sim.event_requests()) == 1


async def test_request_ids_are_unique(sim: TikTokSimulator) -> None:
    ids = {envelope_of(await send(sim, [event(event_id=f"e{i}")]), 0)["request_id"] for i in "ab"}
    assert len(ids) == 2


@pytest.mark.parametrize("token", [None, "", "stolen"])
async def test_missing_or_wrong_token_is_40105(sim: TikTokSimulator, token: str | None) -> None:
    answer = envelope_of(await post(sim, body([event()]), token=token), 40105)
    assert answer["message"] == "Access token is incorrect or has been revoked."
    assert not sim.received
    assert [(a.http_status, a.code) for a in sim.answers()] == [(200, 40105)]


async def test_default_token_and_any_token_when_tokens_is_none() -> None:
    async with TikTokSimulator() as sim:
        envelope_of(await post(sim, body([event()]), token="dev-tiktok-token"), 0)
        envelope_of(await post(sim, body([event()]), token=TOKEN), 40105)
    async with TikTokSimulator(tokens=None) as sim:
        envelope_of(await post(sim, body([event()]), token="anything"), 0)
        envelope_of(await post(sim, body([event()]), token=""), 40105)


async def test_token_is_checked_before_the_pixel(sim: TikTokSimulator) -> None:
    envelope_of(
        await post(sim, body([event()], event_source_id="C4OTHER0000000000000"), token="x"), 40105
    )


async def test_unknown_pixel_is_40001(sim: TikTokSimulator) -> None:
    other = "C4ZZZZZZZZZZZZZZZZZZ"
    answer = envelope_of(await send(sim, [event()], event_source_id=other), 40001)
    assert answer["message"] == PIXEL_MESSAGE.format(other)
    assert not sim.received


@pytest.mark.parametrize(
    ("source_id", "code"),
    [
        (PIXEL, 0),
        ("CDEMOPIXEL00000000000", 0),  # the `convhub up` demo pixel (21 characters)
        ("7123456789012345678", 0),  # a numeric event-set / app id
        ("c4abcdefghijklmn1234", 40001),  # lower case
        ("C4-BAD", 40001),
        ("", 40001),
    ],
)
async def test_without_configured_pixels_any_well_shaped_id_is_accepted(
    source_id: str, code: int
) -> None:
    async with TikTokSimulator(tokens={TOKEN}) as sim:
        envelope_of(await send(sim, [event()], event_source_id=source_id), code)
        assert len(sim.received) == (1 if code == 0 else 0)


def _with(path: str, value: Any) -> dict[str, Any]:
    """event() with `value` at the dotted `path` (`...` as value: the key removed)."""
    out = copy.deepcopy(event())
    *parents, last = path.split(".")
    node: Any = out
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return out


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (_with("event", ...), "Batch.2.event: Missing data for required field"),
        (_with("event", 7), "Batch.2.event: Not a valid string"),
        (_with("event", ""), "Batch.2.event: Field may not be blank"),
        (_with("event_time", ...), "Batch.2.event_time: Missing data for required field"),
        (_with("event_time", "1767225600"), "Batch.2.event_time: Not a valid integer"),
        (_with("event_time", 1767225600.5), "Batch.2.event_time: Not a valid integer"),
        (_with("event_time", True), "Batch.2.event_time: Not a valid integer"),
        (
            _with("event_time", 1767225600000),  # milliseconds
            "Batch.2.event_time: Not a Unix time in seconds (simulator)",
        ),
        (_with("event_id", 1001), "Batch.2.event_id: Not a valid string"),
        (_with("user", "alice"), "Batch.2.user: Invalid input type"),
        (_with("user.email", "alice@example.com"), "Batch.2.user.email: Not a valid SHA256 hash"),
        (_with("user.email", [H, H.upper()]), "Batch.2.user.email: Not a valid SHA256 hash"),
        (_with("user.email", [H, 7]), "Batch.2.user.email: Not a valid string"),
        (_with("user.phone", "+12133734253"), "Batch.2.user.phone: Not a valid SHA256 hash"),
        (_with("user.phone", [H[:63]]), "Batch.2.user.phone: Not a valid SHA256 hash"),
        (
            _with("user.external_id", "user_123"),
            "Batch.2.user.external_id: Not a valid SHA256 hash",
        ),
        (_with("user.external_id", ""), "Batch.2.user.external_id: Not a valid SHA256 hash"),
        (_with("user.ip", 203), "Batch.2.user.ip: Not a valid string"),
        (_with("properties", []), "Batch.2.properties: Invalid input type"),
        (_with("properties.value", "129.99"), "Batch.2.properties.value: Not a valid number"),
        (_with("properties.value", True), "Batch.2.properties.value: Not a valid number"),
        (
            _with("properties.currency", "usd"),
            "Batch.2.properties.currency: Not a valid currency code",
        ),
        (
            _with("properties.currency", "EURO"),
            "Batch.2.properties.currency: Not a valid currency code",
        ),
        (_with("properties.currency", 978), "Batch.2.properties.currency: Not a valid string"),
        (
            _with("properties.contents.0.content_id", 1),
            "Batch.2.properties.contents.0.content_id: Not a valid string",
        ),
        (_with("properties.contents", {}), "Batch.2.properties.contents: Not a valid list"),
        (
            _with("properties.contents.0.price", "9"),
            "Batch.2.properties.contents.0.price: Not a valid number",
        ),
        (
            _with("properties.content_type", "sku"),
            "Batch.2.properties.content_type: Must be one of: product, product_group",
        ),
        (
            _with("properties.content_ids", ["a", 2]),
            "Batch.2.properties.content_ids.1: Not a valid string",
        ),
        (_with("page.url", ["https://x"]), "Batch.2.page.url: Not a valid string"),
        (_with("properties.order_id", 1001), "Batch.2.properties.order_id: Not a valid string"),
        (_with("properties.num_items", "2"), "Batch.2.properties.num_items: Not a valid integer"),
        (
            _with("properties.contents.0.quantity", 1.5),
            "Batch.2.properties.contents.0.quantity: Not a valid integer",
        ),
        (
            _with("properties.contents.0.content_name", ["Shoe"]),
            "Batch.2.properties.contents.0.content_name: Not a valid string",
        ),
        (
            _with("properties.contents", [{"content_id": "a"}, 7]),
            "Batch.2.properties.contents.1: Invalid input type",
        ),
        (_with("user.first_name", "Alice"), "Batch.2.user.first_name: Not a valid SHA256 hash"),
        (_with("page.referrer", 1), "Batch.2.page.referrer: Not a valid string"),
        (_with("page", "https://x"), "Batch.2.page: Invalid input type"),
        (_with("limited_data_use", "yes"), "Batch.2.limited_data_use: Not a valid boolean"),
        ("not an event", "Batch.2: Invalid input type"),
    ],
)
async def test_each_schema_rule_names_the_first_bad_event_and_rejects_the_whole_request(
    sim: TikTokSimulator, bad: Any, message: str
) -> None:
    good = [event(event_id=f"good{i}") for i in range(2)]
    later_bad = _with("user.email", "plain@example.com")  # also bad, but after: not named
    answer = envelope_of(await send(sim, [*good, bad, later_bad]), 40002)
    assert answer["message"] == message
    assert not sim.received and not sim.dedupe  # whole-batch rejection: not even the good events
    assert [a.code for a in sim.answers()] == [40002]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"event_source": "pixel"}, "event_source: Must be one of: web, app, offline, crm"),
        ({"event_source": None}, "event_source: Missing data for required field"),
        ({"data": None}, "data: Missing data for required field"),
        ({"data": {"event": "Purchase"}}, "data: Not a valid list"),
        ({"data": []}, "data: Length must be between 1 and 1000"),
        (
            {"data": [event(event_id=f"e{i}") for i in range(1001)]},
            "data: Length must be between 1 and 1000",
        ),
        ({"event_source_id": 4}, "event_source_id: Not a valid string"),
        ({"test_event_code": 12345}, "test_event_code: Not a valid string"),
        ({"event_source": "crm"}, "Batch.0.lead: Missing data for required field"),
        (
            {"event_source": "crm", "data": [event(lead={"lead_event_source": "HubSpot"})]},
            "Batch.0.lead.lead_id: Missing data for required field",
        ),
    ],
)
async def test_request_level_rules(
    sim: TikTokSimulator, overrides: dict[str, Any], message: str
) -> None:
    payload = {k: v for k, v in body([event()], **overrides).items() if v is not None}
    answer = envelope_of(await post(sim, payload), 40002)
    assert answer["message"] == message
    assert not sim.received


async def test_a_missing_event_source_id_and_a_body_that_is_not_json(sim: TikTokSimulator) -> None:
    no_id = {"event_source": "web", "data": [event()]}
    answer = envelope_of(await post(sim, no_id), 40002)
    assert answer["message"] == "event_source_id: Missing data for required field"
    async with httpx.AsyncClient(base_url=sim.url) as client:
        raw = await client.post(PATH, content=b"{not json", headers={"Access-Token": TOKEN})
        listed = await client.post(PATH, json=[body([event()])], headers={"Access-Token": TOKEN})
    assert envelope_of(raw, 40002)["message"] == "body: Not valid JSON (simulator)"
    assert envelope_of(listed, 40002)["message"] == "body: Invalid input type"
    assert sim.event_requests() == [no_id, {}, {}]


async def test_exactly_1000_events_are_accepted(sim: TikTokSimulator) -> None:
    envelope_of(await send(sim, [event(event_id=f"e{i}") for i in range(1000)]), 0)
    assert len(sim.processed()) == 1000


@pytest.mark.parametrize(
    "accepted",
    [
        event(user={"email": H}),  # a string, not a list
        event(user={}, properties={}, page={}),
        event(event_id=None),
        _with("event_id", ...),
        event(properties={"value": 0, "currency": "EUR", "content_type": "product_group"}),
        event(user={"first_name": H, "ttp": "2F7h37", "ip": "2001:db8::1", "user_agent": "M"}),
        event(limited_data_use=False, custom_field={"anything": 1}),
    ],
)
async def test_valid_events_are_accepted(sim: TikTokSimulator, accepted: dict[str, Any]) -> None:
    envelope_of(await send(sim, [accepted]), 0)
    assert [e.payload for e in sim.processed()] == [accepted]


async def test_crm_events_with_a_lead_id_are_accepted(sim: TikTokSimulator) -> None:
    crm = event(lead={"lead_id": "L-1", "lead_event_source": "HubSpot"})
    envelope_of(await send(sim, [crm], event_source="crm"), 0)
    assert [e.event_source for e in sim.processed()] == ["crm"]


async def test_max_event_age_is_off_by_default_and_configurable() -> None:
    clock = Clock()
    old = event(event_time=int(clock.now) - 90 * 86400)
    async with TikTokSimulator(tokens={TOKEN}, clock=clock) as sim:
        envelope_of(await send(sim, [old]), 0)
    async with TikTokSimulator(tokens={TOKEN}, clock=clock, max_event_age=7 * 86400) as sim:
        answer = envelope_of(await send(sim, [event(), old]), 40002)
        assert (
            answer["message"]
            == "Batch.1.event_time: Event is more than 604800 seconds old (simulator)"
        )
        assert not sim.received
        envelope_of(await send(sim, [event(event_time=int(clock.now) - 6 * 86400)]), 0)


async def test_throttle_by_count(sim: TikTokSimulator) -> None:
    sim.throttle(2)
    for _ in range(2):
        answer = envelope_of(await send(sim, [event()]), 40100)
        assert answer["message"] == "Too many requests. Please retry in some time."
    assert not sim.received
    envelope_of(await send(sim, [event()]), 0)
    assert [a.code for a in sim.answers()] == [40100, 40100, 0]


async def test_throttle_for_seconds_is_a_storm(sim: TikTokSimulator) -> None:
    sim.throttle(seconds=0.4)
    for _ in range(3):
        envelope_of(await send(sim, [event()]), 40100)
    await asyncio.sleep(0.45)
    envelope_of(await send(sim, [event()]), 0)
    assert len(sim.processed()) == 1


@pytest.mark.parametrize("status", [502, 500])
async def test_server_error_answers_nginx_html(sim: TikTokSimulator, status: int) -> None:
    sim.server_error(1, status=status)
    response = await send(sim, [event()])
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert f"<title>{status} " in response.text and "<center>nginx</center>" in response.text
    assert not sim.received
    envelope_of(await send(sim, [event()]), 0)
    assert [(a.http_status, a.code) for a in sim.answers()] == [(status, None), (200, 0)]


async def test_server_error_for_seconds(sim: TikTokSimulator) -> None:
    sim.server_error(seconds=0.3)
    assert (await send(sim, [event()])).status_code == 502
    assert (await send(sim, [event()])).status_code == 502
    await asyncio.sleep(0.35)
    envelope_of(await send(sim, [event()]), 0)


async def test_token_error_and_arbitrary_codes(sim: TikTokSimulator) -> None:
    sim.token_error(1)
    sim.reject_code(40700, "Internal error (simulated)")
    sim.reject_code(50000, "System error", count=2)
    assert envelope_of(await send(sim, [event()]), 40105)["message"] == (
        "Access token is incorrect or has been revoked."
    )
    assert envelope_of(await send(sim, [event()]), 40700)["message"] == "Internal error (simulated)"
    envelope_of(await send(sim, [event()]), 50000)
    envelope_of(await send(sim, [event()]), 50000)
    envelope_of(await send(sim, [event()]), 0)
    assert [a.code for a in sim.answers()] == [40105, 40700, 50000, 50000, 0]
    assert len(sim.processed()) == 1


async def test_dedupe_store_is_48_hours_per_source_event_and_id() -> None:
    clock = Clock()
    other = "C4OTHER0000000000000"
    async with TikTokSimulator(tokens={TOKEN}, clock=clock) as sim:
        envelope_of(await send(sim, [event(), event(event="Purchase")]), 0)
        envelope_of(await send(sim, [event()]), 0)  # same key: accepted, deduplicated
        envelope_of(await send(sim, [event()], event_source_id=other), 0)  # another pixel
        envelope_of(await send(sim, [event(event_id=None), event(event_id=None)]), 0)  # no id
        clock.now += 47 * 3600
        envelope_of(await send(sim, [event()]), 0)  # still within 48 h
        clock.now += 2 * 3600  # 49 h after the first: the window has passed
        envelope_of(await send(sim, [event()]), 0)
        flags = [(e.pixel, e.event, e.event_id, e.deduplicated) for e in sim.received]
        assert flags == [
            (PIXEL, "CompletePayment", "order-1001", False),
            (PIXEL, "Purchase", "order-1001", False),
            (PIXEL, "CompletePayment", "order-1001", True),
            (other, "CompletePayment", "order-1001", False),
            (PIXEL, "CompletePayment", "", False),
            (PIXEL, "CompletePayment", "", False),
            (PIXEL, "CompletePayment", "order-1001", True),
            (PIXEL, "CompletePayment", "order-1001", False),
        ]
        assert len(sim.duplicates()) == 2 and len(sim.processed()) == 6
        async with httpx.AsyncClient(base_url=sim.url) as client:
            listing = (await client.get("/_sim/tiktok/events")).json()
        assert listing["duplicates"] == 2 and len(listing["received"]) == 8
        assert "payload" not in listing["received"][0]


async def test_poison_event_ids_reject_the_request_naming_the_event(sim: TikTokSimulator) -> None:
    sim.poison_event_ids = {"bad"}
    answer = envelope_of(
        await send(sim, [event(), event(event_id="ok"), event(event_id="bad")]), 40002
    )
    assert answer["message"] == "Batch.2.event_id: Event refused (simulator)"
    assert not sim.received
    envelope_of(await send(sim, [event(), event(event_id="ok")]), 0)
    assert len(sim.processed()) == 2


async def test_reset_forgets_everything(sim: TikTokSimulator) -> None:
    envelope_of(await send(sim, [event()]), 0)
    sim.throttle(5)
    sim.slow(1.0)
    sim.poison_event_ids = {"order-1001"}
    sim.reset()
    assert not sim.received and not sim.dedupe and not sim.platform_requests()
    assert sim.latency == 0 and not sim.poison_event_ids
    envelope_of(await send(sim, [event()]), 0)  # no throttle, no poison, not a duplicate
    assert len(sim.processed()) == 1 and not sim.duplicates()
    sim.throttle(1)
    async with httpx.AsyncClient(base_url=sim.url) as client:
        assert (await client.post("/_sim/reset")).status_code == 200
    assert not sim.received and not sim.dedupe and not sim.platform_requests()
    envelope_of(await send(sim, [event()]), 0)


async def test_fault_knobs_over_http(sim: TikTokSimulator) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        faults = "/_sim/tiktok/faults"
        queued = await client.post(faults, json={"kind": "throttle", "count": 2})
        assert queued.json()["queued"] == 2
        await client.post(faults, json={"kind": "server_error", "status": 500})
        await client.post(faults, json={"kind": "reject_code", "code": 40700, "message": "m"})
        await client.post(faults, json={"kind": "token_error"})
        await client.post(faults, json={"kind": "slow", "seconds": 0.3, "count": 1})
        await client.post(faults, json={"kind": "poison", "event_ids": ["bad"]})
        assert (await client.post(faults, json={"kind": "nope"})).status_code == 400
        assert (await client.post(faults, json={"kind": "throttle", "x": 1})).status_code == 400
    codes = [(await send(sim, [event()])).json()["code"] for _ in range(2)]
    assert codes == [40100, 40100]
    assert (await send(sim, [event()])).status_code == 500
    envelope_of(await send(sim, [event()]), 40700)
    envelope_of(await send(sim, [event()]), 40105)
    started = time.monotonic()
    envelope_of(await send(sim, [event()]), 0)
    assert time.monotonic() - started >= 0.3
    assert sim.poison_event_ids == {"bad"}


async def test_slow_for_every_request(sim: TikTokSimulator) -> None:
    sim.slow(0.2)
    started = time.monotonic()
    envelope_of(await send(sim, [event()]), 0)
    assert time.monotonic() - started >= 0.2


async def test_received_events_are_bounded_and_keep_the_newest() -> None:
    async with TikTokSimulator(tokens={TOKEN}, max_received=3) as sim:
        envelope_of(await send(sim, [event(event_id=f"e{i}") for i in range(5)]), 0)
        assert [e.event_id for e in sim.received] == ["e2", "e3", "e4"]
        assert len(sim.dedupe) == 5  # the store is bounded by its 48 h window, not by count
