"""Attribution's inputs on NATS: accepted conversions, touchpoints, erasures."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from attribution.adapters.sql_store import SqlAttributionStore
from attribution.app.attribute import Attribute, stored_conversion
from attribution.app.touchpoints import check
from convhub.events.v1 import events_pb2
from hubkit.bus import ConsumerSpec, Outcome, PullConsumer, Term
from hubkit.bus.streams import CONVERSIONS, ERASURES, TOUCHPOINTS

log = logging.getLogger(__name__)


def consumers(
    js: JetStreamContext,
    store: SqlAttributionStore,
    attribute: Attribute,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[PullConsumer]:
    async def on_accepted(msg: Msg) -> Outcome | None:
        try:
            batch = events_pb2.ConversionAcceptedBatch.FromString(msg.data)
        except DecodeError:
            return Term("undecodable ConversionAcceptedBatch")
        found = [stored_conversion(item.conversion) for item in batch.items]
        await attribute.accepted([c for c in found if c is not None])  # acked once stored
        return None

    async def on_touchpoints(msg: Msg) -> Outcome | None:
        try:
            batch = events_pb2.TouchpointRecordedBatch.FromString(msg.data)
        except DecodeError:
            return Term("undecodable TouchpointRecordedBatch")
        now = clock()
        good, bad = [], 0
        for item in batch.items:
            checked = check(item.touchpoint, batch.site_id, now)
            if isinstance(checked, list):
                bad += 1
            else:
                good.append(checked)
        if bad:
            log.warning("%d touchpoint(s) of %s refused (field errors)", bad, batch.site_id)
        await store.record_touchpoints(good)
        return None

    async def on_erased(msg: Msg) -> Outcome | None:
        try:
            batch = events_pb2.UserErasedBatch.FromString(msg.data)
        except DecodeError:
            return Term("undecodable UserErasedBatch")
        for item in batch.items:
            keys = [*item.hashed_emails, *item.hashed_phones, item.hashed_external_id]
            await store.erase(
                batch.site_id,
                list(item.conversion_ids),
                list(item.visitor_ids),
                [k for k in keys if k],
            )
        return None

    return [
        PullConsumer(
            js,
            ConsumerSpec(
                CONVERSIONS.name, "attribution-conversions", ("convhub.conversions.accepted.>",)
            ),
            on_accepted,
            concurrency=2,
        ),
        PullConsumer(
            js,
            ConsumerSpec(TOUCHPOINTS.name, "attribution-touchpoints", ("convhub.touchpoints.>",)),
            on_touchpoints,
            concurrency=2,
        ),
        PullConsumer(
            js,
            ConsumerSpec(ERASURES.name, "attribution-erasures", ("convhub.erasures.>",)),
            on_erased,
            concurrency=1,
        ),
    ]
