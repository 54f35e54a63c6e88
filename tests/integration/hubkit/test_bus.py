"""The bus kit against a real NATS JetStream server."""

from __future__ import annotations

import asyncio

import pytest
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from hubkit.bus import (
    ConsumerSpec,
    JetStreamPublisher,
    Nak,
    Outgoing,
    PublishError,
    PullConsumer,
    StreamSpec,
    Term,
    connect,
    ensure_consumer,
    ensure_kv,
    ensure_stream,
    ensure_streams,
)
from hubkit.resilience import Backoff
from hubkit.telemetry import extract_context
from tests.support import wait_for

STREAM = StreamSpec("TEST_EVENTS", ("test.events.>",))


async def settled(js: JetStreamContext, spec: ConsumerSpec) -> bool:
    """The server holds nothing more for the consumer: none pending, none awaiting an ack."""
    info = await js.consumer_info(spec.stream, spec.durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_declarations_are_idempotent(js: JetStreamContext) -> None:
    await ensure_streams(js)
    await ensure_streams(js)
    await ensure_kv(js, "test-kv")
    kv = await ensure_kv(js, "test-kv")
    await kv.put("k", b"v")
    assert (await kv.get("k")).value == b"v"
    names = {s.config.name for s in await js.streams_info()}
    assert {"CONVHUB_CONVERSIONS", "CONVHUB_DISPATCH", "KV_test-kv"} <= names


async def test_same_msg_id_twice_is_stored_once(js: JetStreamContext) -> None:
    await ensure_stream(js, STREAM)
    publisher = JetStreamPublisher(js)
    first = await publisher.publish(Outgoing("test.events.a", b"one", "id-1"))
    second = await publisher.publish(Outgoing("test.events.a", b"one again", "id-1"))
    third = await publisher.publish(Outgoing("test.events.a", b"two", "id-2"))
    assert not first.duplicate and second.duplicate
    assert second.seq == first.seq and third.seq == first.seq + 1
    assert (await js.stream_info(STREAM.name)).state.messages == 2


async def test_publish_without_stream_raises(js: JetStreamContext) -> None:
    with pytest.raises(PublishError):
        await JetStreamPublisher(js, timeout=0.5).publish(Outgoing("nowhere.x", b"x", "id"))
    with pytest.raises(ValueError):
        await JetStreamPublisher(js).publish(Outgoing("test.events.a", b"x", ""))


async def test_consumer_crash_before_ack_gets_message_again(nats_url: str, js: JetStreamContext):
    await ensure_stream(js, STREAM)
    spec = ConsumerSpec(STREAM.name, "crashy", ("test.events.>",), ack_wait=1.0)
    await JetStreamPublisher(js).publish(Outgoing("test.events.a", b"payload", "m-1"))

    # A first process takes the message and dies before acking it.
    doomed = await connect(nats_url, name="doomed")
    await ensure_consumer(doomed.jetstream(), spec)
    sub = await doomed.jetstream().pull_subscribe_bind(spec.durable, stream=spec.stream)
    (taken,) = await sub.fetch(1, timeout=2)
    assert taken.data == b"payload"
    await doomed.close()

    seen: list[tuple[bytes, int]] = []

    async def handler(msg):
        seen.append((msg.data, msg.metadata.num_delivered))

    consumer = PullConsumer(js, spec, handler, fetch_timeout=0.2)
    await consumer.start()
    await wait_for(lambda: seen)
    await consumer.stop()
    assert seen == [(b"payload", 2)]
    info = await js.consumer_info(spec.stream, spec.durable)
    assert info.num_ack_pending == 0 and info.num_pending == 0


async def test_outcomes_nak_term_and_exceptions(js: JetStreamContext) -> None:
    await ensure_stream(js, STREAM)
    publisher = JetStreamPublisher(js)
    for name in ("nak", "term", "boom"):
        await publisher.publish(Outgoing(f"test.events.{name}", name.encode(), name))
    deliveries: dict[str, int] = {}

    async def handler(msg):
        name = msg.data.decode()
        deliveries[name] = msg.metadata.num_delivered
        if name == "term":
            return Term("poison")
        if msg.metadata.num_delivered == 1:
            if name == "boom":
                raise RuntimeError("handler bug")
            return Nak(delay=0.1)
        return None

    spec = ConsumerSpec(STREAM.name, "outcomes", ("test.events.>",))
    consumer = PullConsumer(js, spec, handler, fetch_timeout=0.2, backoff=Backoff(schedule=(0.1,)))
    await consumer.start()
    await wait_for(lambda: deliveries.get("nak") == 2 and deliveries.get("boom") == 2)
    # Every message acknowledged or terminated: nothing the server could deliver again.
    await wait_for(lambda: settled(js, spec), what="the consumer settled")
    await consumer.stop()
    assert deliveries == {"nak": 2, "boom": 2, "term": 1}


async def test_slow_handler_is_kept_alive_not_redelivered(js: JetStreamContext) -> None:
    await ensure_stream(js, STREAM)
    await JetStreamPublisher(js).publish(Outgoing("test.events.slow", b"slow", "slow-1"))
    calls: list[int] = []

    async def handler(msg):
        calls.append(msg.metadata.num_delivered)
        await asyncio.sleep(2.5)  # longer than ack_wait: in_progress heartbeats keep it ours

    spec = ConsumerSpec(STREAM.name, "slow", ("test.events.>",), ack_wait=1.0)
    consumer = PullConsumer(js, spec, handler, fetch_timeout=0.2)
    await consumer.start()
    await wait_for(lambda: calls)
    await wait_for(lambda: settled(js, spec), what="the slow message acknowledged")
    info = await js.consumer_info(spec.stream, spec.durable)
    await consumer.stop()
    assert calls == [1]
    assert info.num_redelivered == 0  # the server never handed it out again


async def test_bounded_concurrency(js: JetStreamContext) -> None:
    await ensure_stream(js, STREAM)
    publisher = JetStreamPublisher(js)
    await publisher.publish_all(Outgoing("test.events.c", b"x", f"c-{i}") for i in range(40))
    running = peak = done = 0

    async def handler(msg):
        nonlocal running, peak, done
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        done += 1

    consumer = PullConsumer(
        js,
        ConsumerSpec(STREAM.name, "bounded", ("test.events.>",)),
        handler,
        concurrency=4,
        fetch_timeout=0.2,
    )
    await consumer.start()
    await wait_for(lambda: done == 40)
    await consumer.stop()
    assert peak == 4


async def test_trace_context_travels_in_headers(js: JetStreamContext) -> None:
    await ensure_stream(js, STREAM)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("producer") as span:
        await JetStreamPublisher(js).publish(Outgoing("test.events.t", b"t", "t-1"))
        sent_trace = span.get_span_context().trace_id
    sub = await js.pull_subscribe("test.events.t", "tracer", stream=STREAM.name)
    (msg,) = await sub.fetch(1, timeout=2)
    received = trace.get_current_span(extract_context(msg.headers)).get_span_context()
    assert received.trace_id == sent_trace
    assert msg.headers["Nats-Msg-Id"] == "t-1"
