"""Which touches make a conversion's journey, and in which order."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import datetime, timedelta
from typing import Any

import pytest

from attribution.domain.journeys import eligible
from attribution.domain.model import (
    DATA_DRIVEN_MODELS,
    RULE_MODELS,
    Interaction,
    Model,
    Settings,
    Touch,
)

from .builders import CONVERTED_AT, touch

MICRO = timedelta(microseconds=1)


def ids(journey: list[Touch]) -> list[str]:
    return [t.touchpoint_id for t in journey]


def test_models_split_into_rule_and_data_driven() -> None:
    assert set(RULE_MODELS) | set(DATA_DRIVEN_MODELS) == set(Model)
    assert not set(RULE_MODELS) & set(DATA_DRIVEN_MODELS)
    assert Model("position_based") is Model.POSITION_BASED
    assert str(Model.CONVERSION_RATE_SHAPLEY) == "conversion_rate_shapley"


@pytest.mark.parametrize(
    "fields",
    [{"lookback": timedelta(0)}, {"lookback": -MICRO}, {"half_life": timedelta(0)}],
)
def test_settings_refuse_non_positive_durations(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Settings(**fields)


def test_settings_defaults_and_immutability() -> None:
    s = Settings()
    assert (s.lookback, s.half_life, s.click_only) == (timedelta(days=30), timedelta(days=7), False)
    with pytest.raises(FrozenInstanceError):
        s.click_only = True  # type: ignore[misc]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Touch("t", "search", "c", datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        eligible([touch("t")], datetime(2025, 3, 31), Settings())


def test_touches_after_the_conversion_are_excluded() -> None:
    touches = [
        touch("before", days_before=1),
        touch("at", at=CONVERTED_AT),
        touch("after", at=CONVERTED_AT + MICRO),
        touch("much-after", days_before=-3),
    ]
    assert ids(eligible(touches, CONVERTED_AT, Settings())) == ["before", "at"]


def test_lookback_boundary_is_inclusive() -> None:
    edge = CONVERTED_AT - timedelta(days=30)
    touches = [touch("edge", at=edge), touch("outside", at=edge - MICRO)]
    assert ids(eligible(touches, CONVERTED_AT, Settings())) == ["edge"]
    short = Settings(lookback=timedelta(days=7))
    assert eligible([touch("t", days_before=7)], CONVERTED_AT, short) != []
    assert (
        eligible([touch("t", at=CONVERTED_AT - timedelta(days=7) - MICRO)], CONVERTED_AT, short)
        == []
    )


def test_ordered_by_time_ties_keep_arrival_order() -> None:
    at = CONVERTED_AT - timedelta(days=2)
    touches = [
        touch("late", days_before=1, seq=1),
        touch("tie-second", at=at, seq=7),
        touch("early", days_before=5, seq=9),
        touch("tie-first", at=at, seq=3),
    ]
    assert ids(eligible(touches, CONVERTED_AT, Settings())) == [
        "early",
        "tie-first",
        "tie-second",
        "late",
    ]


def test_full_ties_keep_the_order_given() -> None:
    touches = [touch(f"t{i}", days_before=1) for i in (3, 1, 2)]
    assert ids(eligible(touches, CONVERTED_AT, Settings())) == ["t3", "t1", "t2"]


def test_click_only_drops_views_and_impressions_but_keeps_surveys() -> None:
    touches = [
        touch("click", interaction=Interaction.CLICK, days_before=4),
        touch("view", interaction=Interaction.VIEW, days_before=3),
        touch("impression", interaction=Interaction.IMPRESSION, days_before=2),
        touch("survey", interaction=Interaction.SURVEY, days_before=1),
    ]
    assert ids(eligible(touches, CONVERTED_AT, Settings(click_only=True))) == ["click", "survey"]
    assert len(eligible(touches, CONVERTED_AT, Settings())) == 4


def test_view_through_window_and_surveys_per_site() -> None:
    touches = [
        touch("click", interaction=Interaction.CLICK, days_before=4),
        touch("old-view", interaction=Interaction.VIEW, days_before=3),
        touch("view", interaction=Interaction.VIEW, days_before=0.5),
        touch("impression", interaction=Interaction.IMPRESSION, days_before=1),
        touch("survey", interaction=Interaction.SURVEY, days_before=0.1),
    ]
    one_day = Settings(view_through=timedelta(days=1))
    assert ids(eligible(touches, CONVERTED_AT, one_day)) == [
        "click",
        "impression",  # exactly 1 day before: the window's edge counts
        "view",
        "survey",
    ]
    no_surveys = Settings(exclude_surveys=True, view_through=timedelta(days=1))
    assert ids(eligible(touches, CONVERTED_AT, no_surveys)) == ["click", "impression", "view"]
    both = Settings(click_only=True, view_through=timedelta(days=1))  # click_only wins
    assert ids(eligible(touches, CONVERTED_AT, both)) == ["click", "survey"]


def test_duplicates_by_touchpoint_id_are_removed_keeping_the_first_arrival() -> None:
    touches = [
        touch("a", "social", days_before=3, seq=5),
        touch("a", "search", days_before=2, seq=2),  # arrived first: this is the touchpoint
        touch("a", "email", days_before=1, seq=9),
        touch("b", days_before=1, seq=1),
        touch("b", days_before=1, seq=1),
    ]
    journey = eligible(touches, CONVERTED_AT, Settings())
    assert ids(journey) == ["a", "b"]
    assert journey[0].channel == "search"


def test_empty_when_nothing_qualifies() -> None:
    assert eligible([], CONVERTED_AT, Settings()) == []
    assert eligible([touch("old", days_before=31)], CONVERTED_AT, Settings()) == []
