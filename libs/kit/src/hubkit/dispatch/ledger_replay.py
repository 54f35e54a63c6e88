"""Dead letters: the filter operators select them by, and replay to pending with a fresh budget."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from hubkit.dispatch.bulk import in_ids
from hubkit.dispatch.model import UNREPLAYABLE, Lane, Status
from hubkit.dispatch.records import Change, decode_request
from hubkit.dispatch.tables import LedgerTables

_DEAD_ENDS = (Status.FAILED.value, Status.DEAD.value)


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


class ReplayOps:
    """Part of the Ledger: replay."""

    session: AsyncSession
    t: LedgerTables

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
                    in_ids(d.c.delivery_id, list({r.delivery_id for r in found})),
                    d.c.status.in_(_DEAD_ENDS),
                    d.c.platform_code.not_in(UNREPLAYABLE),  # erased or misrouted: never sent
                )
                .values(
                    status=Status.PENDING.value,
                    failures=0,
                    first_attempt_at=None,  # a replay gets a whole retry horizon again
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
                .where(in_ids(x.c.delivery_id, list(replayed)), x.c.replayed_at.is_(None))
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
                    request=decode_request(r.request),
                    event_id=r.event_id,
                    batch_id=r.batch_id or "",
                    received_at=r.received_at,
                )
            )
        result.lanes = dict(lanes)
        return result


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
