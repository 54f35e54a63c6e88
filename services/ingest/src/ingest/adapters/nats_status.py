"""Consumers of the router's decisions and the dispatchers' delivery updates (status tracking)."""

from __future__ import annotations

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from convhub.events.v1 import events_pb2
from hubkit.bus import ConsumerSpec, Outcome, PullConsumer, Term
from hubkit.bus.streams import DELIVERY, ROUTED
from ingest.adapters.sql_status import SqlStatusStore


def status_consumers(js: JetStreamContext, store: SqlStatusStore) -> list[PullConsumer]:
    async def on_routed(msg: Msg) -> Outcome | None:
        try:
            batch = events_pb2.ConversionRoutedBatch.FromString(msg.data)
        except DecodeError:
            return Term("undecodable ConversionRoutedBatch")
        await store.record_routed(batch.items)  # acked only after this commits
        return None

    async def on_delivery(msg: Msg) -> Outcome | None:
        try:
            batch = events_pb2.DeliveryUpdatedBatch.FromString(msg.data)
        except DecodeError:
            return Term("undecodable DeliveryUpdatedBatch")
        await store.record_deliveries(batch.items)
        return None

    return [
        PullConsumer(
            js,
            ConsumerSpec(ROUTED.name, "ingest-routed", ("convhub.routed.>",)),
            on_routed,
            concurrency=4,
        ),
        PullConsumer(
            js,
            ConsumerSpec(DELIVERY.name, "ingest-delivery", ("convhub.delivery.>",)),
            on_delivery,
            concurrency=4,
        ),
    ]
