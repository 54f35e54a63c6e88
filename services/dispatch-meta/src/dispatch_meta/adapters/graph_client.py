"""Meta Graph API client: POST /{version}/{pixel_id}/events, answers classified (§1.9, §1.10)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import orjson

from dispatch_meta.domain.errors import classify, code_text
from dispatch_meta.domain.model import EventsRequest
from hubkit.dispatch import http
from hubkit.dispatch.model import ErrorClass, PlatformError, SendResult
from hubkit.dispatch.redaction import scrub
from hubkit.resilience import parse_retry_after

log = logging.getLogger(__name__)

BUC_HEADER = "x-business-use-case-usage"


class GraphEventsClient:
    """The EventsTransport on httpx. The token travels in the JSON body, never in the URL
    (URLs end up in proxy and access logs)."""

    def __init__(
        self,
        base_url: str,
        api_version: str,
        *,
        timeout: float = 15.0,
        partner_agent: str = "convhub",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._version = api_version
        self._partner_agent = partner_agent
        self._http = client or http.client(
            base_url=base_url, timeout=timeout, user_agent="convhub-dispatch-meta"
        )

    def path(self, pixel_id: str) -> str:
        return f"/{self._version}/{pixel_id}/events"

    def body(self, request: EventsRequest) -> bytes:
        body: dict[str, Any] = {
            "data": request.data,
            "access_token": request.credentials.access_token,
            "partner_agent": self._partner_agent,
        }
        proof = request.credentials.appsecret_proof()
        if proof:
            body["appsecret_proof"] = proof
        if request.test_event_code:
            body["test_event_code"] = request.test_event_code
        return orjson.dumps(body)

    async def send(self, request: EventsRequest) -> SendResult:
        secrets = request.credentials.secrets()
        try:
            response = await http.post(
                self._http,
                self.path(request.pixel_id),
                destination="meta",
                events=len(request.data),
                content=self.body(request),
                headers={"content-type": "application/json"},
            )
        except httpx.HTTPError as exc:
            # Timeouts included: Meta may have the events; a resend carries the same event_ids.
            message = scrub(f"network error: {type(exc).__name__}: {exc}", secrets)
            return SendResult(error=PlatformError(ErrorClass.TRANSIENT, "NETWORK", message))
        return self.interpret(response, secrets)

    def interpret(self, response: httpx.Response, secrets: tuple[str, ...] = ()) -> SendResult:
        excerpt = scrub(response.text, secrets)
        payload = http.json_object(response)
        if response.status_code == 200 and "error" not in payload:
            return SendResult(
                http_status=200,
                request_id=str(payload.get("fbtrace_id", "")),
                excerpt=excerpt,
            )
        found = payload.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        code = _int(error.get("code"))
        subcode = _int(error.get("error_subcode"))
        transient = error.get("is_transient")
        error_class = classify(
            response.status_code, code, subcode, transient if isinstance(transient, bool) else None
        )
        parts = [str(error.get(k, "")) for k in ("message", "error_user_title", "error_user_msg")]
        message = scrub(
            " - ".join(p for p in parts if p) or f"HTTP {response.status_code}", secrets
        )
        retry_after = None
        if error_class in (ErrorClass.THROTTLE, ErrorClass.TRANSIENT):
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_after is None:
                retry_after = regain_access_seconds(response.headers.get(BUC_HEADER))
        return SendResult(
            http_status=response.status_code,
            request_id=str(error.get("fbtrace_id") or payload.get("fbtrace_id") or ""),
            excerpt=excerpt,
            error=PlatformError(
                error_class,
                code_text(code, subcode) or f"HTTP {response.status_code}",
                message,
                retry_after,
            ),
        )

    async def close(self) -> None:
        await self._http.aclose()


def regain_access_seconds(header: str | None) -> float | None:
    """The longest `estimated_time_to_regain_access` (minutes) in X-Business-Use-Case-Usage."""
    if not header:
        return None
    try:
        usage = orjson.loads(header)
    except orjson.JSONDecodeError:
        return None
    minutes = [
        entry.get("estimated_time_to_regain_access")
        for entries in (usage.values() if isinstance(usage, dict) else [])
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]
    known = [m for m in minutes if isinstance(m, int | float) and m > 0]
    return max(known) * 60.0 if known else None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
