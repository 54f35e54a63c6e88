"""Delivery ledger writes: intake, claims with leases, settling a request's answer.

Every method runs inside the caller's transaction (a `LedgerUnitOfWork`); none commits. Leases
and housekeeping live in `ledger_leases`, dead-letter replay in `ledger_replay`, erasure in
`ledger_erasure`, platforms' later reports in `ledger_reports`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import LargeBinary, Text, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hubkit.db.uow import UnitOfWork
from hubkit.dispatch.bulk import copy_new_rows, copy_rows, driver_connection, in_ids
from hubkit.dispatch.ledger_erasure import ErasureOps
from hubkit.dispatch.ledger_leases import LeaseOps
from hubkit.dispatch.ledger_replay import DeadLetterFilter, ReplayOps, ReplayResult
from hubkit.dispatch.ledger_reports import ReportOps
from hubkit.dispatch.model import (
    BatchStatus,
    Lane,
    PendingEvent,
    PlatformError,
    SendResult,
    Status,
)
from hubkit.dispatch.outcomes import BatchPlan, EventOutcome, describe
from hubkit.dispatch.records import Change, NewDelivery, decode_request, new_id
from hubkit.dispatch.tables import LedgerTables

_EXCERPT_LIMIT = 1024


class Ledger(LeaseOps, ReplayOps, ErasureOps, ReportOps):
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
        inserted = set(
            await copy_new_rows(
                self.session,
                self.t.deliveries,
                _INTAKE_COLUMNS,
                map(_intake_row, items),
                key="delivery_id",
            )
        )
        return [i for i in items if i.delivery_id in inserted]

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
                    reason=describe(item.rejection),
                    received_at=item.received_at,
                )
            )
        await self._insert_dead_letters(changes)
        return changes

    # --- claims ----------------------------------------------------------------------------

    async def claim(
        self, lane: Lane, limit: int, *, owner: str, lease: float, batch_id: str
    ) -> list[PendingEvent]:
        """Take up to `limit` due events of `lane` (oldest first) for one new batch, and open
        the batch: one statement, its rows read in binary (the request bytes as stored)."""
        cursor = (await driver_connection(self.session)).cursor(binary=True)
        await cursor.execute(
            _claim_sql(self.t),
            {
                "account_id": lane.account_id,
                "credentials_ref": lane.credentials_ref,
                "lane_extra": lane.extra,
                "limit": limit,
                "owner": owner,
                "lease": timedelta(seconds=lease),
                "batch_id": batch_id,
            },
        )
        return [_pending(row) for row in await cursor.fetchall()]

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
                    in_ids(d.c.delivery_id, ids),
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
                in_ids(d.c.delivery_id, [e.delivery_id for e in events]),
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
        parts: Sequence[tuple[Sequence[PendingEvent], SendResult]],
        plan: BatchPlan,
        *,
        frozen: Mapping[str, bytes],
        started_at: datetime,
        latency_ms: int,
        report_due_at: datetime | None = None,
    ) -> list[Change]:
        """Record a batch's answers: delivery states, the audit, the batch, dead letters.

        `parts` are the batch's requests (each with the events it carried) and their answers;
        `frozen` the bytes of events sent for the first time, kept for those sent again;
        `report_due_at`: when to first ask the platform for its report on the request."""
        by_id = {e.delivery_id: e for events, _ in parts for e in events}
        outcomes = {o.delivery_id: o for o in plan.outcomes}
        changes = await self._apply(batch_id, lane, by_id, plan.outcomes)
        await self._freeze(
            {
                o.delivery_id: frozen[o.delivery_id]
                for o in plan.outcomes
                if o.status is Status.PENDING
                and o.delivery_id in frozen
                and by_id[o.delivery_id].frozen is None
            }
        )
        audit = []
        position = 0
        for events, result in parts:
            split_error = result.error if plan.split else None
            http_status = result.http_status
            for event in events:
                outcome = outcomes.get(event.delivery_id)
                error = outcome.error if outcome else split_error
                if outcome is not None and outcome.note:  # an accepted duplicate
                    code, message = outcome.note[:200], _DUPLICATE
                    error_class = int(error.error_class) if error else 0
                elif error is None:
                    error_class, code, message = 0, "", ""
                else:
                    error_class = int(error.error_class)
                    code, message = error.code[:200], error.message[:2000]
                audit.append(
                    (
                        batch_id,
                        event.delivery_id,
                        event.attempt,
                        position,
                        (outcome.status if outcome else Status.PENDING).value,
                        started_at,
                        latency_ms,
                        http_status,
                        error_class,
                        code,
                        message,
                    )
                )
                position += 1
        await copy_rows(self.session, self.t.attempts, _AUDIT_COLUMNS, audit)
        results = [result for _, result in parts]
        answered = [r for r in results if r.sent] or results
        last = answered[-1] if answered else SendResult(sent=False)
        whole = next((r.error for r in results if r.error is not None), None)
        excerpt = next((r.excerpt for r in results if r.error is not None), last.excerpt)
        b = self.t.batches
        await self.session.execute(
            update(b)
            .where(b.c.batch_id == batch_id)
            .values(
                status=plan.status.value,
                succeeded_count=plan.succeeded,
                failed_count=plan.failed,
                retry_count=sum(o.status is Status.PENDING for o in plan.outcomes),
                attempts=sum(r.sent for r in results),
                http_status=last.http_status,
                latency_ms=latency_ms,
                platform_request_id=",".join(r.request_id for r in results if r.request_id)[:200],
                response_excerpt=excerpt[:_EXCERPT_LIMIT],
                sent_at=started_at if any(r.sent for r in results) else None,
                completed_at=func.now(),
                status_due_at=report_due_at,
                **_error_columns(whole, "error_message"),
            )
        )
        await self._insert_dead_letters([c for c in changes if c.dead_letter_id])
        return changes

    async def _freeze(self, payloads: Mapping[str, bytes]) -> None:
        """Keep the bytes of events that will be sent again (only those: retries are rare)."""
        if not payloads:
            return
        d = self.t.deliveries
        ids, data = list(payloads), list(payloads.values())
        rows = (
            select(
                func.unnest(bindparam("ids", ids, type_=ARRAY(Text))).label("id"),
                func.unnest(bindparam("data", data, type_=ARRAY(LargeBinary))).label("data"),
            )
        ).subquery()
        await self.session.execute(
            update(d)
            .where(d.c.delivery_id == rows.c.id, d.c.payload.is_(None))
            .values(payload=rows.c.data)
        )

    async def _apply(
        self,
        batch_id: str,
        lane: Lane,
        events: dict[str, PendingEvent],
        outcomes: Sequence[EventOutcome],
    ) -> list[Change]:
        groups: dict[tuple[Any, ...], list[EventOutcome]] = defaultdict(list)
        for o in outcomes:
            groups[(o.status, o.error, o.failures, o.retry_at, o.reason, o.charged)].append(o)
        cursor = (await driver_connection(self.session)).cursor(binary=True)
        changes: list[Change] = []
        for (status, error, failures, retry_at, reason, charged), members in groups.items():
            error_class, code, message = _error_values(error)
            params: dict[str, Any] = {
                "ids": [o.delivery_id for o in members],
                "batch_id": batch_id,
                "error_class": error_class,
                "platform_code": code,
                "last_error": message,
            }
            sets = [
                f"status = '{status.value}'",
                "lease_owner = NULL",
                "lease_until = NULL",
                "updated_at = now()",
                "sequence = sequence + 1",
                "error_class = %(error_class)s",
                "platform_code = %(platform_code)s",
                "last_error = %(last_error)s",
            ]
            if not charged:  # throttled or untried: this attempt does not count
                sets.append("attempts = attempts - 1")
            if status is Status.PENDING:
                sets.append("next_attempt_at = %(retry_at)s")
                params["retry_at"] = retry_at
            if status in (Status.PENDING, Status.FAILED, Status.DEAD):
                sets.append("failures = %(failures)s")
                params["failures"] = failures
            accepted = status in (Status.CONFIRMED, Status.SENT)
            if accepted:
                sets.append("confirmed_at = now()")
            update = (
                f"UPDATE {self.t.deliveries.fullname} SET {', '.join(sets)}"
                " WHERE delivery_id = ANY(%(ids)b) AND {}"  # binary: a text array dumps in Python
                " RETURNING delivery_id, sequence, attempts, first_attempt_at, confirmed_at"
            )
            # Still ours (found through the batch's index, not one key lookup per event) ...
            await cursor.execute(
                update.format(f"batch_id = %(batch_id)s AND status = '{Status.SENDING.value}'"),
                params,
            )
            rows = await cursor.fetchall()
            if accepted and len(rows) < len(params["ids"]):
                # ... or, accepted, the platform has it even if our lease lapsed and it was
                # queued again meanwhile.
                done = {row[0] for row in rows}
                params["ids"] = [i for i in params["ids"] if i not in done]
                # Linked to this batch again: its request carried them (its report is theirs).
                relinked = update.replace(" WHERE", ", batch_id = %(batch_id)s WHERE", 1)
                await cursor.execute(relinked.format(f"status = '{Status.PENDING.value}'"), params)
                rows += await cursor.fetchall()
            dead = status in (Status.FAILED, Status.DEAD)
            account_id = lane.account_id
            for delivery_id, sequence, attempts, first_attempt_at, confirmed_at in rows:
                event = events[delivery_id]
                changes.append(
                    Change(  # positional (in field order): one of these is built per event
                        delivery_id,
                        event.conversion_id,
                        event.site_id,
                        account_id,
                        status,
                        attempts,
                        sequence,
                        event.request,
                        event.event_id,
                        batch_id,
                        error,
                        new_id() if dead else "",
                        reason,
                        first_attempt_at,
                        confirmed_at,
                        event.received_at,
                    )
                )
        return changes

    async def _insert_dead_letters(self, changes: Sequence[Change]) -> None:
        if not changes:
            return
        rows = [
            (
                c.dead_letter_id,
                c.delivery_id,
                c.conversion_id,
                c.site_id,
                c.account_id,
                c.event_id,
                c.status.value,
                c.reason[:2000],
                c.attempts,
                c.batch_id or None,
                c.first_attempt_at,
                *_error_values(c.error),
            )
            for c in changes
        ]
        await copy_rows(self.session, self.t.dead_letters, _DEAD_LETTER_COLUMNS, rows)


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


_INTAKE_COLUMNS = (
    "delivery_id",
    "conversion_id",
    "site_id",
    "account_id",
    "credentials_ref",
    "lane_extra",
    "event_id",
    "status",
    "attempts",
    "sequence",
    "request",
    "received_at",
    "error_class",
    "platform_code",
    "last_error",
    "payload",
    "match_keys",
)
_AUDIT_COLUMNS = (
    "batch_id",
    "delivery_id",
    "number",
    "position",
    "outcome",
    "started_at",
    "latency_ms",
    "http_status",
    "error_class",
    "platform_code",
    "error_message",
)
_DEAD_LETTER_COLUMNS = (
    "dead_letter_id",
    "delivery_id",
    "conversion_id",
    "site_id",
    "account_id",
    "event_id",
    "status",
    "reason",
    "attempts",
    "batch_id",
    "first_attempt_at",
    "error_class",
    "platform_code",
    "last_error",
)
_DUPLICATE = "duplicate: the platform already had this event"


def _intake_row(item: NewDelivery) -> tuple[Any, ...]:
    rejected = item.rejection
    lane = item.lane
    return (
        item.delivery_id,
        item.conversion_id,
        item.site_id,
        lane.account_id,
        lane.credentials_ref,
        lane.extra,
        item.event_id,
        (Status.FAILED if rejected else Status.PENDING).value,
        item.attempts,
        1 if rejected else 0,
        item.request.SerializeToString(),
        item.received_at,
        *_error_values(rejected),
        item.payload,
        item.match_keys,
    )


def _error_values(error: PlatformError | None) -> tuple[int, str, str]:
    """error_class, platform_code and the message column, in that order."""
    if error is None:
        return (0, "", "")
    return (int(error.error_class), error.code[:200], error.message[:2000])


def _error_columns(error: PlatformError | None, message_column: str) -> dict[str, Any]:
    if error is None:
        return {"error_class": 0, "platform_code": "", message_column: ""}
    return {
        "error_class": int(error.error_class),
        "platform_code": error.code[:200],
        message_column: error.message[:2000],
    }


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
        d.c.first_attempt_at,
        d.c.payload,
    ]


@cache
def _claim_sql(t: LedgerTables) -> str:
    """Ledger.claim's statement: the claim (competing replicas take disjoint events: SKIP
    LOCKED), the batch row when anything was claimed, the events in delivery id order.

    The rows are updated by the ctid of the versions just locked (a TID scan; no second
    primary key lookup per event): locked, they cannot move before the UPDATE."""
    d, b = t.deliveries.fullname, t.batches.fullname
    columns = ", ".join(c.name for c in _pending_columns(t))
    return f"""
        WITH claimed AS (
            UPDATE {d} SET
                status = '{Status.SENDING.value}',
                attempts = attempts + 1,
                lease_owner = %(owner)s,
                lease_until = now() + %(lease)s,
                batch_id = %(batch_id)s,
                first_attempt_at = coalesce(first_attempt_at, now()),
                updated_at = now()
            WHERE ctid = ANY(ARRAY(
                SELECT ctid FROM {d}
                WHERE status = '{Status.PENDING.value}'
                    AND account_id = %(account_id)s
                    AND credentials_ref = %(credentials_ref)s
                    AND lane_extra = %(lane_extra)s
                    AND next_attempt_at <= now()
                ORDER BY next_attempt_at
                LIMIT %(limit)s
                FOR UPDATE SKIP LOCKED
            ))
            RETURNING {columns}
        ), opened AS (
            INSERT INTO {b}
                (batch_id, account_id, credentials_ref, lane_extra, status, event_count)
            SELECT %(batch_id)s, %(account_id)s, %(credentials_ref)s, %(lane_extra)s,
                '{BatchStatus.SENDING.value}', count(*)
            FROM claimed HAVING count(*) > 0
        )
        SELECT {columns} FROM claimed ORDER BY delivery_id COLLATE "C"
    """


def _pending(row: Any) -> PendingEvent:
    # Unpacked in _pending_columns order: a Row's attributes cost ~30 times as much.
    (
        delivery_id,
        conversion_id,
        site_id,
        event_id,
        attempts,
        failures,
        request,
        received_at,
        first_attempt_at,
        payload,
    ) = row
    return PendingEvent(
        delivery_id=delivery_id,
        conversion_id=conversion_id,
        site_id=site_id,
        event_id=event_id,
        attempt=attempts,
        failures=failures,
        request=decode_request(request),
        received_at=received_at,
        first_attempt_at=first_attempt_at,
        frozen=bytes(payload) if payload is not None else None,
    )


__all__ = [
    "Change",
    "DeadLetterFilter",
    "Ledger",
    "LedgerUnitOfWork",
    "NewDelivery",
    "ReplayResult",
    "new_id",
]
