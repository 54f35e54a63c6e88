"""Delivery ledger writes: intake, claims with leases, settling a request, dead letters, replay.

Every method runs inside the caller's transaction (a `LedgerUnitOfWork`); none commits.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from hubkit.db.uow import UnitOfWork
from hubkit.dispatch.model import (
    BatchStatus,
    Lane,
    PendingEvent,
    PlatformError,
    SendResult,
    Status,
)
from hubkit.dispatch.outcomes import BatchPlan, EventOutcome
from hubkit.dispatch.tables import LedgerTables

_RETRYING = (Status.PENDING.value, Status.SENDING.value)
_DEAD_ENDS = (Status.FAILED.value, Status.DEAD.value)
_EXCERPT_LIMIT = 1024


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A DispatchRequested item as the ledger records it at intake."""

    delivery_id: str
    conversion_id: str
    site_id: str
    lane: Lane
    event_id: str
    request: Any  # the DispatchRequested message
    received_at: datetime | None
    attempts: int = 0  # attempts made before (a router-side replay)
    rejection: PlatformError | None = None  # failed before batching


@dataclass(frozen=True, slots=True)
class Change:
    """A delivery's new state, as announced by DeliveryUpdated (and DeadLettered)."""

    delivery_id: str
    conversion_id: str
    site_id: str
    account_id: str
    status: Status
    attempts: int
    sequence: int
    request: Any  # the DispatchRequested message (trace, and the dead letter's copy)
    event_id: str = ""
    batch_id: str = ""
    error: PlatformError | None = None
    dead_letter_id: str = ""
    reason: str = ""
    first_attempt_at: datetime | None = None
    confirmed_at: datetime | None = None
    received_at: datetime | None = None


@dataclass(frozen=True)
class DeadLetterFilter:
    site_id: str = ""
    error_class: int = 0
    start: datetime | None = None
    end: datetime | None = None
    account_id: str = ""
    include_replayed: bool = False
    sites: frozenset[str] | None = None  # restrict to these sites (the caller's token); None: all


@dataclass
class ReplayResult:
    matched: int = 0
    replayed: int = 0
    not_found_ids: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    lanes: dict[Lane, int] = field(default_factory=dict)


class Ledger:
    def __init__(self, session: AsyncSession, tables: LedgerTables) -> None:
        self.session = session
        self.t = tables

    # --- intake ----------------------------------------------------------------------------

    async def add(self, items: Sequence[NewDelivery]) -> list[NewDelivery]:
        """Insert what is new (ON CONFLICT DO NOTHING): redelivered items are left untouched.

        Returns the items actually inserted; rejected ones are also dead-lettered here.
        """
        if not items:
            return []
        d = self.t.deliveries
        rows = [_intake_row(i) for i in items]
        stmt = pg_insert(d).on_conflict_do_nothing(index_elements=[d.c.delivery_id])
        inserted = set(
            (await self.session.execute(stmt.returning(d.c.delivery_id), rows)).scalars()
        )
        fresh = [i for i in items if i.delivery_id in inserted]
        return fresh

    async def reject_at_intake(self, items: Sequence[NewDelivery]) -> list[Change]:
        """Dead letters and changes for freshly inserted items refused before batching."""
        changes = []
        for item in items:
            assert item.rejection is not None
            changes.append(
                Change(
                    delivery_id=item.delivery_id,
                    conversion_id=item.conversion_id,
                    site_id=item.site_id,
                    account_id=item.lane.account_id,
                    status=Status.FAILED,
                    attempts=item.attempts,
                    sequence=1,
                    request=item.request,
                    event_id=item.event_id,
                    error=item.rejection,
                    dead_letter_id=new_id(),
                    reason=_reason(item.rejection),
                    received_at=item.received_at,
                )
            )
        await self._insert_dead_letters(changes)
        return changes

    # --- claims ----------------------------------------------------------------------------

    async def claim(
        self, lane: Lane, limit: int, *, owner: str, lease: float, batch_id: str
    ) -> list[PendingEvent]:
        """Take up to `limit` due events of `lane` (oldest first) for one new batch."""
        d = self.t.deliveries
        picked = (
            select(d.c.delivery_id)
            .where(
                d.c.status == Status.PENDING.value,
                d.c.account_id == lane.account_id,
                d.c.credentials_ref == lane.credentials_ref,
                d.c.lane_extra == lane.extra,
                d.c.next_attempt_at <= func.now(),
            )
            .order_by(d.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)  # competing replicas take disjoint events
        )
        rows = (
            await self.session.execute(
                update(d)
                .where(d.c.delivery_id.in_(picked.scalar_subquery()))
                .values(
                    status=Status.SENDING.value,
                    attempts=d.c.attempts + 1,
                    lease_owner=owner,
                    lease_until=func.now() + timedelta(seconds=lease),
                    batch_id=batch_id,
                    first_attempt_at=func.coalesce(d.c.first_attempt_at, func.now()),
                    updated_at=func.now(),
                )
                .returning(*_pending_columns(self.t))
            )
        ).all()
        if not rows:
            return []
        events = sorted((_pending(r) for r in rows), key=lambda e: e.delivery_id)
        await self._open_batch(batch_id, lane, len(events), parent=None)
        return events

    async def reclaim_for_child(
        self,
        parent_id: str,
        child_id: str,
        lane: Lane,
        events: Sequence[PendingEvent],
        *,
        lease: float,
    ) -> list[PendingEvent]:
        """Move a split half into a child batch: one more attempt, a fresh lease."""
        d = self.t.deliveries
        ids = [e.delivery_id for e in events]
        rows = (
            await self.session.execute(
                update(d)
                .where(
                    d.c.delivery_id.in_(ids),
                    d.c.batch_id == parent_id,
                    d.c.status == Status.SENDING.value,
                )
                .values(
                    attempts=d.c.attempts + 1,
                    batch_id=child_id,
                    lease_until=func.now() + timedelta(seconds=lease),
                    updated_at=func.now(),
                )
                .returning(*_pending_columns(self.t))
            )
        ).all()
        by_id = {r.delivery_id: _pending(r) for r in rows}
        children = [by_id[i] for i in ids if i in by_id]  # keep the parent's order
        if children:
            await self._open_batch(child_id, lane, len(children), parent=parent_id)
        return children

    async def unclaim(self, batch_id: str, events: Sequence[PendingEvent], note: str) -> None:
        """Give events back untried (the breaker reopened before they went out)."""
        d = self.t.deliveries
        await self.session.execute(
            update(d)
            .where(
                d.c.delivery_id.in_([e.delivery_id for e in events]),
                d.c.batch_id == batch_id,
                d.c.status == Status.SENDING.value,
            )
            .values(
                status=Status.PENDING.value,
                attempts=d.c.attempts - 1,
                lease_owner=None,
                lease_until=None,
                updated_at=func.now(),
            )
        )
        await self._close_batch(batch_id, BatchStatus.RETRY_SCHEDULED, message=note)

    async def _open_batch(self, batch_id: str, lane: Lane, count: int, parent: str | None) -> None:
        await self.session.execute(
            insert(self.t.batches).values(
                batch_id=batch_id,
                account_id=lane.account_id,
                credentials_ref=lane.credentials_ref,
                lane_extra=lane.extra,
                parent_batch_id=parent,
                status=BatchStatus.SENDING.value,
                event_count=count,
            )
        )

    async def _close_batch(self, batch_id: str, status: BatchStatus, message: str = "") -> None:
        b = self.t.batches
        await self.session.execute(
            update(b)
            .where(b.c.batch_id == batch_id)
            .values(status=status.value, error_message=message, completed_at=func.now())
        )

    # --- settling a request ----------------------------------------------------------------

    async def settle(
        self,
        batch_id: str,
        lane: Lane,
        events: Sequence[PendingEvent],
        result: SendResult,
        plan: BatchPlan,
        *,
        started_at: datetime,
        latency_ms: int,
    ) -> list[Change]:
        """Record a request's answer: delivery states, the audit, the batch, dead letters."""
        by_id = {e.delivery_id: e for e in events}
        outcomes = {o.delivery_id: o for o in plan.outcomes}
        changes = await self._apply(batch_id, lane, by_id, plan.outcomes)
        split_error = result.error if plan.split else None
        audit = []
        for position, event in enumerate(events):
            outcome = outcomes.get(event.delivery_id)
            error = outcome.error if outcome else split_error
            audit.append(
                {
                    "batch_id": batch_id,
                    "delivery_id": event.delivery_id,
                    "number": event.attempt,
                    "position": position,
                    "outcome": (outcome.status if outcome else Status.PENDING).value,
                    "started_at": started_at,
                    "latency_ms": latency_ms,
                    "http_status": result.http_status,
                    **_error_columns(error, "error_message"),
                }
            )
        if audit:
            await self.session.execute(insert(self.t.attempts), audit)
        whole = result.error
        b = self.t.batches
        await self.session.execute(
            update(b)
            .where(b.c.batch_id == batch_id)
            .values(
                status=plan.status.value,
                succeeded_count=plan.succeeded,
                failed_count=plan.failed,
                retry_count=sum(o.status is Status.PENDING for o in plan.outcomes),
                attempts=1 if result.sent else 0,
                http_status=result.http_status,
                latency_ms=latency_ms,
                platform_request_id=result.request_id[:200],
                response_excerpt=result.excerpt[:_EXCERPT_LIMIT],
                sent_at=started_at if result.sent else None,
                completed_at=func.now(),
                **_error_columns(whole, "error_message"),
            )
        )
        await self._insert_dead_letters([c for c in changes if c.dead_letter_id])
        return changes

    async def _apply(
        self,
        batch_id: str,
        lane: Lane,
        events: dict[str, PendingEvent],
        outcomes: Sequence[EventOutcome],
    ) -> list[Change]:
        d = self.t.deliveries
        groups: dict[tuple[Any, ...], list[EventOutcome]] = defaultdict(list)
        for o in outcomes:
            groups[(o.status, o.error, o.failures, o.retry_at, o.reason)].append(o)
        changes: list[Change] = []
        for (status, error, failures, retry_at, reason), members in groups.items():
            ids = [o.delivery_id for o in members]
            values: dict[str, Any] = {
                "status": status.value,
                "lease_owner": None,
                "lease_until": None,
                "updated_at": func.now(),
                "sequence": d.c.sequence + 1,
                **_error_columns(error, "last_error"),
            }
            ours: ColumnElement[bool] = and_(
                d.c.batch_id == batch_id, d.c.status == Status.SENDING.value
            )
            if status is Status.PENDING:
                values["next_attempt_at"] = retry_at
            if status in (Status.PENDING, Status.FAILED, Status.DEAD):
                values["failures"] = failures
            if status in (Status.CONFIRMED, Status.SENT):
                values["confirmed_at"] = func.now()
                # The platform has it even if our lease lapsed and it was queued again meanwhile.
                ours = or_(ours, d.c.status == Status.PENDING.value)
            rows = (
                await self.session.execute(
                    update(d)
                    .where(d.c.delivery_id.in_(ids), ours)
                    .values(**values)
                    .returning(
                        d.c.delivery_id,
                        d.c.sequence,
                        d.c.attempts,
                        d.c.first_attempt_at,
                        d.c.confirmed_at,
                    )
                )
            ).all()
            dead = status in (Status.FAILED, Status.DEAD)
            for row in rows:
                event = events[row.delivery_id]
                changes.append(
                    Change(
                        delivery_id=row.delivery_id,
                        conversion_id=event.conversion_id,
                        site_id=event.site_id,
                        account_id=lane.account_id,
                        status=status,
                        attempts=row.attempts,
                        sequence=row.sequence,
                        request=event.request,
                        event_id=event.event_id,
                        batch_id=batch_id,
                        error=error,
                        dead_letter_id=new_id() if dead else "",
                        reason=reason,
                        first_attempt_at=row.first_attempt_at,
                        confirmed_at=row.confirmed_at,
                        received_at=event.received_at,
                    )
                )
        return changes

    async def _insert_dead_letters(self, changes: Sequence[Change]) -> None:
        if not changes:
            return
        rows = [
            {
                "dead_letter_id": c.dead_letter_id,
                "delivery_id": c.delivery_id,
                "conversion_id": c.conversion_id,
                "site_id": c.site_id,
                "account_id": c.account_id,
                "event_id": c.event_id,
                "status": c.status.value,
                "reason": c.reason[:2000],
                "attempts": c.attempts,
                "batch_id": c.batch_id or None,
                "first_attempt_at": c.first_attempt_at,
                **_error_columns(c.error, "last_error"),
            }
            for c in changes
        ]
        await self.session.execute(insert(self.t.dead_letters), rows)

    # --- leases ----------------------------------------------------------------------------

    async def release(self, *, owner: str | None = None, note: str) -> dict[Lane, int]:
        """Back to pending: events whose lease expired (owner None) or all of `owner`'s.

        Their requests may or may not have reached the platform; resending them under the same
        platform dedupe key is safe. Returns the lanes that got events back.
        """
        d = self.t.deliveries
        condition: ColumnElement[bool] = (
            d.c.lease_until < func.now() if owner is None else d.c.lease_owner == owner
        )
        rows = (
            await self.session.execute(
                update(d)
                .where(d.c.status == Status.SENDING.value, condition)
                .values(
                    status=Status.PENDING.value,
                    lease_owner=None,
                    lease_until=None,
                    next_attempt_at=func.now(),
                    updated_at=func.now(),
                )
                .returning(d.c.account_id, d.c.credentials_ref, d.c.lane_extra, d.c.batch_id)
            )
        ).all()
        lanes: dict[Lane, int] = defaultdict(int)
        batches = set()
        for r in rows:
            lanes[Lane(r.account_id, r.credentials_ref, r.lane_extra)] += 1
            batches.add(r.batch_id)
        if batches:
            b = self.t.batches
            await self.session.execute(
                update(b)
                .where(b.c.batch_id.in_(list(batches)), b.c.status == BatchStatus.SENDING.value)
                .values(
                    status=BatchStatus.RETRY_SCHEDULED.value,
                    error_message=note,
                    completed_at=func.now(),
                )
            )
        return dict(lanes)

    # --- the accumulator's truth -----------------------------------------------------------

    async def due_summary(self) -> dict[Lane, list[tuple[datetime, int]]]:
        """Per lane with pending events: (oldest due, due count), (next future due, later)."""
        d = self.t.deliveries
        now = func.now()
        rows = await self.session.execute(
            select(
                d.c.account_id,
                d.c.credentials_ref,
                d.c.lane_extra,
                func.min(d.c.next_attempt_at),
                func.count().filter(d.c.next_attempt_at <= now),
                func.min(d.c.next_attempt_at).filter(d.c.next_attempt_at > now),
                func.count().filter(d.c.next_attempt_at > now),
            )
            .where(d.c.status == Status.PENDING.value)
            .group_by(d.c.account_id, d.c.credentials_ref, d.c.lane_extra)
        )
        summary: dict[Lane, list[tuple[datetime, int]]] = {}
        for account, ref, extra, oldest, due, next_due, later in rows.tuples():
            entries = []
            if due:
                entries.append((oldest, int(due)))
            if later and next_due is not None:
                entries.append((next_due, int(later)))
            summary[Lane(account, ref, extra)] = entries
        return summary

    # --- dead letters ----------------------------------------------------------------------

    async def replay(
        self,
        *,
        ids: Sequence[str] | None,
        selector: DeadLetterFilter | None,
        limit: int = 0,
        dry_run: bool = False,
    ) -> ReplayResult:
        """Put dead-lettered deliveries back to pending with a fresh retry budget.

        Idempotent: a delivery replayed and not dead again is not queued twice.
        """
        x = self.t.dead_letters
        query = select(x.c.dead_letter_id, x.c.delivery_id, x.c.site_id)
        result = ReplayResult()
        if ids is not None:
            query = query.where(x.c.dead_letter_id.in_(list(ids)))
            if selector is not None and selector.sites is not None:
                query = query.where(x.c.site_id.in_(selector.sites))
        else:
            query = query.where(*dead_letter_conditions(x, selector or DeadLetterFilter()))
        query = query.order_by(x.c.dead_lettered_at, x.c.dead_letter_id)
        if limit > 0 and ids is None:
            query = query.limit(limit)
        found = (await self.session.execute(query.with_for_update())).all()
        if ids is not None:
            known = {r.dead_letter_id for r in found}
            result.not_found_ids = [i for i in ids if i not in known]
        result.matched = len(found)
        if dry_run or not found:
            return result
        d = self.t.deliveries
        rows = (
            await self.session.execute(
                update(d)
                .where(
                    d.c.delivery_id.in_({r.delivery_id for r in found}),
                    d.c.status.in_(_DEAD_ENDS),
                )
                .values(
                    status=Status.PENDING.value,
                    failures=0,
                    next_attempt_at=func.now(),
                    replay_count=d.c.replay_count + 1,
                    sequence=d.c.sequence + 1,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=func.now(),
                )
                .returning(*_change_columns(self.t))
            )
        ).all()
        replayed = {r.delivery_id for r in rows}
        if replayed:
            await self.session.execute(
                update(x)
                .where(x.c.delivery_id.in_(replayed), x.c.replayed_at.is_(None))
                .values(replayed_at=func.now(), replay_count=x.c.replay_count + 1)
            )
        result.replayed = len(rows)
        lanes: dict[Lane, int] = defaultdict(int)
        for r in rows:
            lanes[Lane(r.account_id, r.credentials_ref, r.lane_extra)] += 1
            result.changes.append(
                Change(
                    delivery_id=r.delivery_id,
                    conversion_id=r.conversion_id,
                    site_id=r.site_id,
                    account_id=r.account_id,
                    status=Status.PENDING,
                    attempts=r.attempts,
                    sequence=r.sequence,
                    request=_request(r.request),
                    event_id=r.event_id,
                    batch_id=r.batch_id or "",
                    received_at=r.received_at,
                )
            )
        result.lanes = dict(lanes)
        return result

    # --- housekeeping ----------------------------------------------------------------------

    async def prune(self, older_than: datetime) -> int:
        """Forget finished history older than `older_than` (the stream keeps far less)."""
        d, b, a = self.t.deliveries, self.t.batches, self.t.attempts
        gone = await self.session.execute(
            delete(d)
            .where(d.c.status == Status.CONFIRMED.value, d.c.updated_at < older_than)
            .returning(d.c.delivery_id)
        )
        count = len(gone.all())
        await self.session.execute(delete(a).where(a.c.started_at < older_than))
        await self.session.execute(
            delete(b).where(b.c.completed_at < older_than, b.c.status != BatchStatus.SENDING.value)
        )
        return count


def dead_letter_conditions(x: Any, f: DeadLetterFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if f.site_id:
        conditions.append(x.c.site_id == f.site_id)
    if f.sites is not None:
        conditions.append(x.c.site_id.in_(f.sites))
    if f.error_class:
        conditions.append(x.c.error_class == f.error_class)
    if f.account_id:
        conditions.append(x.c.account_id == f.account_id)
    if f.start is not None:
        conditions.append(x.c.dead_lettered_at >= f.start)
    if f.end is not None:
        conditions.append(x.c.dead_lettered_at < f.end)
    if not f.include_replayed:
        conditions.append(x.c.replayed_at.is_(None))
    return conditions


class LedgerUnitOfWork(UnitOfWork):
    """One transaction over the ledger: `async with uow: uow.ledger...; await uow.commit()`."""

    def __init__(self, engine: AsyncEngine, tables: LedgerTables) -> None:
        super().__init__(engine)
        self.tables = tables
        self._ledger: Ledger | None = None

    def _open(self, session: AsyncSession) -> None:
        self._ledger = Ledger(session, self.tables)

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._ledger


# --- row helpers ---------------------------------------------------------------------------


def _intake_row(item: NewDelivery) -> dict[str, Any]:
    rejected = item.rejection
    return {
        "delivery_id": item.delivery_id,
        "conversion_id": item.conversion_id,
        "site_id": item.site_id,
        "account_id": item.lane.account_id,
        "credentials_ref": item.lane.credentials_ref,
        "lane_extra": item.lane.extra,
        "event_id": item.event_id,
        "status": (Status.FAILED if rejected else Status.PENDING).value,
        "attempts": item.attempts,
        "sequence": 1 if rejected else 0,
        "request": item.request.SerializeToString(),
        "received_at": item.received_at,
        **_error_columns(rejected, "last_error"),
    }


def _error_columns(error: PlatformError | None, message_column: str) -> dict[str, Any]:
    if error is None:
        return {"error_class": 0, "platform_code": "", message_column: ""}
    return {
        "error_class": int(error.error_class),
        "platform_code": error.code[:200],
        message_column: error.message[:2000],
    }


def _reason(error: PlatformError) -> str:
    from hubkit.dispatch.outcomes import describe

    return describe(error)


def _pending_columns(t: LedgerTables) -> list[Any]:
    d = t.deliveries
    return [
        d.c.delivery_id,
        d.c.conversion_id,
        d.c.site_id,
        d.c.event_id,
        d.c.attempts,
        d.c.failures,
        d.c.request,
        d.c.received_at,
    ]


def _change_columns(t: LedgerTables) -> list[Any]:
    d = t.deliveries
    return [
        d.c.delivery_id,
        d.c.conversion_id,
        d.c.site_id,
        d.c.account_id,
        d.c.credentials_ref,
        d.c.lane_extra,
        d.c.event_id,
        d.c.attempts,
        d.c.sequence,
        d.c.batch_id,
        d.c.received_at,
        d.c.request,
    ]


def _request(data: bytes) -> Any:
    from convhub.events.v1 import events_pb2

    return events_pb2.DispatchRequested.FromString(bytes(data))


def _pending(row: Row[Any]) -> PendingEvent:
    return PendingEvent(
        delivery_id=row.delivery_id,
        conversion_id=row.conversion_id,
        site_id=row.site_id,
        event_id=row.event_id,
        attempt=row.attempts,
        failures=row.failures,
        request=_request(row.request),
        received_at=row.received_at,
    )


__all__ = [
    "Change",
    "DeadLetterFilter",
    "Ledger",
    "LedgerUnitOfWork",
    "NewDelivery",
    "ReplayResult",
    "dead_letter_conditions",
    "new_id",
]
