"""Later reports on accepted requests (ReportsLater platforms): which batches to ask about,
and a final report applied to the batch's SENT events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hubkit.dispatch.bulk import in_ids
from hubkit.dispatch.ledger_erasure import ERASED_ERROR
from hubkit.dispatch.model import (
    ERASED,
    BatchStatus,
    Lane,
    PlatformError,
    RequestReport,
    Status,
)
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


RESEND_AFTER = 900.0  # seconds before events a report sends back go again, unless it says


def _message(error: PlatformError | None) -> str:
    return error.message if error is not None else "no reason given"


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
        self,
        batch_id: str,
        report: RequestReport,
        *,
        checks: int,
        next_at: datetime,
        horizon: timedelta,
    ) -> list[Change] | None:
        """Keep what the platform said about the batch after `checks` earlier asks; when final,
        apply its outcome to the batch's SENT events. `next_at`: when to ask again; `horizon`:
        how long after their first attempt events may be sent again. None: another replica
        recorded this ask's answer first (nothing done)."""
        b = self.t.batches
        values: dict[str, Any] = {
            "status_checks": checks + 1,
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
        if report.final and report.outcome is Status.FAILED:
            values["status"] = BatchStatus.FAILED.value
        elif report.final and report.state == "PARTIAL_SUCCESS":
            values["status"] = BatchStatus.PARTIALLY_FAILED.value
        mine = (
            await self.session.execute(
                update(b)
                .where(
                    b.c.batch_id == batch_id,
                    b.c.status_checks == checks,
                    b.c.status_due_at.is_not(None),
                )
                .values(**values)
                .returning(b.c.batch_id)
            )
        ).first()
        if mine is None:
            return None
        if not report.final or report.outcome is None:
            return []
        return await self._settle_sent(batch_id, report, horizon)

    async def _settle_sent(
        self, batch_id: str, report: RequestReport, horizon: timedelta
    ) -> list[Change]:
        """The batch's SENT events become the report's outcome: CONFIRMED; FAILED (dead
        letters); PENDING to be sent again (their frozen bytes) unless their retry horizon
        passed (DEAD). An erased event is never failed replayably nor sent again."""
        d = self.t.deliveries
        rows = (
            await self.session.execute(
                select(
                    d.c.delivery_id,
                    d.c.conversion_id,
                    d.c.site_id,
                    d.c.account_id,
                    d.c.attempts,
                    d.c.sequence,
                    d.c.request,
                    d.c.event_id,
                    d.c.first_attempt_at,
                    d.c.received_at,
                    d.c.platform_code,
                )
                .where(d.c.batch_id == batch_id, d.c.status == Status.SENT.value)
                .with_for_update()
            )
        ).all()
        now = datetime.now(UTC)
        outcome, failure = report.outcome, report.failure
        assert outcome is not None
        groups: dict[tuple[Status, PlatformError | None, str], list[Any]] = {}
        for r in rows:
            status, error, reason = outcome, failure, ""
            if r.platform_code == ERASED and outcome is not Status.CONFIRMED:
                status, error, reason = Status.FAILED, ERASED_ERROR, ERASED
            elif outcome is Status.FAILED:
                reason = f"the platform reported the request FAILED: {_message(failure)}"
            elif outcome is Status.PENDING:
                started = r.first_attempt_at or now
                if now - started > horizon:
                    status = Status.DEAD
                    reason = f"retry horizon passed; the platform reported: {_message(failure)}"
            groups.setdefault((status, error, reason), []).append(r)
        changes: list[Change] = []
        for (status, error, reason), members in groups.items():
            changes += await self._move(batch_id, status, error, reason, members, now)
        await self._insert_dead_letters([c for c in changes if c.dead_letter_id])
        return changes

    async def _move(
        self,
        batch_id: str,
        status: Status,
        error: PlatformError | None,
        reason: str,
        members: Sequence[Any],
        now: datetime,
    ) -> list[Change]:
        d, a = self.t.deliveries, self.t.attempts
        ids = [r.delivery_id for r in members]
        sets: dict[str, Any] = {
            "status": status.value,
            "sequence": d.c.sequence + 1,
            "updated_at": func.now(),
        }
        if status is Status.CONFIRMED:
            sets["confirmed_at"] = func.now()
        if status is Status.PENDING:
            wait = error.retry_after if error and error.retry_after else RESEND_AFTER
            sets["next_attempt_at"] = now + timedelta(seconds=wait)
        if error is not None:
            sets |= {
                "error_class": int(error.error_class),
                "platform_code": error.code[:200],
                "last_error": error.message[:2000],
            }
        await self.session.execute(update(d).where(in_ids(d.c.delivery_id, ids)).values(**sets))
        # The batch's audit shows what became of its events.
        await self.session.execute(
            update(a)
            .where(a.c.batch_id == batch_id, in_ids(a.c.delivery_id, ids))
            .values(
                outcome=status.value,
                error_class=int(error.error_class) if error else 0,
                platform_code=error.code[:200] if error else "",
                error_message=error.message[:2000] if error else "",
            )
        )
        dead = status in (Status.FAILED, Status.DEAD) and reason != ERASED
        return [
            Change(
                r.delivery_id,
                r.conversion_id,
                r.site_id,
                r.account_id,
                status,
                r.attempts,
                r.sequence + 1,
                decode_request(r.request),
                r.event_id,
                batch_id,
                error,
                new_id() if dead else "",
                reason,
                r.first_attempt_at,
                now if status is Status.CONFIRMED else None,
                r.received_at,
            )
            for r in members
        ]

    async def _insert_dead_letters(self, changes: Sequence[Change]) -> None:
        raise NotImplementedError  # provided by the Ledger this is mixed into
