"""Rule-based credit: exact fractions summing to 1, and exact revenue shares."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from attribution.domain.model import DATA_DRIVEN_MODELS, RULE_MODELS, Model, Settings, Touch
from attribution.domain.rules import CREDIT_PLACES, credits, decay_weight, split_value

from .builders import CONVERTED_AT, touch

S = Settings()
ONE = Decimal(1)
QUANTUM = Decimal(1).scaleb(-CREDIT_PLACES)


def q(x: Fraction | int) -> Decimal:
    """x rounded half-even to CREDIT_PLACES (the test's own reference rounding)."""
    x = Fraction(x)
    return Decimal(round(x * 10**CREDIT_PLACES)).scaleb(-CREDIT_PLACES)


def journey(n: int) -> list[Touch]:
    """n touches one day apart, oldest first."""
    return [touch(f"t{i}", f"ch{i}", days_before=n - i) for i in range(n)]


def random_journey(rng: random.Random, n: int) -> list[Touch]:
    touches = [
        touch(
            f"t{i}",
            rng.choice("ABCD"),
            days_before=rng.choice([0, 0.5, 1, 1, 2, 7, 13.25, 29.999]),
            seq=rng.randrange(3),
        )
        for i in range(n)
    ]
    rng.shuffle(touches)
    return touches


@pytest.mark.parametrize("model", RULE_MODELS)
def test_credits_sum_to_exactly_one_and_are_quantized(model: Model) -> None:
    rng = random.Random(f"sum-{model}")
    for n in [1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 17, 29, 30]:
        for _ in range(5):
            shares = credits(model, random_journey(rng, n), CONVERTED_AT, S)
            assert len(shares) == n
            assert sum(shares) == ONE
            assert all(s.as_tuple().exponent == -CREDIT_PLACES for s in shares)
            assert all(s >= 0 for s in shares)


@pytest.mark.parametrize("model", RULE_MODELS)
def test_empty_journey_has_no_credit(model: Model) -> None:
    assert credits(model, [], CONVERTED_AT, S) == []


@pytest.mark.parametrize("model", RULE_MODELS)
def test_a_single_touch_gets_everything(model: Model) -> None:
    assert credits(model, journey(1), CONVERTED_AT, S) == [ONE]


def test_first_and_last() -> None:
    for n in (2, 3, 6):
        first = credits(Model.FIRST, journey(n), CONVERTED_AT, S)
        last = credits(Model.LAST, journey(n), CONVERTED_AT, S)
        assert first == [ONE] + [Decimal(0)] * (n - 1)
        assert last == [Decimal(0)] * (n - 1) + [ONE]


def test_linear_two_and_three_touches() -> None:
    assert credits(Model.LINEAR, journey(2), CONVERTED_AT, S) == [Decimal("0.5")] * 2
    third = q(Fraction(1, 3))
    # 3 x 0.333...3 is one unit short: the remainder goes to the latest of the equal shares.
    assert credits(Model.LINEAR, journey(3), CONVERTED_AT, S) == [third, third, third + QUANTUM]


def test_linear_gives_a_channel_touched_k_times_k_over_n() -> None:
    channels = ["search", "social", "search", "email", "search", "social", "display"]
    touches = [touch(f"t{i}", c, days_before=10 - i) for i, c in enumerate(channels)]
    shares = credits(Model.LINEAR, touches, CONVERTED_AT, S)
    by_channel: dict[str, Decimal] = {}
    for t, s in zip(touches, shares, strict=True):
        by_channel[t.channel] = by_channel.get(t.channel, Decimal(0)) + s
    n = len(channels)
    for channel, k in {"search": 3, "social": 2, "email": 1, "display": 1}.items():
        assert abs(Fraction(by_channel[channel]) - Fraction(k, n)) <= n * Fraction(QUANTUM)
    assert by_channel["search"] == 3 * q(Fraction(1, 7))
    assert by_channel["display"] == q(Fraction(1, 7)) + 2 * QUANTUM  # latest: the remainder


def test_position_based() -> None:
    half = Decimal("0.5")
    assert credits(Model.POSITION_BASED, journey(2), CONVERTED_AT, S) == [half, half]
    forty, twenty = Decimal("0.4"), Decimal("0.2")
    assert credits(Model.POSITION_BASED, journey(3), CONVERTED_AT, S) == [forty, twenty, forty]
    assert credits(Model.POSITION_BASED, journey(4), CONVERTED_AT, S) == [
        forty,
        Decimal("0.1"),
        Decimal("0.1"),
        forty,
    ]
    five = credits(Model.POSITION_BASED, journey(5), CONVERTED_AT, S)
    middle = q(Fraction(1, 15))  # 0.2 / 3, rounded up: 3 x middle is one unit over
    assert five == [forty, middle, middle, middle, forty - QUANTUM]


def test_decay_weight_halves_exactly_every_half_life() -> None:
    week = timedelta(days=7)
    for age in [timedelta(0), timedelta(hours=5), timedelta(days=3, microseconds=17), week]:
        assert decay_weight(age + week, week) * 2 == decay_weight(age, week)
        assert decay_weight(age + 3 * week, week) * 8 == decay_weight(age, week)
    assert decay_weight(timedelta(0), week) == 1.0
    assert decay_weight(timedelta(days=3.5), week) == pytest.approx(2**-0.5, rel=1e-15)
    assert decay_weight(timedelta(days=1), timedelta(days=2)) == pytest.approx(0.5**0.5)
    with pytest.raises(ValueError):
        decay_weight(-timedelta(microseconds=1), week)


def test_time_decay_a_touch_one_half_life_older_gets_half_the_credit() -> None:
    touches = [touch("old", days_before=9.25), touch("new", days_before=2.25)]
    old, new = credits(Model.TIME_DECAY, touches, CONVERTED_AT, S)
    assert (old, new) == (q(Fraction(1, 3)), q(Fraction(2, 3)))
    # Twice the half-life: 1 : 2 : 4.
    three = [touch("a", days_before=15), touch("b", days_before=8), touch("c", days_before=1)]
    shares = credits(Model.TIME_DECAY, three, CONVERTED_AT, S)
    assert shares == [q(Fraction(1, 7)), q(Fraction(2, 7)), q(Fraction(4, 7))]  # rounding sums to 1
    # Another half-life: 1 : 2.
    longer = Settings(half_life=timedelta(days=2))
    pair = [touch("a", days_before=3), touch("b", days_before=1)]
    assert credits(Model.TIME_DECAY, pair, CONVERTED_AT, longer) == [
        q(Fraction(1, 3)),
        q(Fraction(2, 3)),
    ]


def test_time_decay_is_continuous_and_equal_times_share_equally() -> None:
    shares = credits(
        Model.TIME_DECAY, [touch("a", days_before=3.5), touch("b", days_before=0)], CONVERTED_AT, S
    )
    ratio = float(shares[0]) / float(shares[1])
    assert ratio == pytest.approx(2**-0.5, rel=1e-12)
    same = credits(
        Model.TIME_DECAY,
        [touch("a", days_before=2, seq=1), touch("b", days_before=2, seq=2)],
        CONVERTED_AT,
        S,
    )
    assert same == [Decimal("0.5"), Decimal("0.5")]


def test_ties_keep_arrival_order() -> None:
    at = CONVERTED_AT - timedelta(days=1)
    # Given out of order; same instant: seq decides which touch is first and last.
    touches = [
        touch("second", at=at, seq=2),
        touch("third", at=at, seq=3),
        touch("first", at=at, seq=1),
    ]
    assert credits(Model.FIRST, touches, CONVERTED_AT, S) == [0, 0, ONE]
    assert credits(Model.LAST, touches, CONVERTED_AT, S) == [0, ONE, 0]
    forty, twenty = Decimal("0.4"), Decimal("0.2")
    assert credits(Model.POSITION_BASED, touches, CONVERTED_AT, S) == [twenty, forty, forty]
    # Full ties (same instant, same seq): the order given.
    same = [touch("x", at=at), touch("y", at=at)]
    assert credits(Model.FIRST, same, CONVERTED_AT, S) == [ONE, 0]
    assert credits(Model.LAST, same, CONVERTED_AT, S) == [0, ONE]


def test_credits_come_back_in_the_order_given() -> None:
    touches = [
        touch("mid", days_before=2),
        touch("new", days_before=1),
        touch("old", days_before=3),
    ]
    assert credits(Model.FIRST, touches, CONVERTED_AT, S) == [0, 0, ONE]
    assert credits(Model.LAST, touches, CONVERTED_AT, S) == [0, ONE, 0]


@pytest.mark.parametrize("model", RULE_MODELS)
def test_a_touch_after_the_conversion_is_refused(model: Model) -> None:
    touches = [touch("ok", days_before=1), touch("late", days_before=-0.001)]
    with pytest.raises(ValueError, match="late"):
        credits(model, touches, CONVERTED_AT, S)


@pytest.mark.parametrize("model", DATA_DRIVEN_MODELS)
def test_data_driven_models_are_refused(model: Model) -> None:
    with pytest.raises(ValueError, match="data-driven"):
        credits(model, journey(2), CONVERTED_AT, S)


def test_models_by_name() -> None:
    assert credits("last", journey(2), CONVERTED_AT, S) == [0, ONE]  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        credits("nope", journey(2), CONVERTED_AT, S)  # type: ignore[arg-type]


def test_split_value_sums_exactly() -> None:
    rng = random.Random("split")
    for _ in range(300):
        model = rng.choice(RULE_MODELS)
        shares = credits(model, random_journey(rng, rng.randint(1, 12)), CONVERTED_AT, S)
        places = rng.choice([0, 2, 3, 6])
        value = Decimal(rng.randint(-(10**9), 10**9)).scaleb(-min(places, rng.randint(0, 6)))
        split = split_value(shares, value, places)
        assert sum(split) == value
        assert all(s.as_tuple().exponent == -places for s in split)
        for share, fraction in zip(split, shares, strict=True):
            assert abs(share - value * fraction) <= Decimal(len(shares)).scaleb(-places)


def test_split_value_example() -> None:
    thirds = credits(Model.LINEAR, journey(3), CONVERTED_AT, S)
    assert split_value(thirds, Decimal("129.99"), 6) == [Decimal("43.330000")] * 3
    # 100 / 3: the remainder cent goes to the largest fraction (the latest touch's).
    assert split_value(thirds, Decimal("100"), 2) == [
        Decimal("33.33"),
        Decimal("33.33"),
        Decimal("33.34"),
    ]
    # Equal fractions: the remainder goes to the last.
    halves = [Decimal("0.5"), Decimal("0.5")]
    assert split_value(halves, Decimal("0.01"), 2) == [Decimal("0.00"), Decimal("0.01")]
    assert split_value([ONE, Decimal(0)], Decimal("9.99"), 2) == [Decimal("9.99"), Decimal("0.00")]
    # Unnormalised weights are normalised; a refund splits the same way.
    assert split_value([Decimal(1), Decimal(3)], Decimal("-10"), 2) == [
        Decimal("-2.50"),
        Decimal("-7.50"),
    ]


@pytest.mark.parametrize(
    ("fractions", "value", "places"),
    [
        ([ONE], Decimal("1.234"), 2),  # more places than the shares have
        ([], Decimal("1.00"), 2),
        ([Decimal("-0.5"), Decimal("1.5")], Decimal(1), 2),
        ([Decimal(0), Decimal(0)], Decimal(1), 2),
        ([ONE], Decimal("NaN"), 2),
        ([ONE], Decimal(1), -1),
    ],
)
def test_split_value_refuses_what_cannot_sum(
    fractions: list[Decimal], value: Decimal, places: int
) -> None:
    with pytest.raises(ValueError):
        split_value(fractions, value, places)
