"""Transactional outbox: messages staged in the same transaction as the state they announce, and the
relay that publishes them to JetStream.

A row is deleted only after its PubAck, and is always republished under the same Nats-Msg-Id, so
a crash at any point yields at most a duplicate publish that the stream drops.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry import trace
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    LargeBinary,
    MetaData,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hubkit.bus.publisher import EventPublisher, Outgoing, PublishError
from hubkit.resilience import Backoff
from hubkit.telemetry import extract_context, inject_headers
from hubkit.worker import Periodic

tracer = trace.get_tracer("hubkit.db.outbox")


def _columns() -> list[Column[Any]]:
    return [
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("subject", Text, nullable=False),
        Column("msg_id", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


def outbox_table(metadata: MetaData, schema: str) -> Table:
    return Table("outbox", metadata, *_columns(), schema=schema)


def create_outbox_table(schema: str) -> None:
    """For a service's Alembic migration: `create_outbox_table(SCHEMA)` inside upgrade()."""
    from alembic import op

    op.create_table("outbox", *_columns(), schema=schema)


async def stage(session: AsyncSession, table: Table, messages: Iterable[Outgoing]) -> int:
    """Add messages to the outbox inside the caller's transaction (one multi-row INSERT)."""
    rows = []
    for m in messages:
        payload = m.payload if isinstance(m.payload, bytes) else m.payload.SerializeToString()
        rows.append(
            {
                "subject": m.subject,
                "msg_id": m.msg_id,
                "payload": payload,
                "headers": inject_headers(dict(m.headers)),
            }
        )
    if rows:
        await session.execute(insert(table), rows)
    return len(rows)


class OutboxRelay:
    """Publishes outbox rows in id order, batch by batch; competing relays skip each other's."""

    def __init__(
        self,
        engine: AsyncEngine,
        table: Table,
        publisher: EventPublisher,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.5,
        backoff: Backoff | None = None,
        stop_timeout: float = 10.0,
    ) -> None:
        self._engine = engine
        self._table = table
        self._publisher = publisher
        self._batch_size = batch_size
        # stop() lets the batch in hand finish; a batch cut short leaves its rows for the next.
        self._loop = Periodic(
            "outbox-relay",
            self._round,
            interval=poll_interval,
            backoff=backoff or Backoff(schedule=(0.1, 0.25, 0.5, 1, 2, 5), max_delay=5),
            stop_timeout=stop_timeout,
        )
        self.published = 0

    def notify(self) -> None:
        """Called after a commit that staged rows, so they go out without waiting for the poll."""
        self._loop.wake()

    async def relay_once(self) -> int:
        t = self._table
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(t.c.id, t.c.subject, t.c.msg_id, t.c.payload, t.c.headers)
                    .order_by(t.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            # One PRODUCER span per message, a child of the work that staged it, so a trace
            # shows how long a message waited in the outbox; consumers continue under it.
            spans = [
                tracer.start_span(
                    f"relay {r.subject}",
                    context=extract_context(r.headers),
                    kind=trace.SpanKind.PRODUCER,
                    attributes={"messaging.destination.name": r.subject},
                )
                for r in rows
            ]
            errors = await self._publisher.publish_each(
                Outgoing(
                    r.subject,
                    bytes(r.payload),
                    r.msg_id,
                    inject_headers(r.headers, trace.set_span_in_context(span)),
                )
                for r, span in zip(rows, spans, strict=True)
            )
            for span, error in zip(spans, errors, strict=True):
                if error is not None:
                    span.set_status(trace.Status(trace.StatusCode.ERROR, type(error).__name__))
                span.end()
            # Acknowledged rows go; the others stay for the next round, so one message the
            # stream refuses never holds back the rest.
            done = [r.id for r, error in zip(rows, errors, strict=True) if error is None]
            if done:
                await conn.execute(delete(t).where(t.c.id.in_(done)))
        self.published += len(done)
        failed = [(r, e) for r, e in zip(rows, errors, strict=True) if e is not None]
        if failed:
            row, error = failed[0]
            raise PublishError(
                f"{len(failed)} of {len(rows)} outbox rows not published "
                f"(first: {row.subject} {row.msg_id}: {error!r})"
            )
        return len(rows)

    async def _round(self) -> float | None:
        # NATS or Postgres away: relay_once raises, the rows stay and the loop backs off.
        full = await self.relay_once() >= self._batch_size
        return 0.0 if full else None  # a full batch: more are waiting

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        """Finish the batch in hand; what is left stays in the outbox for the next relay."""
        await self._loop.stop()
