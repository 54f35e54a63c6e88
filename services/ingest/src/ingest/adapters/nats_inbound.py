"""The inbound NATS subject `convhub.in.conversions.<site_id>`: same effect as IngestBatch.

A core NATS queue subscription, not a stream: a request gets its outcome as the reply, and
ACCEPTED means committed. Senders that need the guarantee use request/reply and retry on
timeout (dedupe makes the retry safe); fire-and-forget messages are processed and counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from google.protobuf.message import DecodeError
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from convhub.ingest.v1 import ingest_pb2
from hubkit.errors import DomainError, ResourceExhausted
from hubkit.naming import SITE_ID_RULE, is_site_id
from ingest.adapters import mappers
from ingest.app.admission import RateLimits
from ingest.app.ingestion import IngestConversions

SUBJECT = "convhub.in.conversions.*"
QUEUE = "ingest"
log = logging.getLogger(__name__)


class NatsInbound:
    def __init__(
        self,
        nc: Client,
        ingest: IngestConversions,
        limits: RateLimits,
        *,
        max_batch: int,
        concurrency: int,
    ) -> None:
        self._nc = nc
        self._ingest = ingest
        self._limits = limits
        self._max_batch = max_batch
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._sub: Subscription | None = None
        self.handled: Counter[str] = Counter()

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(SUBJECT, queue=QUEUE, cb=self._on_message)

    async def stop(self) -> None:
        """Stop taking messages, finish the ones in hand (their replies still go out)."""
        if self._sub is not None:
            await self._sub.unsubscribe()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _on_message(self, msg: Msg) -> None:
        await self._slots.acquire()  # backpressure: the subscription buffers meanwhile
        task = asyncio.create_task(self._handle(msg))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _handle(self, msg: Msg) -> None:
        site_id = msg.subject.rsplit(".", 1)[-1]
        if not is_site_id(site_id):
            await self._fail(
                msg, "INVALID_ARGUMENT", f"the subject's site id must be {SITE_ID_RULE}"
            )
            return
        try:
            batch = events_pb2.InboundConversionBatch.FromString(msg.data)
        except DecodeError:
            await self._fail(msg, "INVALID_ARGUMENT", "payload is not an InboundConversionBatch")
            return
        if not 1 <= len(batch.items) <= self._max_batch:
            await self._fail(
                msg, "INVALID_ARGUMENT", f"a batch holds 1 to {self._max_batch} conversions"
            )
            return
        if not self._limits.fits(len(batch.items)):  # would wait forever for tokens
            await self._fail(msg, "RESOURCE_EXHAUSTED", "the batch exceeds the site's burst limit")
            return
        conversions = [item.conversion for item in batch.items]
        for c in conversions:
            c.site_id = c.site_id or site_id
        try:
            await self._admit(msg, site_id, len(conversions))
            outcomes = await self._ingest(
                [mappers.conversion_input(c) for c in conversions if c.site_id == site_id]
            )
        except ResourceExhausted as exc:
            await self._fail(
                msg, "RESOURCE_EXHAUSTED", exc.message, retry_after_ms=int(exc.retry_after * 1000)
            )
            return
        except DomainError as exc:
            await self._fail(msg, type(exc).__name__, exc.message)
            return
        except Exception:
            log.exception("inbound batch for site %s failed", site_id)
            await self._fail(msg, "UNAVAILABLE", "ingest could not store the batch; retry")
            return
        results = iter(mappers.ingest_response(o) for o in outcomes)
        response = ingest_pb2.IngestBatchResponse(
            results=[
                next(results) if c.site_id == site_id else _site_mismatch() for c in conversions
            ]
        )
        self.handled["ok"] += 1
        if msg.reply:
            await msg.respond(response.SerializeToString())

    async def _admit(self, msg: Msg, site_id: str, n: int) -> None:
        """Requests get RESOURCE_EXHAUSTED; fire-and-forget messages wait their turn instead,
        since their sender would never learn they were refused."""
        while True:
            try:
                self._limits.admit("nats", {site_id: n})
                return
            except ResourceExhausted as exc:
                if msg.reply:
                    raise
                await asyncio.sleep(exc.retry_after)

    async def _fail(self, msg: Msg, status: str, message: str, retry_after_ms: int = 0) -> None:
        self.handled[status] += 1
        log.warning("inbound message refused: %s %s", status, message)
        if msg.reply:
            headers = {"Convhub-Status": status, "Convhub-Error": message}
            if retry_after_ms:
                headers["Retry-After-Ms"] = str(retry_after_ms)
            await self._nc.publish(msg.reply, b"", headers=headers)


def _site_mismatch() -> ingest_pb2.IngestResponse:
    return ingest_pb2.IngestResponse(
        status=ingest_pb2.INGEST_STATUS_REJECTED,
        errors=[
            common_pb2.FieldError(
                field="site_id",
                code="SITE_MISMATCH",
                message="site_id differs from the subject's site",
            )
        ],
    )
