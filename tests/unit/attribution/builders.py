"""Touches and journeys for the attribution domain tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from attribution.domain.model import Interaction, Touch

CONVERTED_AT = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)


def touch(
    touchpoint_id: str,
    channel: str = "search",
    *,
    days_before: float = 1.0,
    at: datetime | None = None,
    interaction: Interaction = Interaction.CLICK,
    seq: int = 0,
    campaign: str = "spring",
) -> Touch:
    """A touch `days_before` the conversion (or exactly `at`)."""
    when = at if at is not None else CONVERTED_AT - timedelta(days=days_before)
    return Touch(touchpoint_id, channel, campaign, when, interaction, seq)
