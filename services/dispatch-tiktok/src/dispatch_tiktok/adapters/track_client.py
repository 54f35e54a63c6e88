"""TikTok Events API client: POST /open_api/v1.3/event/track/, answers classified (§3.1, §3.3).

The call is synchronous: TikTok has no upload job to poll; convhub's own batch (GetBatch) is
what clients poll. A 40002 naming `Batch.<i>` fails the events at i with TikTok's message and
hands the rest back untried."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from dispatch_tiktok.domain.errors import batch_indexes, classify
from dispatch_tiktok.domain.model import TrackRequest
from hubkit.dispatch import http
from hubkit.dispatch.model import PlatformError, SendResult
from hubkit.dispatch.redaction import scrub
from hubkit.resilience import parse_retry_after
from hubkit.vocabulary import ErrorClass

PATH = "/open_api/v1.3/event/track/"
EVENT_SOURCE = "web"  # event_source_id is the site's pixel code


class TrackClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 15.0,
        partner_name: str = "",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._partner = partner_name
        self._http = client or http.client(
            base_url=base_url, timeout=timeout, user_agent="convhub-dispatch-tiktok"
        )

    def body(self, request: TrackRequest) -> bytes:
        body: dict[str, Any] = {
            "event_source": EVENT_SOURCE,
            "event_source_id": request.pixel_code,
            "data": request.data,
        }
        if request.test_event_code:
            body["test_event_code"] = request.test_event_code
        if self._partner:
            body["partner_name"] = self._partner
        return orjson.dumps(body)

    async def send(self, request: TrackRequest) -> SendResult:
        secrets = (request.access_token,)
        try:
            response = await http.post(
                self._http,
                PATH,
                destination="tiktok",
                events=len(request.data),
                content=self.body(request),
                headers={"content-type": "application/json", "access-token": request.access_token},
            )
        except httpx.HTTPError as exc:
            message = scrub(f"network error: {type(exc).__name__}: {exc}", secrets)
            return SendResult(error=PlatformError(ErrorClass.TRANSIENT, "NETWORK", message))
        return interpret(response, request)

    async def close(self) -> None:
        await self._http.aclose()


def interpret(response: httpx.Response, request: TrackRequest) -> SendResult:
    secrets = (request.access_token,)  # never into the audit, whatever TikTok echoes
    excerpt = scrub(response.text, secrets)
    envelope = http.json_object(response)
    code = envelope.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    request_id = str(envelope.get("request_id", ""))
    error_class = classify(response.status_code, code)
    if error_class is ErrorClass.NONE:
        return SendResult(http_status=response.status_code, request_id=request_id, excerpt=excerpt)
    message = scrub(str(envelope.get("message") or f"HTTP {response.status_code}"), secrets)
    platform_code = str(code) if code is not None else f"HTTP {response.status_code}"
    retry_after = None
    if error_class in (ErrorClass.THROTTLE, ErrorClass.TRANSIENT):
        retry_after = parse_retry_after(response.headers.get("retry-after"))
    error = PlatformError(error_class, platform_code, message[:1000], retry_after)
    named = [i for i in batch_indexes(message) if i < len(request.positions)]
    if error_class is ErrorClass.BAD_INPUT and named:
        # Only the named events are bad; the others were never processed: resend them.
        bad = {d for i in named for d in request.positions[i]}
        rest = {d for ids in request.positions for d in ids} - bad
        return SendResult(
            http_status=response.status_code,
            request_id=request_id,
            excerpt=excerpt,
            error=error,
            event_errors={d: error for d in bad},
            untried=frozenset(rest),
        )
    return SendResult(
        http_status=response.status_code, request_id=request_id, excerpt=excerpt, error=error
    )
