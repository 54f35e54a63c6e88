"""TikTok answers interpreted: envelope codes at HTTP 200, Batch.<i> rejections, secrets."""

from __future__ import annotations

import httpx
import orjson

from dispatch_tiktok.adapters.track_client import TrackClient, interpret
from dispatch_tiktok.domain.model import TrackRequest
from hubkit.vocabulary import ErrorClass

TOKEN = "tt-secret-token-0123"


def track(n: int) -> TrackRequest:
    return TrackRequest(
        "C4PIXEL", [{"event": "X"}] * n, [(f"d{i}",) for i in range(n)], TOKEN, "TEST1"
    )


def answer(code: int, message: str = "OK", status: int = 200) -> httpx.Response:
    body = {"code": code, "message": message, "request_id": "2026113015000012AB", "data": {}}
    return httpx.Response(status, content=orjson.dumps(body))


def test_success_and_its_request_id() -> None:
    result = interpret(answer(0), track(3))
    assert result.error is None and result.request_id == "2026113015000012AB"


def test_a_rejection_naming_batch_2_fails_it_and_hands_back_the_rest_untried() -> None:
    req = TrackRequest("C4PIXEL", [{}] * 4, [("d0",), ("d1",), ("d2", "d2b"), ("d3",)], TOKEN)
    result = interpret(answer(40002, "Batch.2.user.email: Not a valid SHA256 hash"), req)
    assert set(result.event_errors) == {"d2", "d2b"}
    assert result.event_errors["d2"].message == "Batch.2.user.email: Not a valid SHA256 hash"
    assert result.event_errors["d2"].error_class is ErrorClass.BAD_INPUT
    assert result.untried == frozenset({"d0", "d1", "d3"})


def test_a_rejection_naming_no_event_rejects_the_request() -> None:
    result = interpret(answer(40002, "Invalid parameter"), track(3))
    assert result.error is not None and result.error.error_class is ErrorClass.BAD_INPUT
    assert not result.event_errors and not result.untried


def test_throttles_auth_and_server_errors() -> None:
    assert interpret(answer(40100, "Too many requests."), track(1)).error.error_class is (  # type: ignore[union-attr]
        ErrorClass.THROTTLE
    )
    revoked = interpret(answer(40105, f"Access token {TOKEN} is incorrect"), track(1))
    assert revoked.error is not None and revoked.error.error_class is ErrorClass.AUTH
    assert TOKEN not in revoked.error.message and TOKEN not in revoked.excerpt
    nginx = interpret(httpx.Response(502, text="<html>502 Bad Gateway</html>"), track(1))
    assert nginx.error is not None and nginx.error.error_class is ErrorClass.TRANSIENT
    assert nginx.error.code == "HTTP 502"


def test_the_body_names_the_pixel_and_test_code_and_carries_no_token() -> None:
    body = orjson.loads(TrackClient("http://tt", partner_name="convhub").body(track(2)))
    assert body["event_source"] == "web" and body["event_source_id"] == "C4PIXEL"
    assert body["test_event_code"] == "TEST1" and body["partner_name"] == "convhub"
    assert len(body["data"]) == 2 and TOKEN not in orjson.dumps(body).decode()
