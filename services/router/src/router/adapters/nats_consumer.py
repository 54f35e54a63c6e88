"""Drives routing from `convhub.conversions.accepted.<site>`: decode, route, then ack.

The message is acknowledged only after the routing transaction committed (PullConsumer acks
when this handler returns). Undecodable messages are terminated; items that cannot be routed
are logged by id and skipped, never taking their neighbours down.
"""

from __future__ import annotations

import logging

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from opentelemetry import trace

from convhub.events.v1 import events_pb2 as events
from hubkit.bus import ACK, ConsumerSpec, Handler, Outcome, Term
from hubkit.bus.streams import CONVERSIONS
from hubkit.naming import is_site_id
from hubkit.telemetry import context_from_traceparent
from router.adapters import mappers
from router.app.routing import Router
from router.domain.routing import Conversion
from router.ports import Metrics

log = logging.getLogger(__name__)
tracer = trace.get_tracer("router.routing")

DURABLE = "router"
SUBJECT_PREFIX = "convhub.conversions.accepted."
# From this delivery on, items are routed one by one: one that keeps failing is isolated and
# retried on its own while its neighbours go ahead.
ISOLATE_FROM_DELIVERY = 4
_MAX_LINKS = 128


def consumer_spec(ack_wait: float = 30.0, max_ack_pending: int = 256) -> ConsumerSpec:
    return ConsumerSpec(
        stream=CONVERSIONS.name,
        durable=DURABLE,
        filter_subjects=(SUBJECT_PREFIX + ">",),
        ack_wait=ack_wait,
        max_ack_pending=max_ack_pending,
    )


def make_handler(router: Router, metrics: Metrics) -> Handler:
    async def handle(msg: Msg) -> Outcome:
        subject_site = msg.subject.removeprefix(SUBJECT_PREFIX)
        try:
            batch = events.ConversionAcceptedBatch.FromString(msg.data)
        except DecodeError:
            metrics.rejected_items("undecodable", 1)
            log.error(
                "undecodable ConversionAcceptedBatch on %s (%d bytes): terminated",
                msg.subject,
                len(msg.data),
            )
            return Term("undecodable ConversionAcceptedBatch")
        site_id = batch.site_id or subject_site
        if not is_site_id(site_id):
            metrics.rejected_items("bad_site_id", len(batch.items))
            log.error("batch on %s names no valid site: terminated", msg.subject)
            return Term("no valid site id")
        if site_id != subject_site:
            log.warning(
                "batch for site %s arrived on %s; routing it as %s", site_id, msg.subject, site_id
            )
        conversions, bad = mappers.conversions_from_batch(batch, site_id)
        for item, reason in bad:
            log.error(
                "unroutable item %s of site %s skipped: %s",
                item,
                site_id,
                reason,
                extra={"fields": {"site_id": site_id, "item": item, "reason": reason}},
            )
        if bad:
            metrics.rejected_items("bad_item", len(bad))
        if not conversions:
            return ACK
        links = [
            trace.Link(
                trace.get_current_span(
                    context_from_traceparent(c.trace.traceparent)
                ).get_span_context()
            )
            for c in conversions[:_MAX_LINKS]
            if c.trace.traceparent
        ]
        with tracer.start_as_current_span(f"route {site_id}", links=links) as span:
            span.set_attribute("convhub.batch_size", len(conversions))
            if _delivery_count(msg) >= ISOLATE_FROM_DELIVERY and len(conversions) > 1:
                await _route_one_by_one(router, site_id, conversions)
            else:
                await router.route(site_id, conversions)
        return ACK

    return handle


def _delivery_count(msg: Msg) -> int:
    try:
        return int(msg.metadata.num_delivered or 1)
    except Exception:  # not a JetStream message (tests, core NATS)
        return 1


async def _route_one_by_one(router: Router, site_id: str, conversions: list[Conversion]) -> None:
    failed = []
    for conversion in conversions:
        try:
            await router.route(site_id, [conversion])
        except Exception:
            log.exception(
                "routing conversion %s of site %s failed again",
                conversion.conversion_id,
                site_id,
                extra={"fields": {"conversion_id": conversion.conversion_id, "site_id": site_id}},
            )
            failed.append(conversion.conversion_id)
    if failed:  # retried later (nak with backoff), never dropped; the others are recorded
        raise RuntimeError(f"{len(failed)} conversion(s) of site {site_id} could not be routed")
