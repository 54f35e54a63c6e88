"""Erasure (GDPR): the router forgets the hashed personal data it holds for erased conversions."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from router.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)


class Eraser:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def erase(self, site_id: str, conversion_ids: Sequence[str]) -> int:
        """Parked payloads deleted; idempotent. (The sGTM dispatcher's ledger erases its own.)"""
        if not conversion_ids:
            return 0
        async with self._uow() as uow:
            erased = await uow.decisions.erase(conversion_ids)
            await uow.commit()
        log.info(
            "erased the data of %d conversion(s) of site %s (%d row(s))",
            len(conversion_ids),
            site_id,
            erased,
            extra={"fields": {"site_id": site_id, "conversions": len(conversion_ids)}},
        )
        return erased
