"""NATS JetStream bus: topology, publisher (Nats-Msg-Id, PubAck, trace context), pull consumers."""

import nats
from nats.aio.client import Client

from hubkit.bus.consumer import ACK, Ack, Handler, Nak, Outcome, PullConsumer, Term
from hubkit.bus.publisher import EventPublisher, JetStreamPublisher, Outgoing, PublishError
from hubkit.bus.streams import (
    ALL_STREAMS,
    SITES_BUCKET,
    ConsumerSpec,
    StreamSpec,
    ensure_consumer,
    ensure_kv,
    ensure_stream,
    ensure_streams,
)

__all__ = [
    "ACK",
    "ALL_STREAMS",
    "SITES_BUCKET",
    "Ack",
    "ConsumerSpec",
    "EventPublisher",
    "Handler",
    "JetStreamPublisher",
    "Nak",
    "Outcome",
    "Outgoing",
    "PublishError",
    "PullConsumer",
    "StreamSpec",
    "Term",
    "connect",
    "ensure_consumer",
    "ensure_kv",
    "ensure_stream",
    "ensure_streams",
]


async def connect(url: str, *, name: str) -> Client:
    """Connect with reconnects forever: a NATS restart must never take a service down."""
    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        allow_reconnect=True,
        connect_timeout=5,
    )
