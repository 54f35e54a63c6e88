"""The sGTM simulator: validates both formats, records what it accepts, answers scripted faults."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest

from convhub_sim.base import Fault
from convhub_sim.sgtm import SgtmSimulator

EMAIL = hashlib.sha256(b"a@example.com").hexdigest()
EVENT = {
    "event_name": "purchase",
    "event_id": "e1",
    "client_id": "v1",
    "value": 10.5,
    "currency": "EUR",
    "user_data": {"email_address": EMAIL, "address": {"first_name": EMAIL}},
    "consent_state": {"ad_user_data": True},
    "items": [{"item_id": "s1", "price": 5.25, "quantity": 2}],
}
MP_QUERY = {"measurement_id": "G-ABCD1234", "api_secret": "s3cret"}
MP_BODY = {
    "client_id": "v1",
    "user_id": "u1",
    "user_data": {"sha256_email_address": [EMAIL]},
    "consent": {"ad_user_data": "GRANTED"},
    "events": [{"name": "purchase", "params": {"event_id": "e1", "value": 1.5, "currency": "EUR"}}],
}


@pytest.fixture
async def sim() -> AsyncIterator[SgtmSimulator]:
    async with SgtmSimulator() as simulator:
        yield simulator  # type: ignore[misc]


@pytest.fixture
async def http(sim: SgtmSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        yield client


async def test_stape_accepts_an_object_or_an_array_and_records_events(
    sim: SgtmSimulator, http: httpx.AsyncClient
) -> None:
    one = await http.post("/data", json=EVENT)
    many = await http.post("/data", json=[EVENT, {**EVENT, "event_id": "e2"}])
    assert one.status_code == many.status_code == 200
    assert set(one.json()) == {"timestamp", "unique_event_id"}
    assert sim.event_ids() == ["e1", "e1", "e2"]
    assert (await http.options("/data")).headers["access-control-allow-origin"] == "*"


async def test_stape_refuses_raw_personal_data_and_bad_shapes(
    sim: SgtmSimulator, http: httpx.AsyncClient
) -> None:
    raw = {**EVENT, "user_data": {"email_address": "a@example.com"}}
    response = await http.post("/data", json=raw)
    assert response.status_code == 400 and "user_data.email_address" in response.json()["error"]
    assert (await http.post("/data", json={**EVENT, "client_id": ""})).status_code == 400
    assert (await http.post("/data", json={**EVENT, "currency": "euro"})).status_code == 400
    assert (
        await http.post("/data", content=b"{", headers={"content-type": "application/json"})
    ).status_code == 400
    sim.accept_multiple_events = False
    assert (await http.post("/data", json=[EVENT])).status_code == 400
    assert sim.events == [] and len(sim.rejections) == 5


async def test_size_limit_and_shared_secret(sim: SgtmSimulator, http: httpx.AsyncClient) -> None:
    too_big = {**EVENT, "padding": "x" * 1_000_001}
    assert (await http.post("/data", json=too_big)).status_code == 413
    sim.auth_header, sim.auth_value = "x-auth", "letmein"
    assert (await http.post("/data", json=EVENT)).status_code == 403
    ok = await http.post("/data", json=EVENT, headers={"x-auth": "letmein"})
    assert ok.status_code == 200 and sim.events[0].headers["x-auth"] == "letmein"


async def test_mp_validates_like_the_debug_endpoint(
    sim: SgtmSimulator, http: httpx.AsyncClient
) -> None:
    ok = await http.post("/mp/collect", params=MP_QUERY, json=MP_BODY)
    assert ok.status_code == 204 and sim.event_ids() == ["e1"]
    assert sim.events[0].request["user_id"] == "u1"

    bad = {**MP_BODY, "user_id": "", "events": [{"name": "session_start"}]}
    debug = await http.post("/debug/mp/collect", params=MP_QUERY, json=bad)
    codes = {m["fieldPath"]: m["validationCode"] for m in debug.json()["validationMessages"]}
    assert debug.status_code == 200
    assert codes == {"user_id": "VALUE_REQUIRED", "events[0].name": "NAME_RESERVED"}
    rejected = await http.post("/mp/collect", params={"measurement_id": "x"}, json=bad)
    assert rejected.status_code == 400
    fields = {m["fieldPath"] for m in rejected.json()["validationMessages"]}
    assert {"measurement_id", "api_secret", "user_id", "events[0].name"} <= fields
    too_many = {**MP_BODY, "events": MP_BODY["events"] * 26}
    assert (await http.post("/mp/collect", params=MP_QUERY, json=too_many)).status_code == 400
    sim.api_secret = "other"
    assert (await http.post("/mp/collect", params=MP_QUERY, json=MP_BODY)).status_code == 403
    assert len(sim.events) == 1


async def test_scripted_faults_then_normal_answers(
    sim: SgtmSimulator, http: httpx.AsyncClient
) -> None:
    sim.fail_next(2, Fault(status=429, headers={"Retry-After": "3"}))
    first = await http.post("/data", json=EVENT)
    second = await http.post("/data", json=EVENT)
    third = await http.post("/data", json=EVENT)
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["retry-after"] == "3" and len(sim.events) == 1


async def test_a_slow_answer_times_the_client_out(
    sim: SgtmSimulator, http: httpx.AsyncClient
) -> None:
    sim.fail_next(1, Fault(status=504, delay=0.5))
    with pytest.raises(httpx.ReadTimeout):
        await http.post("/data", json=EVENT, timeout=0.1)


async def test_knobs_over_http(sim: SgtmSimulator, http: httpx.AsyncClient) -> None:
    await http.post("/_sim/config", json={"accept_multiple_events": False})
    await http.post("/_sim/faults", json={"faults": [{"status": 503, "count": 1}]})
    assert (await http.post("/data", json=EVENT)).status_code == 503
    assert (await http.post("/data", json=[EVENT])).status_code == 400
    assert (await http.post("/data", json=EVENT)).status_code == 200
    assert (await http.get("/_sim/events")).json()["count"] == 1
    await http.post("/_sim/reset")
    assert sim.events == [] and sim.platform_requests() == []
