"""Every platform request goes out through `post` (or `get`, for the reporting APIs): a CLIENT
span (destination, host, status, event count) under the current batch span, and the W3C
`traceparent` on the request, so a conversion's trace shows where its time went for every
destination alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from hubkit.telemetry import inject_headers
from hubkit.vocabulary import classify_status as classify_status  # pure: domains use it

tracer = trace.get_tracer("hubkit.dispatch.http")


def client(
    *,
    user_agent: str,
    timeout: float,
    base_url: str = "",
    max_connections: int = 20,
) -> httpx.AsyncClient:
    """A destination's HTTP client: connect timeout at most 5 s, keep-alive pool, no redirects
    (a redirected POST would be re-sent as a GET)."""
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections // 2
        ),
        headers={"user-agent": user_agent},
        follow_redirects=False,
    )


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    destination: str,
    events: int,
    content: bytes,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST `content`; network errors and timeouts raise httpx's exceptions as usual.

    The span never records the URL's query (a GA4 api_secret travels there) nor any body."""
    return await _send(
        client,
        "POST",
        url,
        destination=destination,
        events=events,
        content=content,
        headers=headers,
        params=params,
    )


async def get(
    client: httpx.AsyncClient,
    url: str,
    *,
    destination: str,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> httpx.Response:
    """GET `url` (a path under the client's base URL, or absolute) with `params` added to its
    query; errors as for `post`. The span records the path only, never the query."""
    return await _send(client, "GET", url, destination=destination, headers=headers, params=params)


async def _send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    destination: str,
    events: int | None = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> httpx.Response:
    with tracer.start_as_current_span(
        f"{method} {destination}", kind=SpanKind.CLIENT, record_exception=False
    ) as span:
        # Built inside the span: the traceparent sent names this CLIENT span.
        request = client.build_request(
            method, url, content=content, params=params, headers=inject_headers(headers)
        )
        span.set_attribute("convhub.destination", destination)
        span.set_attribute("server.address", request.url.host)
        span.set_attribute("url.path", request.url.path)
        if events is not None:
            span.set_attribute("convhub.event_count", events)
        try:
            response = await client.send(request)
        except httpx.HTTPError as exc:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code >= 400:
            span.set_status(Status(StatusCode.ERROR, f"HTTP {response.status_code}"))
        return response


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object; {} when it is empty, not JSON or not an object (platforms
    answer errors with HTML pages too)."""
    try:
        payload = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        return {}
    return payload if isinstance(payload, dict) else {}
