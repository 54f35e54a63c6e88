"""SgtmSender over httpx: POSTs prepared bodies to a site's sGTM container, answers as results."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

import httpx
from google.protobuf.message import DecodeError
from opentelemetry import trace

from convhub.events.v1 import events_pb2 as events
from hubkit.dispatch.redaction import scrub
from hubkit.resilience import parse_retry_after
from hubkit.telemetry import context_from_traceparent, inject_headers
from router.adapters.credentials import CredentialsDirectory, MissingCredentials
from router.adapters.sgtm_payloads import build_bodies
from router.domain.delivery import (
    ErrorClass,
    PreparedRequest,
    RequestResult,
    SgtmDelivery,
    classify_http,
)
from router.domain.site import SgtmFormat, SgtmSettings

log = logging.getLogger(__name__)
tracer = trace.get_tracer("router.sgtm")

USER_AGENT = "convhub-router/0.1"
PREVIEW_HEADER = "x-gtm-server-preview"
EXCERPT_CHARS = 512
_MAX_LINKS = 32


class HttpSgtmSender:
    def __init__(self, client: httpx.AsyncClient, credentials: CredentialsDirectory) -> None:
        self._client = client
        self._credentials = credentials
        # httpx logs every request URL at INFO; a GA4 MP URL carries the api_secret.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    def prepare(
        self, settings: SgtmSettings, deliveries: Sequence[SgtmDelivery], max_events: int
    ) -> tuple[list[PreparedRequest], list[RequestResult]]:
        decoded: list[tuple[str, events.ConversionAccepted]] = []
        rejected: list[RequestResult] = []
        traces = {d.delivery_id: d.trace.traceparent for d in deliveries}
        for d in deliveries:
            try:
                decoded.append((d.delivery_id, events.ConversionAccepted.FromString(d.payload)))
            except DecodeError:
                rejected.append(_rejected(d.delivery_id, "undecodable conversion payload"))
        chunks, unfit = build_bodies(settings, decoded, max_events)
        rejected += [_rejected(i, reason) for i, reason in unfit]
        requests = [
            PreparedRequest(
                tuple(ids),
                body,
                f"sgtm-{uuid.uuid4().hex[:16]}",
                tuple(traces[i] for i in ids[:_MAX_LINKS] if traces[i]),
            )
            for ids, body in chunks
        ]
        return requests, rejected

    async def post(self, settings: SgtmSettings, request: PreparedRequest) -> RequestResult:
        def result(ec: ErrorClass, **kw: object) -> RequestResult:
            return RequestResult(request.delivery_ids, ec, batch_id=request.batch_id, **kw)  # type: ignore[arg-type]

        try:
            url, params, headers = self._target(settings)
        except MissingCredentials as exc:
            return result(ErrorClass.CONFIG, error=str(exc), sent=False)
        links = [
            trace.Link(trace.get_current_span(context_from_traceparent(tp)).get_span_context())
            for tp in request.traceparents
        ]
        with tracer.start_as_current_span(
            "POST sgtm", kind=trace.SpanKind.CLIENT, links=links
        ) as span:
            span.set_attribute("server.address", urlsplit(settings.url).hostname or "")
            span.set_attribute("convhub.batch_size", len(request.delivery_ids))
            try:
                response = await self._client.post(
                    url, content=request.body, params=params, headers=inject_headers(headers)
                )
            except httpx.TimeoutException:
                return result(ErrorClass.TRANSIENT, error="timeout waiting for the sGTM container")
            except httpx.HTTPError as exc:  # str(exc) may hold the URL (and its api_secret)
                return result(ErrorClass.TRANSIENT, error=f"network error: {type(exc).__name__}")
            span.set_attribute("http.response.status_code", response.status_code)
        status = response.status_code
        ec = classify_http(status)
        return result(
            ec,
            http_status=status,
            error="" if ec is ErrorClass.NONE else f"sGTM answered HTTP {status}",
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            excerpt=_excerpt(response.text, settings, headers, params),
            too_large=status == 413,
        )

    def _target(self, settings: SgtmSettings) -> tuple[str, dict[str, str], dict[str, str]]:
        headers = {"content-type": "application/json", "user-agent": USER_AGENT}
        if settings.auth_header_name:
            headers[settings.auth_header_name] = self._credentials.read(settings.auth_secret_ref)
        if settings.preview_header:
            headers[PREVIEW_HEADER] = settings.preview_header
        url, params = settings.url, {}
        if settings.format is SgtmFormat.GA4_MP:
            url = mp_collect_url(settings.url)
            params = {
                "measurement_id": settings.measurement_id,
                "api_secret": self._credentials.read(settings.api_secret_ref),
            }
        return url, params, headers


def _excerpt(
    text: str, settings: SgtmSettings, headers: dict[str, str], params: dict[str, str]
) -> str:
    """The response excerpt for the audit, without the auth header secret or api_secret.

    A container may echo the request (headers, query) back; the excerpt goes to Postgres/NATS.
    Scrubbed on more than the excerpt so a secret cut at the boundary cannot survive in part.
    """
    secrets = [headers.get(settings.auth_header_name, ""), params.get("api_secret", "")]
    return scrub(text[: EXCERPT_CHARS * 4], secrets, limit=EXCERPT_CHARS)


def mp_collect_url(url: str) -> str:
    """The container's `/mp/collect` endpoint: the URL itself when it already names it."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if not path.endswith("/mp/collect"):
        path += "/mp/collect"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _rejected(delivery_id: str, reason: str) -> RequestResult:
    return RequestResult((delivery_id,), ErrorClass.BAD_INPUT, error=reason, sent=False)
