"""Drives erasure from `convhub.erasures.<site>`: each UserErased item's conversions forgotten."""

from __future__ import annotations

import logging

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg

from convhub.events.v1 import events_pb2 as events
from hubkit.bus import ACK, ConsumerSpec, Handler, Outcome, Term
from hubkit.bus.streams import ERASURES
from router.app.erasure import Eraser

log = logging.getLogger(__name__)

DURABLE = "router-erasures"
SUBJECT_PREFIX = "convhub.erasures."


def erasure_consumer_spec() -> ConsumerSpec:
    return ConsumerSpec(
        stream=ERASURES.name, durable=DURABLE, filter_subjects=(SUBJECT_PREFIX + ">",)
    )


def make_erasure_handler(eraser: Eraser) -> Handler:
    async def handle(msg: Msg) -> Outcome:
        try:
            batch = events.UserErasedBatch.FromString(msg.data)
        except DecodeError:
            log.error("undecodable UserErasedBatch on %s: terminated", msg.subject)
            return Term("undecodable UserErasedBatch")
        site_id = batch.site_id or msg.subject.removeprefix(SUBJECT_PREFIX)
        ids = sorted({cid for item in batch.items for cid in item.conversion_ids if cid})
        await eraser.erase(site_id, ids)  # an exception naks: erasure is retried, never skipped
        return ACK

    return handle
