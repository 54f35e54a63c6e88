"""Erasure in the ledger: a person's unsent deliveries failed, their stored requests stripped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hubkit.dispatch.bulk import in_ids
from hubkit.dispatch.model import ERASED, ErrorClass, PlatformError, Status
from hubkit.dispatch.records import Change, decode_request
from hubkit.dispatch.tables import LedgerTables

# ERASED is also the platform_code of an erased delivery: replay skips those.
ERASED_ERROR = PlatformError(ErrorClass.NONE, ERASED, ERASED)

# What identifies or tracks a person in a stored HashedConversion; ids, order, value stay.
_PERSONAL_FIELDS = (
    "user_data",
    "client_ip",
    "user_agent",
    "click_ids",
    "visitor_id",
    "page_url",
    "referrer_url",
)
_UNSENT = (Status.PENDING.value, Status.SENDING.value)


def strip_request(data: bytes) -> bytes:
    """A stored DispatchRequested without personal data (idempotent)."""
    request = decode_request(data)
    for name in _PERSONAL_FIELDS:
        request.conversion.ClearField(name)
    return bytes(request.SerializeToString())


class ErasureOps:
    """Part of the Ledger: erasure."""

    session: AsyncSession
    t: LedgerTables

    async def erase(self, conversion_ids: Sequence[str]) -> list[Change]:
        """Fail the conversions' unsent deliveries as erased; strip personal data everywhere.

        Idempotent: a second run finds nothing unsent and nothing left to strip. Returns the
        deliveries it failed (to announce as DeliveryUpdated FAILED; no dead letter, as an
        erased delivery is not replayable).
        """
        if not conversion_ids:
            return []
        d = self.t.deliveries
        ids = list(conversion_ids)
        # Locks the rows: a claim (skip_locked) passes over them, then finds them failed.
        rows = (
            await self.session.execute(
                select(d.c.delivery_id, d.c.status, d.c.request)
                .where(in_ids(d.c.conversion_id, ids))
                .with_for_update()
            )
        ).all()
        stripped = []
        for row in rows:
            clean = strip_request(row.request)
            if clean != bytes(row.request):
                stripped.append({"b_id": row.delivery_id, "b_request": clean})
        if stripped:
            await self.session.execute(
                update(d)
                .where(d.c.delivery_id == bindparam("b_id"))
                .values(request=bindparam("b_request")),
                stripped,
            )
        # Frozen payloads hold the hashed identifiers as sent: gone too.
        await self.session.execute(
            update(d)
            .where(in_ids(d.c.conversion_id, ids), d.c.payload.is_not(None))
            .values(payload=None)
        )
        failed = (
            await self.session.execute(
                update(d)
                .where(in_ids(d.c.conversion_id, ids), d.c.status.in_(_UNSENT))
                .values(
                    status=Status.FAILED.value,
                    lease_owner=None,
                    lease_until=None,
                    sequence=d.c.sequence + 1,
                    updated_at=func.now(),
                    error_class=int(ERASED_ERROR.error_class),
                    platform_code=ERASED,
                    last_error=ERASED,
                )
                .returning(*_columns(self.t))
            )
        ).all()
        # Dead ones too: a replay must not resurrect them; their dead letters keep the cause.
        # Sent ones awaiting a platform's report too: a report failing them later must not
        # make them replayable, nor one asking for a resend send them again.
        await self.session.execute(
            update(d)
            .where(
                in_ids(d.c.conversion_id, ids),
                d.c.status.in_((Status.FAILED.value, Status.DEAD.value, Status.SENT.value)),
                d.c.platform_code != ERASED,
            )
            .values(platform_code=ERASED, last_error=ERASED, updated_at=func.now())
        )
        await self._scrub_messages([r.delivery_id for r in rows], ids)
        return [_change(r) for r in failed]

    async def _scrub_messages(self, delivery_ids: list[str], conversion_ids: list[str]) -> None:
        """Platform messages may echo what was sent: blank them for the erased deliveries."""
        a, x = self.t.attempts, self.t.dead_letters
        if delivery_ids:
            await self.session.execute(
                update(a)
                .where(in_ids(a.c.delivery_id, delivery_ids), a.c.error_message != "")
                .values(error_message="")
            )
        await self.session.execute(
            update(x)
            .where(in_ids(x.c.conversion_id, conversion_ids), x.c.reason != ERASED)
            .values(last_error="", reason=ERASED)
        )


def _columns(t: LedgerTables) -> list[Any]:
    d = t.deliveries
    return [
        d.c.delivery_id,
        d.c.conversion_id,
        d.c.site_id,
        d.c.account_id,
        d.c.event_id,
        d.c.attempts,
        d.c.sequence,
        d.c.batch_id,
        d.c.request,
        d.c.first_attempt_at,
        d.c.received_at,
    ]


def _change(r: Any) -> Change:
    return Change(
        delivery_id=r.delivery_id,
        conversion_id=r.conversion_id,
        site_id=r.site_id,
        account_id=r.account_id,
        status=Status.FAILED,
        attempts=r.attempts,
        sequence=r.sequence,
        request=decode_request(r.request),  # already stripped: only the trace is used
        event_id=r.event_id,
        batch_id=r.batch_id or "",
        error=ERASED_ERROR,
        reason=ERASED,
        first_attempt_at=r.first_attempt_at,
        received_at=r.received_at,
    )
