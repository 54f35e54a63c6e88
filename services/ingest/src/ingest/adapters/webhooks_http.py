"""The webhook receiver: POST /webhooks/<source>/<site_id> over HTTP (aiohttp), beside gRPC and
NATS. It only carries bytes to ReceiveWebhook and its answer back; bodies over the limit are
refused unread, and a database or bus outage answers 503 so the platform retries."""

from __future__ import annotations

import logging
import time

from aiohttp import web
from opentelemetry import metrics

from hubkit.errors import ResourceExhausted
from hubkit.outages import OUTAGE_RETRY_AFTER, outage_of
from ingest.app.admission import RateLimits
from ingest.app.webhooks import ReceiveWebhook, WebhookReply, WebhookRequest

log = logging.getLogger(__name__)


class WebhookServer:
    """A worker: listens from start() to stop()."""

    def __init__(
        self,
        receive: ReceiveWebhook,
        limits: RateLimits,
        *,
        host: str,
        port: int,
        max_body_bytes: int,
        public_url: str = "",
    ) -> None:
        self._receive = receive
        self._limits = limits
        self._host, self._port = host, port
        # HubSpot signs the URL it called; behind a proxy that is the public one, not ours.
        self._public_url = public_url.rstrip("/")
        self._max_body = max_body_bytes
        self._app = web.Application(client_max_size=max_body_bytes)
        self._app.router.add_post("/webhooks/{source}/{site_id}", self._handle)
        self._runner: web.AppRunner | None = None
        meter = metrics.get_meter("ingest")
        self._webhooks = meter.create_counter(
            "ingest_webhooks_total", description="Webhooks by source, site and outcome"
        )
        self._latency = meter.create_histogram(
            "ingest_webhook_seconds", unit="s", description="Webhook time to answer"
        )
        self.port = port

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info("webhooks listening", extra={"port": self.port})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        source, site_id = request.match_info["source"], request.match_info["site_id"]
        reply = await self._answer(request, source, site_id)
        attributes = {"source": source, "site_id": site_id, "outcome": reply.outcome}
        self._webhooks.add(1, attributes)
        self._latency.record(time.perf_counter() - started, attributes)
        headers = {}
        if reply.status in (429, 503):
            headers["Retry-After"] = "1"
        return web.json_response(reply.body(), status=reply.status, headers=headers)

    async def _answer(self, request: web.Request, source: str, site_id: str) -> WebhookReply:
        try:
            self._limits.admit(f"webhook:{source}", {site_id: 1})
        except ResourceExhausted as exc:
            return WebhookReply(429, "throttled", str(exc))
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return WebhookReply(413, "too_large", f"bodies are limited to {self._max_body} bytes")
        uri = self._public_url + request.path_qs if self._public_url else str(request.url)
        try:
            return await self._receive(
                WebhookRequest(source, site_id, request.method, uri, request.headers, body)
            )
        except Exception as exc:
            outage = outage_of(exc)
            if outage is None:
                log.exception("webhook failed", extra={"source": source, "site_id": site_id})
                return WebhookReply(500, "error", "internal error; the platform will retry")
            log.warning(
                "webhook waits for a dependency",
                extra={"dependency": outage.dependency, "reason": outage.reason},
            )
            return WebhookReply(
                503,
                "unavailable",
                f"{outage.dependency} is unavailable; retry in {OUTAGE_RETRY_AFTER:g} s",
            )
