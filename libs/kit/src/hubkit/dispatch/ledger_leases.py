"""Leases and housekeeping: expired claims back to pending, the accumulator's truth, pruning."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from hubkit.dispatch.bulk import in_ids
from hubkit.dispatch.model import BatchStatus, Lane, Status
from hubkit.dispatch.tables import LedgerTables


class LeaseOps:
    """Part of the Ledger: leases, reconciliation, pruning."""

    session: AsyncSession
    t: LedgerTables

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
                .where(in_ids(b.c.batch_id, list(batches)), b.c.status == BatchStatus.SENDING.value)
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
        for account, ref, extra, oldest, due, next_due, later in rows:
            entries = []
            if due:
                entries.append((oldest, int(due)))
            if later and next_due is not None:
                entries.append((next_due, int(later)))
            summary[Lane(account, ref, extra)] = entries
        return summary

    # --- housekeeping ----------------------------------------------------------------------

    async def prune(self, older_than: datetime) -> int:
        """Forget finished history older than `older_than` (the stream keeps far less).

        Failed and dead deliveries and their dead letters go too: kept for ever they would grow
        without bound (and keep hashed user data); within the retention they stay replayable.
        """
        d, b, a, x = self.t.deliveries, self.t.batches, self.t.attempts, self.t.dead_letters
        gone = await self.session.execute(
            delete(d)
            .where(d.c.status.in_(_FINISHED), d.c.updated_at < older_than)
            .returning(d.c.delivery_id)
        )
        count = len(gone.all())
        await self.session.execute(delete(x).where(x.c.dead_lettered_at < older_than))
        await self.session.execute(delete(a).where(a.c.started_at < older_than))
        await self.session.execute(
            delete(b).where(b.c.completed_at < older_than, b.c.status != BatchStatus.SENDING.value)
        )
        return count


# SENT too: a platform's partial report names no event, so such events stay SENT for good (their
# report is asked for within days, far inside the retention).
_FINISHED = (Status.CONFIRMED.value, Status.SENT.value, Status.FAILED.value, Status.DEAD.value)
