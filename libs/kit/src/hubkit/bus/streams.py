"""convhub's JetStream topology, declared once; idempotent ensure_* for streams, consumers, KV."""

from __future__ import annotations

from dataclasses import dataclass, field

from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

DAY = 24 * 3600.0


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age: float = 7 * DAY
    # Long enough for a relay or publisher to restart and retry under the same Nats-Msg-Id.
    duplicate_window: float = 15 * 60.0
    retention: api.RetentionPolicy = api.RetentionPolicy.LIMITS


@dataclass(frozen=True)
class ConsumerSpec:
    stream: str
    durable: str
    filter_subjects: tuple[str, ...]
    ack_wait: float = 30.0
    max_deliver: int = -1  # never drop: dead-lettering is the application's decision
    max_ack_pending: int = 1000
    backoff: tuple[float, ...] = field(default=())


# Every subject family of events.proto lives in exactly one stream. The inbound subject
# `convhub.in.conversions.<site>` is deliberately NOT captured by a stream: ingest serves it as a
# core NATS queue subscription so a request gets its outcome (ACCEPTED = committed) as the reply.
CONVERSIONS = StreamSpec("CONVHUB_CONVERSIONS", ("convhub.conversions.>",))
ROUTED = StreamSpec("CONVHUB_ROUTED", ("convhub.routed.>",))
DISPATCH = StreamSpec("CONVHUB_DISPATCH", ("convhub.dispatch.>",))
DELIVERY = StreamSpec("CONVHUB_DELIVERY", ("convhub.delivery.>",))
DEADLETTER = StreamSpec("CONVHUB_DEADLETTER", ("convhub.deadletter.>",), max_age=30 * DAY)
TOUCHPOINTS = StreamSpec("CONVHUB_TOUCHPOINTS", ("convhub.touchpoints.>",))
ERASURES = StreamSpec("CONVHUB_ERASURES", ("convhub.erasures.>",), max_age=30 * DAY)
SITES = StreamSpec("CONVHUB_SITES", ("convhub.sites.>",), max_age=30 * DAY)
ALL_STREAMS = (CONVERSIONS, ROUTED, DISPATCH, DELIVERY, DEADLETTER, TOUCHPOINTS, ERASURES, SITES)

SITES_BUCKET = "convhub-sites"


def _stream_config(spec: StreamSpec) -> api.StreamConfig:
    return api.StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=spec.retention,
        max_age=spec.max_age,
        duplicate_window=spec.duplicate_window,
        storage=api.StorageType.FILE,
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> None:
    """Create the stream, or bring an existing one to the declared config.

    Services start concurrently: creating an identical stream twice succeeds, and one that
    exists with another config is updated instead.
    """
    config = _stream_config(spec)
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


async def ensure_streams(js: JetStreamContext, specs: tuple[StreamSpec, ...] = ALL_STREAMS) -> None:
    for spec in specs:
        await ensure_stream(js, spec)


async def ensure_consumer(js: JetStreamContext, spec: ConsumerSpec) -> None:
    """Create or update a durable pull consumer (the server treats same-name create as update)."""
    subjects = list(spec.filter_subjects)
    await js.add_consumer(
        spec.stream,
        api.ConsumerConfig(
            durable_name=spec.durable,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            ack_wait=spec.ack_wait,
            max_deliver=spec.max_deliver,
            max_ack_pending=spec.max_ack_pending,
            backoff=list(spec.backoff) or None,
            filter_subject=subjects[0] if len(subjects) == 1 else None,
            filter_subjects=subjects if len(subjects) > 1 else None,
        ),
    )


async def ensure_kv(js: JetStreamContext, bucket: str, *, history: int = 10) -> KeyValue:
    try:
        return await js.key_value(bucket)
    except (BucketNotFoundError, NotFoundError):
        return await js.create_key_value(api.KeyValueConfig(bucket=bucket, history=history))
