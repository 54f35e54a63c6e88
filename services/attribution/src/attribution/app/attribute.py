"""Per-conversion attribution: on every accepted conversion (and on Recalculate), its journey
credited under every rule-based model and stored with it, exact to the stored precision."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from attribution.domain.journeys import eligible
from attribution.domain.model import (
    RULE_MODELS,
    UNATTRIBUTED,
    CreditRow,
    Settings,
    StoredConversion,
    Touch,
)
from attribution.domain.rules import credits, split_value
from convhub.common.v1 import common_pb2
from convhub.router.v1 import router_pb2

REVENUE_PLACES = 12


class Store(Protocol):
    async def touches_of(
        self,
        site_id: str,
        visitor_id: str,
        user_keys: Sequence[str],
        since: datetime,
        until: datetime,
    ) -> list[Touch]: ...

    async def replace_credits(
        self, items: Sequence[tuple[StoredConversion, Sequence[CreditRow], bool]]
    ) -> None:
        """(conversion, its credit rows, unattributed) each, in one transaction."""
        ...


SettingsOf = Callable[[str], Settings]


def settings_from_site(site: router_pb2.Site) -> Settings:
    """A site's attribution settings (router configuration; zero values: the defaults)."""
    a, defaults = site.attribution, Settings()
    return Settings(
        lookback=defaults.lookback if a.lookback_days <= 0 else timedelta(days=a.lookback_days),
        half_life=defaults.half_life if a.half_life_days <= 0 else timedelta(days=a.half_life_days),
        click_only=a.click_only,
        exclude_surveys=a.exclude_surveys,
        view_through=timedelta(days=a.view_through_days) if a.view_through_days > 0 else None,
    )


def stored_conversion(c: common_pb2.HashedConversion) -> StoredConversion | None:
    """What attribution keeps of an accepted conversion; None when it cannot be placed in time."""
    if not c.conversion_id or not c.site_id or not c.HasField("event_time"):
        return None
    keys = {
        getattr(variant, field)
        for variant in (c.user_data.google, c.user_data.meta, c.user_data.tiktok)
        for field in ("email", "phone", "external_id")
        if getattr(variant, field)
    }
    return StoredConversion(
        conversion_id=c.conversion_id,
        site_id=c.site_id,
        visitor_id=c.visitor_id,
        user_keys=tuple(sorted(keys)),
        event_type=c.event_type,
        event_time=c.event_time.ToDatetime(tzinfo=UTC),
        value=Decimal(c.value) if c.value else Decimal(0),
        currency=c.currency,
    )


class Attribute:
    """Credit conversions under every rule-based model and store the credits."""

    def __init__(self, store: Store, settings_of: SettingsOf) -> None:
        self._store = store
        self._settings_of = settings_of

    async def accepted(self, conversions: Sequence[StoredConversion]) -> None:
        """Conversions as ingest accepted them: stored with their credits (idempotent)."""
        await self.credit_many(conversions)

    async def credit(self, c: StoredConversion) -> None:
        """(Re)compute and store the conversion's credits from the touches known now."""
        await self.credit_many([c])

    async def credit_many(
        self, conversions: Sequence[StoredConversion], *, readers: int = 1, chunk: int = 500
    ) -> None:
        """Each conversion's journey read (`readers` at a time), then the credits of each
        `chunk` of them stored in one transaction: thousands cost a handful of commits."""
        gate = asyncio.Semaphore(readers)

        async def credited(c: StoredConversion) -> tuple[StoredConversion, list[CreditRow], bool]:
            settings = self._settings_of(c.site_id)
            async with gate:
                touches = await self._store.touches_of(
                    c.site_id,
                    c.visitor_id,
                    c.user_keys,
                    c.event_time - settings.lookback,
                    c.event_time,
                )
            journey = eligible(touches, c.event_time, settings)
            return c, credit_rows(journey, c, settings), not journey

        for start in range(0, len(conversions), chunk):
            part = conversions[start : start + chunk]
            await self._store.replace_credits(await asyncio.gather(*(credited(c) for c in part)))


def credit_rows(
    journey: Sequence[Touch], c: StoredConversion, settings: Settings
) -> list[CreditRow]:
    """Every rule-based model's credit rows; an empty journey is one unattributed row each, so
    channel credit plus unattributed always equals the total, in conversions and in value."""
    rows: list[CreditRow] = []
    for model in RULE_MODELS:
        if not journey:
            rows.append(
                CreditRow(model.value, 0, "", UNATTRIBUTED, UNATTRIBUTED, Decimal(1), c.value)
            )
            continue
        fractions = credits(model, journey, c.event_time, settings)
        revenue = split_value(fractions, c.value, REVENUE_PLACES)
        for position, (touch, share, money) in enumerate(
            zip(journey, fractions, revenue, strict=True)
        ):
            rows.append(
                CreditRow(
                    model.value,
                    position,
                    touch.touchpoint_id,
                    touch.channel,
                    touch.campaign,
                    share,
                    money,
                )
            )
    return rows
