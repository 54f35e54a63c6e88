"""Ledger reads for the operator API: deliveries with history, batches, dead letters, stats."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from hubkit import matchkeys
from hubkit.dispatch.bulk import in_ids
from hubkit.dispatch.ledger_replay import DeadLetterFilter, dead_letter_conditions
from hubkit.dispatch.model import BatchStatus, Status
from hubkit.dispatch.tables import LedgerTables

_ACCEPTED = (Status.CONFIRMED.value, Status.SENT.value)
_BACKLOG = (Status.PENDING.value, Status.SENDING.value)


@dataclass
class WindowStats:
    confirmed: int = 0
    failed: int = 0
    dead: int = 0
    retries: int = 0
    backlog: int = 0
    dead_letter_depth: int = 0
    per_account: dict[str, dict[str, int]] = field(default_factory=dict)
    # Platforms' later reports (ReportsLater): final states and error reasons in the window.
    received: int = 0  # deliveries taken in during the window
    match_key_counts: dict[str, int] = field(default_factory=dict)
    match_quality: float = 0.0  # their mean estimated match quality
    request_states: dict[str, int] = field(default_factory=dict)
    reported_errors: dict[str, int] = field(default_factory=dict)
    awaiting_reports: int = 0


class LedgerQueries:
    def __init__(self, engine: AsyncEngine, tables: LedgerTables) -> None:
        self._engine = engine
        self.t = tables

    async def deliveries_of(self, conversion_id: str) -> list[Any]:
        d = self.t.deliveries
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(d).where(d.c.conversion_id == conversion_id).order_by(d.c.delivery_id)
            )
            return list(result.all())

    async def attempts_of(self, delivery_ids: Sequence[str]) -> dict[str, list[Any]]:
        a = self.t.attempts
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(a)
                .where(in_ids(a.c.delivery_id, list(delivery_ids)))
                .order_by(a.c.delivery_id, a.c.number, a.c.started_at)
            )
            history: dict[str, list[Any]] = defaultdict(list)
            for row in rows:
                history[row.delivery_id].append(row)
            return history

    async def batch(self, batch_id: str) -> tuple[Any | None, list[Any]]:
        """The batch and its events in request order (with outcomes once it was answered)."""
        b, a, d = self.t.batches, self.t.attempts, self.t.deliveries
        async with self._engine.connect() as conn:
            head = (await conn.execute(select(b).where(b.c.batch_id == batch_id))).first()
            if head is None:
                return None, []
            answered = (
                await conn.execute(
                    select(
                        a.c.delivery_id,
                        a.c.outcome,
                        a.c.error_class,
                        a.c.platform_code,
                        a.c.error_message,
                        d.c.conversion_id,
                        d.c.site_id,
                        d.c.event_id,
                    )
                    .join(d, d.c.delivery_id == a.c.delivery_id)
                    .where(a.c.batch_id == batch_id)
                    .order_by(a.c.position)
                )
            ).all()
            if answered:
                return head, list(answered)
            # In flight: the events leased to it, no outcome yet.
            leased = (
                await conn.execute(
                    select(
                        d.c.delivery_id,
                        d.c.status.label("outcome"),
                        d.c.conversion_id,
                        d.c.site_id,
                        d.c.event_id,
                    )
                    .where(d.c.batch_id == batch_id)
                    .order_by(d.c.delivery_id)
                )
            ).all()
            return head, list(leased)

    async def dead_letters(
        self, f: DeadLetterFilter, *, page_size: int, after: tuple[datetime, str] | None
    ) -> tuple[list[Any], int]:
        """A page, newest first, keyed after (dead_lettered_at, id); and the total matching."""
        x = self.t.dead_letters
        conditions = dead_letter_conditions(x, f)
        page = select(x).where(*conditions)
        if after is not None:
            page = page.where(tuple_(x.c.dead_lettered_at, x.c.dead_letter_id) < after)
        page = page.order_by(x.c.dead_lettered_at.desc(), x.c.dead_letter_id.desc()).limit(
            page_size
        )
        async with self._engine.connect() as conn:
            rows = list((await conn.execute(page)).all())
            total = (
                await conn.execute(select(func.count()).select_from(x).where(*conditions))
            ).scalar_one()
        return rows, int(total)

    async def stats(self, window: timedelta, site_id: str = "") -> WindowStats:
        a, b, d, x = self.t.attempts, self.t.batches, self.t.deliveries, self.t.dead_letters
        since = func.now() - window
        out = WindowStats()
        async with self._engine.connect() as conn:
            outcomes = (
                select(b.c.account_id, a.c.outcome, func.count())
                .join(b, b.c.batch_id == a.c.batch_id)
                .where(a.c.started_at >= since)
                # A split parent's events were resent at once, not retried later.
                .where(
                    or_(a.c.outcome != Status.PENDING.value, b.c.status != BatchStatus.SPLIT.value)
                )
                .group_by(b.c.account_id, a.c.outcome)
            )
            backlog = (
                select(d.c.account_id, func.count())
                .where(d.c.status.in_(_BACKLOG))
                .group_by(d.c.account_id)
            )
            deaths = select(x.c.status, func.count()).where(x.c.dead_lettered_at >= since)
            depth = select(func.count()).select_from(x).where(x.c.replayed_at.is_(None))
            if site_id:
                outcomes = outcomes.join(d, d.c.delivery_id == a.c.delivery_id).where(
                    d.c.site_id == site_id
                )
                backlog = backlog.where(d.c.site_id == site_id)
                deaths = deaths.where(x.c.site_id == site_id)
                depth = depth.where(x.c.site_id == site_id)
            for account, outcome, count in await conn.execute(outcomes):
                per = out.per_account.setdefault(account, defaultdict(int))
                if outcome in _ACCEPTED:
                    out.confirmed += count
                    per["confirmed"] += count
                elif outcome == Status.PENDING.value:
                    out.retries += count
                else:
                    per["failed"] += count
            for account, count in await conn.execute(backlog):
                out.backlog += count
                out.per_account.setdefault(account, defaultdict(int))["backlog"] += count
            for status, count in await conn.execute(deaths.group_by(x.c.status)):
                if status == Status.DEAD.value:
                    out.dead += count
                else:
                    out.failed += count
            out.dead_letter_depth = int((await conn.execute(depth)).scalar_one())
            await self._reports(conn, since, site_id, out)
            await self._match_keys(conn, since, site_id, out)
        return out

    async def _match_keys(self, conn: Any, since: Any, site_id: str, out: WindowStats) -> None:
        d = self.t.deliveries
        query = select(d.c.match_keys, func.count()).where(d.c.created_at >= since)
        if site_id:
            query = query.where(d.c.site_id == site_id)
        counts: Counter[str] = Counter({key.value: 0 for key in matchkeys.MatchKey})
        quality = 0.0
        for mask, count in await conn.execute(query.group_by(d.c.match_keys)):
            keys = matchkeys.keys_of_mask(mask)
            out.received += count
            counts.update({key.value: count for key in keys})
            quality += matchkeys.score(keys) * count
        out.match_key_counts = dict(counts)
        out.match_quality = round(quality / out.received, 2) if out.received else 0.0

    async def _reports(self, conn: Any, since: Any, site_id: str, out: WindowStats) -> None:
        b, d = self.t.batches, self.t.deliveries
        final = (
            select(b.c.status_state, b.c.status_report)
            .where(b.c.status_due_at.is_(None), b.c.status_state != "")
            .where(b.c.status_checked_at >= since)
        )
        awaiting = select(func.count()).select_from(b).where(b.c.status_due_at.isnot(None))
        if site_id:
            of_site = exists().where(d.c.batch_id == b.c.batch_id, d.c.site_id == site_id)
            final, awaiting = final.where(of_site), awaiting.where(of_site)
        states: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        for state, report in await conn.execute(final):
            states[state] += 1
            errors.update((report or {}).get("errors", {}))
        out.request_states, out.reported_errors = dict(states), dict(errors)
        out.awaiting_reports = int((await conn.execute(awaiting)).scalar_one())
