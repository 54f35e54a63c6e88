"""Durable pull consumer: bounded concurrency, ack / nak(delay) / term, in-progress heartbeats.

A handler receives each message and returns what to do with it. It acknowledges only after its
outcome is durably recorded (that is the handler's job); an exception naks with backoff, so a
crash or a bug never loses a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from opentelemetry import trace

from hubkit.bus.streams import ConsumerSpec, ensure_consumer
from hubkit.resilience import Backoff
from hubkit.telemetry import extract_context
from hubkit.worker import Periodic

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hubkit.bus")


@dataclass(frozen=True)
class Ack:
    pass


@dataclass(frozen=True)
class Nak:
    delay: float | None = None


@dataclass(frozen=True)
class Term:
    reason: str


Outcome = Ack | Nak | Term
ACK = Ack()
Handler = Callable[[Msg], Awaitable[Outcome | None]]


class PullConsumer:
    """Fetches from one durable consumer; runs `handler` on up to `concurrency` messages at once."""

    def __init__(
        self,
        js: JetStreamContext,
        spec: ConsumerSpec,
        handler: Handler,
        *,
        concurrency: int = 8,
        fetch_batch: int = 32,
        fetch_timeout: float = 1.0,
        backoff: Backoff | None = None,
    ) -> None:
        self._js = js
        self.spec = spec
        self._handler = handler
        self._concurrency = concurrency
        self._fetch_batch = fetch_batch
        self._fetch_timeout = fetch_timeout
        self._backoff = backoff or Backoff()
        self._slots = asyncio.Semaphore(concurrency)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._sub: JetStreamContext.PullSubscription | None = None
        # Fetch after fetch; a failed fetch (a connection hiccup: nats-py reconnects) is retried
        # half a second later. A stop waits for the fetch in hand (it ends within fetch_timeout).
        self._loop = Periodic(
            f"consume:{spec.durable}",
            self._fetch_round,
            interval=0.0,
            backoff=Backoff(schedule=(0.5,), max_delay=0.5),
            stop_timeout=fetch_timeout + 5.0,
        )

    async def start(self) -> None:
        await ensure_consumer(self._js, self.spec)
        self._sub = await self._js.pull_subscribe_bind(self.spec.durable, stream=self.spec.stream)
        await self._loop.start()

    async def stop(self) -> None:
        """Stop fetching, then let in-flight messages finish (their acks still go out)."""
        await self._loop.stop()
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _fetch_round(self) -> None:
        assert self._sub is not None, "start() first"
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
            return
        try:
            msgs = await self._sub.fetch(min(free, self._fetch_batch), timeout=self._fetch_timeout)
        except (TimeoutError, NatsTimeoutError):
            return
        for msg in msgs:
            task = asyncio.create_task(self._process(msg))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _process(self, msg: Msg) -> None:
        heartbeat = asyncio.create_task(self._keep_alive(msg))
        try:
            with tracer.start_as_current_span(
                f"consume {msg.subject}",
                context=extract_context(msg.headers),
                kind=trace.SpanKind.CONSUMER,
            ):
                outcome = await self._handle(msg)
        finally:
            heartbeat.cancel()
        try:
            if isinstance(outcome, Term):
                log.warning("terminating message on %s: %s", msg.subject, outcome.reason)
                await msg.term()
            elif isinstance(outcome, Nak):
                await msg.nak(delay=outcome.delay)
            else:
                await msg.ack()
        except Exception as exc:  # the ack was lost: redelivery follows, handlers are idempotent
            log.warning("could not settle message on %s: %r", msg.subject, exc)

    async def _handle(self, msg: Msg) -> Outcome:
        try:
            return await self._handler(msg) or ACK
        except Exception:
            attempt = msg.metadata.num_delivered or 1
            log.exception("handler failed on %s (delivery %d)", msg.subject, attempt)
            return Nak(self._backoff.delay(attempt))

    async def _keep_alive(self, msg: Msg) -> None:
        """Tell the server we are still working so a slow handler is not redelivered meanwhile."""
        interval = max(self.spec.ack_wait / 3, 0.5)
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                await msg.in_progress()
