"""A conversion's journey: the touches that may share its credit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from attribution.domain.model import Interaction, Settings, Touch, require_aware

_VIEWS = frozenset({Interaction.VIEW, Interaction.IMPRESSION})


def order_key(touch: Touch) -> tuple[datetime, int]:
    """Journey order: by time, ties in arrival order (`seq`); sort stably for full ties."""
    return (touch.occurred_at, touch.seq)


def eligible(touches: Iterable[Touch], converted_at: datetime, settings: Settings) -> list[Touch]:
    """The conversion's journey, ordered by (occurred_at, seq) (stable: full ties keep the order
    given).

    - Duplicates by `touchpoint_id` are removed first, over all the touches given: the record
      that arrived first (lowest `seq`, then first given) is the touchpoint; later records of
      the same id are redeliveries, whatever they say.
    - Then kept: touches in `converted_at - lookback <= occurred_at <= converted_at` (both ends
      inclusive: a touch at the very instant of the conversion counts).
    - With `click_only`, views and impressions are dropped; clicks and survey answers stay.
      Otherwise views and impressions older than the `view_through` window are dropped.
    - With `exclude_surveys`, survey answers are dropped.
    """
    require_aware(converted_at, "converted_at")
    first: dict[str, Touch] = {}
    for touch in touches:
        kept = first.get(touch.touchpoint_id)
        if kept is None or touch.seq < kept.seq:
            first[touch.touchpoint_id] = touch
    start = converted_at - settings.lookback
    views_from = converted_at - (settings.view_through or settings.lookback)
    journey = [
        t
        for t in first.values()
        if start <= t.occurred_at <= converted_at and _counts(t, views_from, settings)
    ]
    journey.sort(key=order_key)
    return journey


def _counts(t: Touch, views_from: datetime, settings: Settings) -> bool:
    if t.interaction in _VIEWS:
        return not settings.click_only and t.occurred_at >= views_from
    if t.interaction is Interaction.SURVEY:
        return not settings.exclude_surveys
    return True
