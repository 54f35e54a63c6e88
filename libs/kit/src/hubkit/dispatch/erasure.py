"""Consumer of convhub.erasures.>: an erased person's conversions leave the dispatcher's ledger.

One transaction per message: unsent deliveries failed as "erased" (announced by DeliveryUpdated
through the outbox), stored requests stripped of personal data, then the ack. A redelivery
finds nothing left to do. A database error naks: an erasure is retried, never skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.events.v1 import events_pb2
from hubkit.bus.consumer import ACK, Outcome, Term
from hubkit.bus.streams import ERASURES, ConsumerSpec
from hubkit.db.outbox import stage
from hubkit.dispatch import events as messages
from hubkit.dispatch.ledger import LedgerUnitOfWork
from hubkit.dispatch.model import Platform
from hubkit.dispatch.tables import LedgerTables

log = logging.getLogger(__name__)


def erasure_consumer_spec(durable: str, *, ack_wait: float = 30.0) -> ConsumerSpec:
    """The dispatcher's own durable on ERASURES: every dispatcher sees every erasure."""
    return ConsumerSpec(
        stream=ERASURES.name,
        durable=f"{durable}-erasures",
        filter_subjects=("convhub.erasures.>",),
        ack_wait=ack_wait,
        max_ack_pending=100,
    )


class ErasureIntake:
    """The PullConsumer handler for UserErasedBatch messages."""

    def __init__(
        self,
        platform: Platform,
        engine: AsyncEngine,
        tables: LedgerTables,
        *,
        on_staged: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._platform = platform
        self._engine = engine
        self._tables = tables
        self._on_staged = on_staged
        self._clock = clock

    async def __call__(self, msg: Msg) -> Outcome:
        try:
            batch = events_pb2.UserErasedBatch.FromString(msg.data)
        except DecodeError:
            log.error("undecodable UserErasedBatch on %s: terminated", msg.subject)
            return Term("not a UserErasedBatch")
        ids = sorted({c for item in batch.items for c in item.conversion_ids if c})
        if not ids:
            return ACK
        async with LedgerUnitOfWork(self._engine, self._tables) as uow:
            changes = await uow.ledger.erase(ids)
            outgoing = messages.delivery_updates(self._platform, changes, now=self._clock())
            await stage(uow.session, self._tables.outbox, outgoing)
            await uow.commit()
        if outgoing:
            self._on_staged()
        # Counts only: ids of an erased person are not worth a log line.
        log.info(
            "erasure: %d conversion(s), %d unsent delivery(ies) failed", len(ids), len(changes)
        )
        return ACK
