"""The Meta CAPI simulator is faithful to docs/platforms.md §1.13."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from convhub_sim import REGISTRY
from convhub_sim.meta import MetaSimulator

TOKEN = "tok-1"
H = hashlib.sha256(b"a@b.c").hexdigest()


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_name": "Purchase",
        "event_time": int(time.time()) - 60,
        "event_id": "e1",
        "action_source": "system_generated",
        "user_data": {"em": [H]},
        "custom_data": {"value": 129.99, "currency": "usd"},
    }
    base.update(overrides)
    return base


def with_user(**user: Any) -> dict[str, Any]:
    return event(user_data={"em": [H], **user})


@pytest.fixture
async def sim() -> AsyncIterator[MetaSimulator]:
    simulator = MetaSimulator(pixels={"111"}, tokens={TOKEN}, clock=Clock())
    await simulator.start()
    yield simulator
    await simulator.stop()


async def post(
    sim: MetaSimulator, events: list[Any], *, pixel: str = "111", token: str = TOKEN, **extra: Any
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        return await client.post(
            f"/v27.0/{pixel}/events", json={"data": events, "access_token": token, **extra}
        )


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    return response.json()["error"]  # type: ignore[no-any-return]


async def test_success_shape_and_registry(sim: MetaSimulator) -> None:
    response = await post(sim, [event(), event(event_id="e2")])
    body = response.json()
    assert response.status_code == 200
    assert body["events_received"] == 2 and body["messages"] == [] and body["fbtrace_id"]
    assert REGISTRY["meta"] == ("convhub_sim.meta:MetaSimulator", {"CONVHUB_META_GRAPH_URL": ""})


async def test_token_pixel_and_path_checks(sim: MetaSimulator) -> None:
    assert error_of(await post(sim, [event()], token=""))["code"] == 190
    assert error_of(await post(sim, [event()], token="stolen"))["code"] == 190
    unknown = error_of(await post(sim, [event()], pixel="999"))
    assert (unknown["code"], unknown["error_subcode"], unknown["type"]) == (
        100,
        33,
        "GraphMethodException",
    )
    async with httpx.AsyncClient(base_url=sim.url) as client:
        bad_version = await client.post("/latest/111/events", json={"access_token": TOKEN})
    assert error_of(bad_version)["code"] == 2500


async def test_appsecret_proof_is_checked_when_the_app_has_a_secret() -> None:
    async with MetaSimulator(app_secrets={TOKEN: "shh"}) as sim:
        assert error_of(await post(sim, [event()]))["code"] == 100
        proof = hmac.new(b"shh", TOKEN.encode(), hashlib.sha256).hexdigest()
        assert (await post(sim, [event()], appsecret_proof=proof)).status_code == 200


@pytest.mark.parametrize(
    ("events", "title", "subcode"),
    [
        ([], None, None),
        ([event(event_name="")], "Missing Parameter", None),
        ([event(action_source="moon")], "Invalid Action Source", None),
        ([event(event_time=int(time.time()) - 8 * 86400)], "Event Timestamp Too Old", 2804003),
        (
            [event(event_time=int(time.time()) + 3600)],
            "Event Timestamp In Future (simulator)",
            None,
        ),
        ([event(action_source="website")], "Missing Website Parameters", None),
        ([event(user_data={"em": ["jane@example.com"]})], "Invalid Hashed Parameter", None),
        ([event(user_data={"ph": H.upper()})], "Invalid Hashed Parameter", None),
        ([event(user_data={})], "Insufficient Customer Information", 2804050),
        ([event(custom_data={"value": 1, "currency": "euro"})], "Invalid Currency", None),
        ([event(custom_data={"value": 1, "currency": "€ur"})], "Invalid Currency", None),
        ([event(custom_data={"value": "1", "currency": "usd"})], "Invalid Value", None),
        ([event(custom_data={"value": True, "currency": "usd"})], "Invalid Value", None),
        ([event(custom_data={"value": 1})], "Missing Currency for Purchase Event", 2804010),
        ([event(custom_data={})], "Missing Currency for Purchase Event", 2804010),
        (
            [event(custom_data={"currency": "usd"})],
            "Missing Value for Purchase Event (simulator)",
            None,
        ),
        ([event(action_source="app")], "Missing App Data (simulator)", None),
        (
            [event(action_source="physical_store", event_time=int(time.time()) - 63 * 86400)],
            "Event Timestamp Too Old",
            2804003,
        ),
        ([with_user(fbc="fb.1.1554763741205")], "Click ID Incorrectly Formatted", 2804001),
        (
            [with_user(fbc="fb.1.1554763741205.AbCdEf.XY")],
            "Click ID Incorrectly Formatted",
            2804001,
        ),
        (
            [with_user(fbc="fb.1.1554763741205.AbCdEf.AQIBAQAB.Ag")],
            "Click ID Incorrectly Formatted",
            2804001,
        ),
        ([with_user(fbp="fb.1.155.109")], "Invalid Browser ID (simulator)", None),
        ([with_user(fbp="fb.1.1596403881668.x1")], "Invalid Browser ID (simulator)", None),
        ([event()] * 1001, "Too Many Events", None),
    ],
)
async def test_validation_rejects_the_whole_request(
    sim: MetaSimulator, events: list[Any], title: str | None, subcode: int | None
) -> None:
    good = [event(event_id=f"good{i}") for i in range(3)]
    error = error_of(await post(sim, [*good, *events] if events else []))
    assert error["code"] == 100 and error.get("error_user_title") == title
    assert error.get("error_subcode") == subcode
    assert not sim.received  # whole-batch rejection: not even the good events


@pytest.mark.parametrize(
    "accepted",
    [
        with_user(fbc="fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890"),
        with_user(fbc="fb.1.1554763741205.AbCdEf.AQIBAQAB"),  # 8-character appendix
        with_user(fbc="fb.1.1554763741205.IwAR2F4-dbP0l7Mn_1Iaw.Ag"),  # language token
        with_user(fbp="fb.1.1596403881668.1116446470"),
        with_user(fbp="fb.1.1596403881668.1116446470.Ag"),
        with_user(fbp="fb.1.1596403881668.1116446470.AQIBAQAB"),
        event(event_name="Lead", custom_data={}),  # value and currency: Purchase only
        event(event_name="Lead", custom_data={"currency": "EUR"}),
        event(custom_data={"value": 0, "currency": "EUR"}),
        event(action_source="physical_store", event_time=int(time.time()) - 30 * 86400),
        event(action_source="app", app_data={"advertiser_tracking_enabled": 1}),
    ],
)
async def test_valid_events_are_accepted(sim: MetaSimulator, accepted: dict[str, Any]) -> None:
    response = await post(sim, [accepted])
    assert response.status_code == 200, response.text
    assert [e.event for e in sim.received] == [accepted]  # kept exactly as sent


async def test_dedupe_store_is_48_hours_per_pixel_name_and_id() -> None:
    clock = Clock()
    async with MetaSimulator(clock=clock) as sim:
        await post(sim, [event(), event(event_name="Lead")], pixel="1")
        await post(sim, [event()], pixel="1")  # same key: deduplicated
        await post(sim, [event()], pixel="2")  # another pixel: a new key
        clock.now += 47 * 3600
        await post(sim, [event(event_time=int(clock.now) - 10)], pixel="1")  # still a duplicate
        clock.now += 2 * 3600  # 49 h after the first: the window has passed
        await post(sim, [event(event_time=int(clock.now) - 10)], pixel="1")
        flags = [(e.pixel_id, e.event_name, e.deduplicated) for e in sim.received]
        assert flags == [
            ("1", "Purchase", False),
            ("1", "Lead", False),
            ("1", "Purchase", True),
            ("2", "Purchase", False),
            ("1", "Purchase", True),
            ("1", "Purchase", False),
        ]
        async with httpx.AsyncClient(base_url=sim.url) as client:
            listing = (await client.get("/_sim/meta/events")).json()
        assert listing["duplicates"] == 2 and len(listing["received"]) == 6


async def test_form_encoded_data_as_json_strings_is_accepted(sim: MetaSimulator) -> None:
    data = json.dumps([json.dumps(event(event_id="f1")), event(event_id="f2")])
    async with httpx.AsyncClient(base_url=sim.url) as client:
        response = await client.post(
            "/v27.0/111/events", data={"data": data, "access_token": TOKEN}
        )
    assert response.status_code == 200 and response.json()["events_received"] == 2


async def test_fault_knobs_in_process(sim: MetaSimulator) -> None:
    sim.throttle(1, code=613, retry_after=2)
    sim.server_error(1, status=503)
    sim.token_error(1)
    throttled = await post(sim, [event()])
    assert error_of(throttled)["code"] == 613 and throttled.headers["Retry-After"] == "2"
    down = await post(sim, [event()])
    assert down.status_code == 503 and down.json()["error"]["is_transient"] is True
    assert error_of(await post(sim, [event()]))["code"] == 190
    assert (await post(sim, [event()])).status_code == 200
    sim.poison_event_ids = {"bad"}
    assert error_of(await post(sim, [event(), event(event_id="bad")]))["code"] == 100


async def test_fault_knobs_over_http(sim: MetaSimulator) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        queued = await client.post(
            "/_sim/meta/faults", json={"kind": "throttle", "count": 2, "code": 80004}
        )
        assert queued.json()["queued"] == 2
        assert (await client.post("/_sim/meta/faults", json={"kind": "nope"})).status_code == 400
        await client.post("/_sim/meta/faults", json={"kind": "slow", "seconds": 0.3, "count": 1})
    assert error_of(await post(sim, [event()]))["code"] == 80004
    assert error_of(await post(sim, [event()]))["code"] == 80004
    started = time.monotonic()
    assert (await post(sim, [event()])).status_code == 200
    assert time.monotonic() - started >= 0.3
