"""Intake of convhub.dispatch.<platform>.>: each item recorded in the ledger, then the ack.

Idempotent per item: the ledger's delivery_id key makes a redelivered message a no-op. Items the
platform cannot take (too old, incomplete, unusable configuration) are failed here, before they
could poison a batch. An adapter that maps at intake (`ports.AdmitsAtIntake`) has each event's
bytes kept with its delivery: they are what its sends carry, mapped once. Acks only after the
ledger commit.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp
from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.events.v1 import events_pb2
from hubkit import matchkeys, naming
from hubkit.bus.consumer import ACK, Outcome, Term
from hubkit.bus.streams import DISPATCH, ConsumerSpec
from hubkit.db.outbox import stage
from hubkit.dispatch import events as messages
from hubkit.dispatch.ledger import LedgerUnitOfWork, NewDelivery
from hubkit.dispatch.metrics import DispatchMetrics
from hubkit.dispatch.model import MISROUTED, UNREADABLE, ErrorClass, Lane, PlatformError
from hubkit.dispatch.ports import AdmitsAtIntake, PlatformAdapter
from hubkit.dispatch.tables import LedgerTables

log = logging.getLogger(__name__)

# Failed at intake and never replayable (model.UNREPLAYABLE): sending them cannot succeed.
_MISROUTED = PlatformError(ErrorClass.CONFIG, MISROUTED, "dispatch request for another platform")
_UNREADABLE = PlatformError(ErrorClass.BAD_INPUT, UNREADABLE, "unusable dispatch destination")


def consumer_spec(durable: str, platform: str, *, ack_wait: float = 30.0) -> ConsumerSpec:
    """The durable pull consumer of one dispatcher (competing consumers across replicas)."""
    return ConsumerSpec(
        stream=DISPATCH.name,
        durable=durable,
        filter_subjects=(f"convhub.dispatch.{platform}.>",),
        ack_wait=ack_wait,
        max_ack_pending=2000,
    )


class DispatchIntake:
    """The PullConsumer handler: decode, validate, record, stage failures, then ack."""

    def __init__(
        self,
        adapter: PlatformAdapter[Any],
        engine: AsyncEngine,
        tables: LedgerTables,
        *,
        on_pending: Callable[[Mapping[Lane, int]], None],
        on_staged: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        metrics: DispatchMetrics | None = None,
    ) -> None:
        self._adapter = adapter
        self._metrics = metrics
        # An adapter mapping at intake (AdmitsAtIntake) maps each event once: its bytes are
        # kept with the delivery and sent as they are.
        self._admit = adapter.admit if isinstance(adapter, AdmitsAtIntake) else None
        self._platform_proto = adapter.platform.proto
        self._engine = engine
        self._tables = tables
        self._on_pending = on_pending
        self._on_staged = on_staged
        self._clock = clock

    async def __call__(self, msg: Msg) -> Outcome:
        try:
            batch = events_pb2.DispatchRequestedBatch.FromString(msg.data)
        except DecodeError:
            return Term("not a DispatchRequestedBatch")
        now = self._clock()
        items: list[NewDelivery] = []
        replays: list[str] = []
        for position, request in enumerate(batch.items):
            item = self._item(request, batch.site_id, now, position)
            if item is not None:
                items.append(item)
                if request.replay_of_dead_letter_id:
                    replays.append(request.replay_of_dead_letter_id)
        if not items:
            return ACK
        async with LedgerUnitOfWork(self._engine, self._tables) as uow:
            fresh = await uow.ledger.add(items)
            if self._metrics is not None:
                self._metrics.received([i.match_keys for i in fresh])
            rejected = [i for i in fresh if i.rejection is not None]
            changes = await uow.ledger.reject_at_intake(rejected)
            replayed = None
            if replays:  # a router-side replay of a dead letter this dispatcher holds
                replayed = await uow.ledger.replay(ids=replays, selector=None)
                changes += replayed.changes
            platform = self._adapter.platform
            outgoing = messages.delivery_updates(platform, changes, now=now)
            outgoing += messages.dead_letters(platform, changes, now=now)
            await stage(uow.session, self._tables.outbox, outgoing)
            await uow.commit()
        if outgoing:
            self._on_staged()
        pending: dict[Lane, int] = defaultdict(int)
        for item in fresh:
            if item.rejection is None:
                pending[item.lane] += 1
        for lane, count in (replayed.lanes if replayed else {}).items():
            pending[lane] += count
        if pending:
            self._on_pending(pending)
        return ACK

    def _item(
        self, request: events_pb2.DispatchRequested, site_id: str, now: datetime, position: int
    ) -> NewDelivery | None:
        """The ledger row for one item; None only for an item that cannot even be keyed.

        An item with a conversion id and a destination is always recorded, failed when this
        dispatcher cannot take it, so that ingest sees FAILED (and a dead letter) rather than a
        delivery pending for ever.
        """
        platform = self._adapter.platform
        try:
            conversion = request.conversion
            account = request.target.account_id
            delivery_id = request.delivery_id
            conversion_id = request.conversion_id or conversion.conversion_id
            if not delivery_id and conversion_id and account:
                delivery_id = naming.delivery_id(conversion_id, platform.value, account)
            if not delivery_id or not conversion_id:
                log.warning("dispatch item %d without delivery or conversion id: dropped", position)
                return None
            received = conversion.received_at if conversion.HasField("received_at") else None
            site = conversion.site_id or site_id
            credentials_ref = request.target.credentials_ref
            received_at = _datetime(received) if received else None
            attempts = max(0, request.previous_attempts)
        except Exception:  # one broken item must not cost the others
            log.exception("dispatch item %d could not be read: dropped", position)
            return None
        rejection: PlatformError | None = None
        payload = None
        lane: Lane | None = None  # None: failed on what could be read
        event_id = conversion.event_id
        if request.platform and request.platform != self._platform_proto:
            log.warning("dispatch item %s is for another platform: failed", delivery_id)
            rejection = _MISROUTED
        else:
            try:
                lane = self._adapter.lane_of(request)
                event_id = self._adapter.event_id_of(request)
            except Exception:
                log.exception("dispatch item %s has an unusable destination: failed", delivery_id)
                lane, event_id, rejection = None, conversion.event_id, _UNREADABLE
            else:
                rejection, payload = self._check(request, now)
        try:
            keys = matchkeys.mask_of(matchkeys.delivered_keys(platform, request))
        except Exception:  # a statistic: never worth an item
            keys = 0
        return NewDelivery(
            delivery_id=delivery_id,
            conversion_id=conversion_id,
            site_id=site,
            lane=lane or Lane(account, credentials_ref),
            event_id=event_id,
            request=request,
            received_at=received_at,
            attempts=attempts,
            rejection=rejection,
            payload=payload,
            match_keys=keys,
        )

    def _check(
        self, request: events_pb2.DispatchRequested, now: datetime
    ) -> tuple[PlatformError | None, bytes | None]:
        """The adapter's refusal, or the event's bytes when the adapter maps at intake."""
        try:
            if self._admit is None:
                return self._adapter.check(request, now), None
            admitted = self._admit(request, now)
        except Exception:  # a validator bug: fail the event visibly (replayable) not the batch
            log.exception("validation failed unexpectedly for %s", request.delivery_id)
            return PlatformError(ErrorClass.UNKNOWN, "", "internal validation error"), None
        if isinstance(admitted, bytes):
            return None, admitted
        return admitted, None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _datetime(ts: Timestamp) -> datetime:
    """Timestamp.ToDatetime(UTC) (microseconds, toward the past), at a third of its cost."""
    return _EPOCH + timedelta(seconds=ts.seconds, microseconds=ts.nanos // 1000)
