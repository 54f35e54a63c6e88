"""The Graph API client: request shape, answers classified, secrets kept out of excerpts."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest
import respx

from dispatch_meta.adapters.graph_client import GraphEventsClient, regain_access_seconds
from dispatch_meta.domain.model import EventsRequest, MetaCredentials
from hubkit.dispatch.model import ErrorClass

BASE = "https://graph.test"
URL = f"{BASE}/v27.0/123/events"
CREDS = MetaCredentials("EAABtoken123", "appsecret")


def request(code: str = "") -> EventsRequest:
    return EventsRequest("123", [{"event_name": "Purchase"}], CREDS, test_event_code=code)


@pytest.fixture
async def client():
    c = GraphEventsClient(BASE, "v27.0", timeout=2)
    yield c
    await c.close()


@respx.mock
async def test_success_sends_json_with_the_token_in_the_body(client: GraphEventsClient) -> None:
    route = respx.post(URL).respond(
        200, json={"events_received": 1, "messages": [], "fbtrace_id": "AbC"}
    )
    result = await client.send(request("TEST123"))
    assert (result.error, result.http_status, result.request_id) == (None, 200, "AbC")
    sent = route.calls.last.request
    assert "access_token" not in str(sent.url)
    body = json.loads(sent.content)
    proof = hmac.new(b"appsecret", b"EAABtoken123", hashlib.sha256).hexdigest()
    assert body == {
        "data": [{"event_name": "Purchase"}],
        "access_token": "EAABtoken123",
        "appsecret_proof": proof,
        "partner_agent": "convhub",
        "test_event_code": "TEST123",
    }


@respx.mock
async def test_graph_errors_are_classified_with_code_and_message(
    client: GraphEventsClient,
) -> None:
    respx.post(URL).respond(
        400,
        json={
            "error": {
                "message": "Invalid parameter",
                "type": "OAuthException",
                "code": 100,
                "error_subcode": 2804003,
                "error_user_title": "Event Timestamp Too Old",
                "fbtrace_id": "Xyz",
            }
        },
    )
    result = await client.send(request())
    assert result.error is not None
    assert (result.error.error_class, result.error.code) == (ErrorClass.TOO_OLD, "100/2804003")
    assert result.error.message == "Invalid parameter - Event Timestamp Too Old"
    assert result.request_id == "Xyz" and result.http_status == 400


@respx.mock
async def test_throttles_carry_the_platform_delay(client: GraphEventsClient) -> None:
    usage = {"123": [{"type": "ads_management", "estimated_time_to_regain_access": 3}]}
    respx.post(URL).mock(
        side_effect=[
            httpx.Response(400, json={"error": {"code": 17}}, headers={"Retry-After": "7"}),
            httpx.Response(
                400,
                json={"error": {"code": 80004}},
                headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
            ),
            httpx.Response(400, json={"error": {"code": 4}}),
        ]
    )
    delays = []
    for _ in range(3):
        result = await client.send(request())
        assert result.error is not None and result.error.error_class is ErrorClass.THROTTLE
        delays.append(result.error.retry_after)
    assert delays == [7.0, 180.0, None]


@respx.mock
async def test_network_errors_and_garbage_are_transient(client: GraphEventsClient) -> None:
    respx.post(URL).mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(502, text="<html>Bad gateway</html>"),
        ]
    )
    first = await client.send(request())
    assert first.error is not None and first.error.error_class is ErrorClass.TRANSIENT
    assert first.http_status == 0 and first.sent
    second = await client.send(request())
    assert second.error is not None and second.error.error_class is ErrorClass.TRANSIENT
    assert second.error.code == "HTTP 502"


@respx.mock
async def test_excerpts_never_hold_the_token(client: GraphEventsClient) -> None:
    respx.post(URL).respond(
        400,
        json={"error": {"code": 190, "message": "Malformed access token EAABtoken123"}},
    )
    result = await client.send(request())
    assert result.error is not None and result.error.error_class is ErrorClass.AUTH
    assert "EAABtoken123" not in result.excerpt + result.error.message
    assert "appsecret" not in result.excerpt


def test_regain_access_header_parsing() -> None:
    assert regain_access_seconds(None) is None
    assert regain_access_seconds("not json") is None
    assert regain_access_seconds('{"1": [{"estimated_time_to_regain_access": 0}]}') is None
    assert regain_access_seconds('{"1": [{"estimated_time_to_regain_access": 2}]}') == 120


def test_credentials_never_print() -> None:
    assert "EAAB" not in repr(CREDS) and "EAAB" not in str(CREDS)
