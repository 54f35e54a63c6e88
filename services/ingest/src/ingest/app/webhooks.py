"""The ReceiveWebhook use case: verify a shop's or CRM's webhook, then ingest what it reports
exactly once, through the same IngestConversions as gRPC and NATS."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hubkit.errors import FieldError, InvalidArgument
from ingest.app.ingestion import Ingest
from ingest.domain import hubspot, shopify, signatures, woocommerce
from ingest.domain.model import ConversionInput, SitePolicy, Status
from ingest.domain.sources import HUBSPOT, SOURCES, Mapped, NotAConversion, Unreadable
from ingest.ports import (
    Delivery,
    Erasure,
    Secrets,
    SecretUnavailable,
    SitePolicies,
    SourceLedger,
)

log = logging.getLogger(__name__)

# WooCommerce pings a new webhook's URL with this form body and no signature.
_WOO_PING = re.compile(rb"webhook_id=\d{1,20}")
_COMMITTED = frozenset({"accepted", "duplicate", "pending"})
# EraseUser: one of email, phone, external_id per call.
Erase = Callable[..., Awaitable[Erasure]]


@dataclass(frozen=True)
class WebhookRequest:
    source: str  # shopify, woocommerce, hubspot (the URL's path segment)
    site_id: str
    method: str
    uri: str  # the full URL the platform called (HubSpot signs it)
    headers: Mapping[str, str]  # case-insensitive
    body: bytes


@dataclass(frozen=True)
class WebhookReply:
    status: int
    outcome: str
    message: str = ""
    conversion_id: str = ""
    errors: tuple[FieldError, ...] = ()
    warnings: tuple[FieldError, ...] = ()

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"outcome": self.outcome}
        if self.message:
            out["message"] = self.message
        if self.conversion_id:
            out["conversion_id"] = self.conversion_id
        for name, problems in (("errors", self.errors), ("warnings", self.warnings)):
            if problems:
                out[name] = [
                    {"field": e.field, "code": e.code, "message": e.message} for e in problems
                ]
        return out


def _committed(outcome: str, conversion_id: str = "", message: str = "") -> WebhookReply:
    # 202 only once what the webhook reported is committed; 200 acknowledges the rest.
    return WebhookReply(
        202 if outcome in _COMMITTED else 200, outcome, message, conversion_id=conversion_id
    )


class ReceiveWebhook:
    def __init__(
        self,
        ingest: Ingest,
        policies: SitePolicies,
        secrets: Secrets,
        ledger: SourceLedger,
        *,
        clock: Callable[[], datetime],
        erase: Erase | None = None,
        on_pending: Callable[[], None] = lambda: None,
    ) -> None:
        self._erase = erase  # Shopify's customers/redact
        self._ingest = ingest
        self._policies = policies
        self._secrets = secrets
        self._ledger = ledger
        self._clock = clock
        self._on_pending = on_pending  # wakes the HubSpot deal reader

    async def __call__(self, request: WebhookRequest) -> WebhookReply:
        source = SOURCES.get(request.source)
        if source is None:
            return WebhookReply(404, "unknown_source", f"no webhook source {request.source!r}")
        policy = self._policies.get(request.site_id)
        secret_ref = policy.sources.webhook_secret_ref(request.source)
        if not secret_ref:
            return WebhookReply(
                404, "not_configured", f"site {request.site_id!r} has no {request.source} source"
            )
        if request.source == "woocommerce" and _is_woo_ping(request):
            return WebhookReply(200, "ping", "WooCommerce ping acknowledged")
        try:
            secret = self._secrets.read(secret_ref)
        except SecretUnavailable as exc:
            # Ours to fix: the platform keeps retrying until the secret is in place.
            log.error(
                "webhook secret unavailable", extra={"site_id": request.site_id, "error": str(exc)}
            )
            return WebhookReply(503, "unavailable", "the webhook secret is not available yet")
        problem = self._verify(request, policy, secret)
        if problem:
            await self._ledger.refused(request.site_id, source, self._clock())
            log.warning(
                "webhook refused",
                extra={"site_id": request.site_id, "source": request.source, "reason": problem},
            )
            return WebhookReply(401, "refused", problem)
        try:
            payload = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            payload = None
        if request.source == "hubspot":
            return await self._hubspot(request.site_id, policy, payload)
        return await self._order(request, source, policy, payload)

    def _verify(self, request: WebhookRequest, policy: SitePolicy, secret: str) -> str | None:
        h = request.headers
        if request.source == "shopify":
            problem = signatures.body_hmac(
                secret, request.body, h.get("X-Shopify-Hmac-Sha256"), "X-Shopify-Hmac-Sha256"
            )
            domain = policy.sources.shopify.shop_domain
            if not problem and domain and h.get("X-Shopify-Shop-Domain", "").lower() != domain:
                problem = "X-Shopify-Shop-Domain is not this site's shop"
            return problem
        if request.source == "woocommerce":
            return signatures.body_hmac(
                secret, request.body, h.get("X-WC-Webhook-Signature"), "X-WC-Webhook-Signature"
            )
        return signatures.hubspot_v3(
            secret,
            method=request.method,
            uri=request.uri,
            body=request.body,
            signature=h.get("X-HubSpot-Signature-v3"),
            timestamp=h.get("X-HubSpot-Request-Timestamp"),
            now=self._clock(),
        )

    async def _order(
        self, request: WebhookRequest, source: str, policy: SitePolicy, payload: object
    ) -> WebhookReply:
        site_id, h = request.site_id, request.headers
        delivery_id = (
            h.get("X-Shopify-Webhook-Id") or h.get("X-Shopify-Event-Id")
            if request.source == "shopify"
            else h.get("X-WC-Webhook-Delivery-ID")
        ) or "sha256:" + hashlib.sha256(request.body).hexdigest()  # a retry repeats the body
        seen = await self._ledger.delivery(site_id, source, delivery_id)
        if seen is not None:
            return _committed(
                seen.outcome, seen.conversion_id, "a retry of a delivery already handled"
            )
        topic = h.get("X-Shopify-Topic") or h.get("X-WC-Webhook-Topic") or ""
        mapped: Mapped
        if not isinstance(payload, dict):
            mapped = Unreadable((FieldError("body", "INVALID_FORMAT", "not a JSON object"),))
        elif request.source == "shopify":
            mapped = (
                shopify.order_to_conversion(site_id, payload, h.get("X-Shopify-Shop-Domain", ""))
                if topic.startswith("orders/")
                else NotAConversion(f"topic {topic or 'missing'} reports no order")
            )
        else:
            mapped = (
                woocommerce.order_to_conversion(
                    site_id,
                    payload,
                    policy.sources.woocommerce,
                    h.get("X-WC-Webhook-Source", ""),
                )
                if topic.startswith("order.")
                else NotAConversion(f"topic {topic or 'missing'} reports no order")
            )
        if (
            request.source == "shopify"
            and topic == "customers/redact"
            and isinstance(payload, dict)
        ):
            reply = await self._redact(site_id, payload)
        else:
            reply = await self._ingest_mapped(site_id, source, mapped)
        await self._ledger.record(
            site_id,
            source,
            {delivery_id: Delivery(reply.outcome, reply.conversion_id)},
            self._clock(),
        )
        return reply

    async def _redact(self, site_id: str, payload: dict[str, Any]) -> WebhookReply:
        """Shopify's mandatory customers/redact: the customer's conversions are erased by each
        identifier Shopify names (email, phone, and the customer id, which the order mapping
        keeps as external_id), as EraseUser does."""
        if self._erase is None:
            return WebhookReply(200, "ignored", "erasure is not wired here")
        identifiers = shopify.redact_identifiers(payload)
        erased: set[str] = set()
        for name, value in identifiers.items():
            try:
                done = await self._erase(site_id, **{name: value})
            except InvalidArgument:  # not a usable email or phone: nothing stored under it
                continue
            erased.update(done.conversion_ids)
        return WebhookReply(
            200,
            "erased",
            f"{len(erased)} conversion(s) erased by {', '.join(sorted(identifiers)) or 'nothing'}",
        )

    async def _ingest_mapped(self, site_id: str, source: str, mapped: Mapped) -> WebhookReply:
        if isinstance(mapped, NotAConversion):
            return WebhookReply(200, "ignored", mapped.reason)
        if isinstance(mapped, Unreadable):
            return WebhookReply(
                200, "rejected", "the payload is not readable", errors=mapped.errors
            )
        results = await ingest_from_source(self._ingest, self._ledger, site_id, source, [mapped])
        return results[mapped.source_ref]

    async def _hubspot(self, site_id: str, policy: SitePolicy, payload: object) -> WebhookReply:
        if not isinstance(payload, list):
            return WebhookReply(
                200,
                "rejected",
                "the payload is not readable",
                errors=(FieldError("body", "INVALID_FORMAT", "not a JSON array of events"),),
            )
        try:
            events, ignored = hubspot.deal_events(payload, policy.sources.hubspot)
        except hubspot.WrongAccount as exc:
            await self._ledger.refused(site_id, HUBSPOT, self._clock())
            return WebhookReply(403, "refused", f"{exc}, not this site's account")
        new = await self._ledger.add_pending(site_id, events, self._clock())
        if new:
            self._on_pending()
        return WebhookReply(
            202 if events else 200,
            "pending" if events else "ignored",
            f"{len(new)} deal event(s) queued, {len(events) - len(new)} already seen, "
            f"{ignored} not about a won deal",
        )


async def ingest_from_source(
    ingest: Ingest,
    ledger: SourceLedger,
    site_id: str,
    source: str,
    conversions: list[ConversionInput],
) -> dict[str, WebhookReply]:
    """Ingest what a source reported, each object (order, deal) once for good: an object it
    reported before is a duplicate of what it became. Keyed by the object's reference."""
    known = await ledger.known_objects(site_id, source, [c.source_ref for c in conversions])
    replies = {
        ref: _committed("duplicate", conversion_id, "reported before")
        for ref, conversion_id in known.items()
    }
    fresh = [c for c in conversions if c.source_ref not in known]
    if fresh:
        for c, o in zip(fresh, await ingest(fresh), strict=True):
            if o.status is Status.ACCEPTED:
                replies[c.source_ref] = WebhookReply(
                    202, "accepted", conversion_id=o.conversion_id, warnings=o.warnings
                )
            elif o.status is Status.DUPLICATE:
                replies[c.source_ref] = _committed("duplicate", o.duplicate_of)
            else:
                replies[c.source_ref] = WebhookReply(
                    200, "rejected", "not a valid conversion", errors=o.errors
                )
    return replies


def _is_woo_ping(request: WebhookRequest) -> bool:
    return not request.headers.get("X-WC-Webhook-Signature") and bool(
        _WOO_PING.fullmatch(request.body.strip())
    )
