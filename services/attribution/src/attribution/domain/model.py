"""The attribution vocabulary: models, touches, and the settings a journey is read with."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal


class Model(enum.StrEnum):
    FIRST = "first"
    LAST = "last"
    LINEAR = "linear"
    POSITION_BASED = "position_based"
    TIME_DECAY = "time_decay"
    MARKOV = "markov"
    SHAPLEY = "shapley"
    CONVERSION_RATE_SHAPLEY = "conversion_rate_shapley"


# Rule-based models credit one conversion's journey on its own (`rules.credits`); data-driven
# models learn from every journey, converting or not (`markov`, `shapley`).
RULE_MODELS: tuple[Model, ...] = (
    Model.FIRST,
    Model.LAST,
    Model.LINEAR,
    Model.POSITION_BASED,
    Model.TIME_DECAY,
)
DATA_DRIVEN_MODELS: tuple[Model, ...] = (
    Model.MARKOV,
    Model.SHAPLEY,
    Model.CONVERSION_RATE_SHAPLEY,
)


class Interaction(enum.StrEnum):
    CLICK = "click"
    VIEW = "view"
    IMPRESSION = "impression"
    SURVEY = "survey"  # a post-purchase "how did you hear about us" answer: not a view


# The key of credit no touch earned: a conversion with an empty journey, or (data-driven models)
# credit no channel earned.
UNATTRIBUTED = "(unattributed)"


def require_aware(when: datetime, what: str) -> None:
    """Journeys compare instants: a naive datetime is refused rather than guessed."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {when!r}")


@dataclass(frozen=True, slots=True)
class Touch:
    """One recorded touchpoint. `seq` is its arrival order: touches at the same `occurred_at`
    keep arrival order (ties on both keep the order they are given in)."""

    touchpoint_id: str
    channel: str
    campaign: str
    occurred_at: datetime
    interaction: Interaction = Interaction.CLICK
    seq: int = 0

    def __post_init__(self) -> None:
        require_aware(self.occurred_at, "Touch.occurred_at")


@dataclass(frozen=True, slots=True)
class Settings:
    """How a conversion's journey is read: the lookback window (inclusive), the time-decay
    half-life, whether views/impressions count (and within which view-through window), and
    whether survey answers do."""

    lookback: timedelta = timedelta(days=30)
    half_life: timedelta = timedelta(days=7)
    click_only: bool = False
    exclude_surveys: bool = False
    view_through: timedelta | None = None  # None: views count over the whole lookback

    def __post_init__(self) -> None:
        if self.lookback <= timedelta(0):
            raise ValueError(f"lookback must be positive, got {self.lookback}")
        if self.half_life <= timedelta(0):
            raise ValueError(f"half_life must be positive, got {self.half_life}")


@dataclass(frozen=True, slots=True)
class StoredConversion:
    conversion_id: str
    site_id: str
    visitor_id: str
    user_keys: tuple[str, ...]
    event_type: str
    event_time: datetime
    value: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class CreditRow:
    """One touch's (or the unattributed) share of a conversion under one model."""

    model: str
    position: int
    touchpoint_id: str
    channel: str
    campaign: str
    credit: Decimal
    revenue: Decimal


@dataclass(frozen=True, slots=True)
class Sighting:
    """A touch with who made it (for building journeys in bulk)."""

    touch: Touch
    visitor_id: str
    user_keys: tuple[str, ...]
