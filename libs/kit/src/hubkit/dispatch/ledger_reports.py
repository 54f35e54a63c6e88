"""Later reports on accepted requests (ReportsLater platforms): which batches to ask about,
and a final report applied to the batch's SENT events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hubkit.dispatch.model import BatchStatus, Lane, PlatformError, RequestReport, Status
from hubkit.dispatch.records import Change, decode_request, new_id
from hubkit.dispatch.tables import LedgerTables


@dataclass(frozen=True, slots=True)
class DueReport:
    """A batch whose platform report is due: ask about `request_id`."""

    batch_id: str
    lane: Lane
    request_id: str
    checks: int  # times asked before
    sent_at: datetime | None


class ReportOps:
    """Part of the Ledger: the batches awaiting a platform's report, and applying one."""

    session: AsyncSession
    t: LedgerTables

    async def due_reports(self, limit: int, *, hold: float) -> list[DueReport]:
        """Batches whose report is due, held for `hold` seconds (another replica skips them;
        if this one stops before recording, they come due again)."""
        b = self.t.batches
        due = (
            select(b.c.batch_id)
            .where(b.c.status_due_at <= func.now())
            .order_by(b.c.status_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        rows = (
            await self.session.execute(
                update(b)
                .where(b.c.batch_id.in_(due))
                .values(status_due_at=func.now() + timedelta(seconds=hold))
                .returning(
                    b.c.batch_id,
                    b.c.account_id,
                    b.c.credentials_ref,
                    b.c.lane_extra,
                    b.c.platform_request_id,
                    b.c.status_checks,
                    b.c.sent_at,
                )
            )
        ).all()
        return [
            DueReport(
                r.batch_id,
                Lane(r.account_id, r.credentials_ref, r.lane_extra),
                r.platform_request_id,
                r.status_checks,
                r.sent_at,
            )
            for r in rows
        ]

    async def record_report(
        self, batch_id: str, report: RequestReport, next_at: datetime | None
    ) -> list[Change]:
        """Keep what the platform said; when final, apply its outcome to the batch's SENT
        events (CONFIRMED, or FAILED and dead-lettered). `next_at`: when to ask again."""
        b = self.t.batches
        values: dict[str, Any] = {
            "status_checks": b.c.status_checks + 1,
            "status_due_at": None if report.final else next_at,
        }
        if report.unavailable is None:
            values |= {
                "status_state": report.state[:100],
                "status_checked_at": func.now(),
                "status_report": {
                    "records": report.record_count,
                    "errors": dict(report.error_counts),
                    "warnings": dict(report.warning_counts),
                },
            }
        changes: list[Change] = []
        if report.final and report.outcome is not None:
            changes = await self._settle_sent(batch_id, report.outcome, report.failure)
        if report.final and report.outcome is Status.FAILED:
            values |= {"status": BatchStatus.FAILED.value, "succeeded_count": 0}
            values |= {"failed_count": b.c.failed_count + len(changes)}
        elif report.final and report.state == "PARTIAL_SUCCESS":
            values["status"] = BatchStatus.PARTIALLY_FAILED.value
        await self.session.execute(update(b).where(b.c.batch_id == batch_id).values(**values))
        return changes

    async def _settle_sent(
        self, batch_id: str, outcome: Status, failure: PlatformError | None
    ) -> list[Change]:
        d = self.t.deliveries
        error = failure if outcome is Status.FAILED else None
        sets: dict[str, Any] = {
            "status": outcome.value,
            "sequence": d.c.sequence + 1,
            "updated_at": func.now(),
        }
        if outcome is Status.CONFIRMED:
            sets["confirmed_at"] = func.now()
        if error is not None:
            sets |= {
                "error_class": int(error.error_class),
                "platform_code": error.code[:200],
                "last_error": error.message[:2000],
            }
        rows = (
            await self.session.execute(
                update(d)
                .where(d.c.batch_id == batch_id, d.c.status == Status.SENT.value)
                .values(**sets)
                .returning(
                    d.c.delivery_id,
                    d.c.conversion_id,
                    d.c.site_id,
                    d.c.account_id,
                    d.c.attempts,
                    d.c.sequence,
                    d.c.request,
                    d.c.event_id,
                    d.c.first_attempt_at,
                    d.c.confirmed_at,
                    d.c.received_at,
                )
            )
        ).all()
        a = self.t.attempts
        await self.session.execute(  # the batch's audit shows what became of its events
            update(a)
            .where(a.c.batch_id == batch_id, a.c.outcome == Status.SENT.value)
            .values(
                outcome=outcome.value,
                error_class=int(error.error_class) if error else 0,
                platform_code=error.code[:200] if error else "",
                error_message=error.message[:2000] if error else "",
            )
        )
        dead = outcome is Status.FAILED
        reason = f"the platform reported the request FAILED: {error.message}" if error else ""
        changes = [
            Change(
                r.delivery_id,
                r.conversion_id,
                r.site_id,
                r.account_id,
                outcome,
                r.attempts,
                r.sequence,
                decode_request(r.request),
                r.event_id,
                batch_id,
                error,
                new_id() if dead else "",
                reason,
                r.first_attempt_at,
                r.confirmed_at,
                r.received_at,
            )
            for r in rows
        ]
        await self._insert_dead_letters([c for c in changes if c.dead_letter_id])
        return changes

    async def _insert_dead_letters(self, changes: Sequence[Change]) -> None:
        raise NotImplementedError  # provided by the Ledger this is mixed into

    async def awaiting_reports(self) -> int:
        b = self.t.batches
        return int(
            (
                await self.session.execute(
                    select(func.count()).select_from(b).where(b.c.status_due_at.isnot(None))
                )
            ).scalar_one()
        )
