"""Simplified and conversion-rate Shapley values, against hand computation and brute force."""

from __future__ import annotations

import itertools
import math
import random
from decimal import Decimal
from fractions import Fraction

import pytest

from attribution.domain.model import UNATTRIBUTED
from attribution.domain.paths import Path
from attribution.domain.shapley import (
    MAX_CHANNELS,
    conversion_rate_shapley,
    conversion_rate_shapley_values,
    simplified_shapley,
)

D = Decimal


def journeys(channels: str, converted: int, total: int, value: int = 0) -> list[Path]:
    """`total` journeys touching `channels`, the first `converted` of them converting, each
    conversion worth `value`."""
    return [
        Path(tuple(channels), i < converted, D(value) if i < converted else D(0))
        for i in range(total)
    ]


# -- simplified Shapley (Zhao et al. 2018) ----------------------------------------------------


def test_simplified_shapley_hand_example() -> None:
    paths = [
        Path(("A", "B", "A"), True, D(30)),  # A and B: 1/2 each, 15 each
        Path(("A",), True, D(10)),  # A: 1, 10
        Path(("C",), False),  # nothing, but C is seen
        Path(("B", "C"), True, D(20)),  # B and C: 1/2 each, 10 each
        Path(("A", "B"), False),  # nothing
    ]
    assert simplified_shapley(paths) == {
        "A": (1.5, 25.0),
        "B": (1.0, 25.0),
        "C": (0.5, 10.0),
    }


def test_simplified_shapley_ignores_order_and_repeats() -> None:
    a = [Path(("A", "B", "B", "C"), True, D(9))]
    b = [Path(("C", "A", "B"), True, D(9))]
    assert simplified_shapley(a) == simplified_shapley(b)
    credit = simplified_shapley(a)
    assert list(credit) == ["A", "B", "C"]
    assert all(credit[c] == pytest.approx((1 / 3, 3.0)) for c in "ABC")


def test_simplified_shapley_edges() -> None:
    assert simplified_shapley([]) == {}
    assert simplified_shapley([Path(("A",), False)]) == {}
    credit = simplified_shapley([Path((), True, D(4)), Path(("A",), True, D(2))])
    assert credit == {"A": (1.0, 2.0), UNATTRIBUTED: (1.0, 4.0)}


# -- conversion-rate Shapley ----------------------------------------------------------------


def test_two_channel_hand_example() -> None:
    # {A}: 1 of 4 convert, {B}: 1 of 2, {A,B}: 2 of 2. v(0) = 0 (no journey without a channel),
    # v(A) = 1/4, v(B) = 1/2, v(AB) = 4/8 = 1/2.
    # phi_A = (v(A) - v(0) + v(AB) - v(B)) / 2 = 1/8;  phi_B = (1/2 + 1/4) / 2 = 3/8.
    paths = journeys("A", 1, 4, 10) + journeys("B", 1, 2, 20) + journeys("AB", 2, 2, 35)
    phi = conversion_rate_shapley_values(paths)
    assert phi == pytest.approx({"A": 1 / 8, "B": 3 / 8}, abs=1e-15)
    assert sum(phi.values()) == pytest.approx(1 / 2 - 0)  # efficiency: v(AB) - v(0)
    # 4 conversions worth 100 in all, shared 1 : 3.
    credit = conversion_rate_shapley(paths)
    assert credit == {"A": pytest.approx((1.0, 25.0)), "B": pytest.approx((3.0, 75.0))}


def test_three_channel_hand_example_with_a_negative_value_clipped() -> None:
    # {A}: 1/2, {B}: 0/2, {C}: 1/1, {A,B}: 2/2 (values 10; 20; 5 and 25).
    # v: 0 -> 0, A 1/2, B 0, C 1, AB 3/6, AC 2/3, BC 1/3, ABC 4/7.
    # phi_A = 1/3*(1/2) + 1/6*(1/2) + 1/6*(2/3 - 1) + 1/3*(4/7 - 1/3) = 23/84
    # phi_B = 1/3*0 + 1/6*(1/2 - 1/2) + 1/6*(1/3 - 1) + 1/3*(4/7 - 2/3) = -1/7
    # phi_C = 1/3*1 + 1/6*(2/3 - 1/2) + 1/6*(1/3) + 1/3*(4/7 - 1/2) = 37/84
    paths = (
        journeys("A", 1, 2, 10)
        + journeys("B", 0, 2)
        + journeys("C", 1, 1, 20)
        + [Path(("A", "B"), True, D(5)), Path(("B", "A"), True, D(25))]
    )
    phi = conversion_rate_shapley_values(paths)
    assert phi == pytest.approx({"A": 23 / 84, "B": -1 / 7, "C": 37 / 84}, abs=1e-15)
    assert sum(phi.values()) == pytest.approx(4 / 7)
    # B clipped to 0; 4 conversions and 60 of value shared 23 : 37.
    credit = conversion_rate_shapley(paths)
    assert credit["B"] == (0.0, 0.0)
    assert credit["A"] == pytest.approx((4 * 23 / 60, 60 * 23 / 60))
    assert credit["C"] == pytest.approx((4 * 37 / 60, 60 * 37 / 60))


def test_a_dummy_channel_gets_nothing() -> None:
    # d never changes the rate of a coalition: v(S + d) = v(S) for every S.
    # no channel: 1/2, {d}: 1/2, {A}: 2/2, {A,d}: 2/2 -> v(0) = v(d) = 1/2, v(A) = v(Ad) = 3/4.
    paths = journeys("", 1, 2, 8) + journeys("d", 1, 2, 8) + journeys("A", 2, 2, 8)
    paths += journeys("Ad", 2, 2, 8)
    phi = conversion_rate_shapley_values(paths)
    assert phi["d"] == 0.0
    assert phi["A"] == pytest.approx(1 / 4, abs=1e-15)
    credit = conversion_rate_shapley(paths)
    assert credit["d"] == (0.0, 0.0)
    # The touchless journey's conversion is unattributed; the 5 touched ones all go to A.
    assert credit == {"A": (5.0, 40.0), "d": (0.0, 0.0), UNATTRIBUTED: (1.0, 8.0)}


def test_symmetric_channels_get_equal_values() -> None:
    rng = random.Random("symmetry")
    paths: list[Path] = []
    for _ in range(200):
        channels = tuple(rng.sample("ABCDE", rng.randint(1, 4)))
        converted = rng.random() < 0.4
        mirrored = tuple({"A": "B", "B": "A"}.get(c, c) for c in channels)
        paths += [Path(channels, converted), Path(mirrored, converted)]
    phi = conversion_rate_shapley_values(paths)
    assert phi["A"] == pytest.approx(phi["B"], abs=1e-14)
    assert phi["A"] != pytest.approx(phi["C"], abs=1e-6)
    credit = conversion_rate_shapley(paths)
    assert credit["A"] == pytest.approx(credit["B"])


def worth(paths: list[Path], coalition: frozenset[str]) -> Fraction:
    inside = [p for p in paths if set(p.channels) <= coalition]
    return Fraction(sum(p.converted for p in inside), len(inside)) if inside else Fraction(0)


@pytest.mark.parametrize("seed", range(3))
def test_matches_the_permutation_definition(seed: int) -> None:
    rng = random.Random(seed)
    paths = [
        Path(tuple(rng.choice("ABCDE") for _ in range(rng.randint(0, 4))), rng.random() < 0.3)
        for _ in range(150)
    ]
    channels = sorted({c for p in paths for c in p.channels})
    exact = dict.fromkeys(channels, Fraction(0))
    for order in itertools.permutations(channels):
        before: frozenset[str] = frozenset()
        for c in order:
            exact[c] += worth(paths, before | {c}) - worth(paths, before)
            before = before | {c}
    n_orders = math.factorial(len(channels))
    expected = {c: float(v / n_orders) for c, v in exact.items()}
    phi = conversion_rate_shapley_values(paths)
    assert phi == pytest.approx(expected, abs=1e-14)
    # Efficiency: the values share exactly the grand coalition's gain over no channel.
    gain = worth(paths, frozenset(channels)) - worth(paths, frozenset())
    assert sum(phi.values()) == pytest.approx(float(gain), abs=1e-14)


def test_credit_sums_to_the_totals_and_unattributed_keeps_the_touchless() -> None:
    rng = random.Random("totals")
    paths = [
        Path(
            tuple(rng.choice("ABCDEF") for _ in range(rng.randint(0, 5))),
            rng.random() < 0.3,
            D(rng.randint(1, 9999)).scaleb(-2),
        )
        for _ in range(800)
    ]
    converted = [p for p in paths if p.converted]
    touchless = [p for p in converted if not p.channels]
    credit = conversion_rate_shapley(paths)
    assert credit[UNATTRIBUTED] == pytest.approx(
        (len(touchless), float(sum(p.value for p in touchless)))
    )
    assert sum(c for c, _ in credit.values()) == pytest.approx(len(converted))
    assert sum(v for _, v in credit.values()) == pytest.approx(
        float(sum(p.value for p in converted))
    )
    assert all(c >= 0 and v >= 0 for c, v in credit.values())


def test_no_channel_raising_the_rate_leaves_the_credit_unattributed() -> None:
    # no channel: 1 of 2 convert; {A}: 1 of 4 -> v(0) = 1/2, v(A) = 2/6: phi_A = -1/6.
    paths = journeys("", 1, 2, 3) + journeys("A", 1, 4, 7)
    assert conversion_rate_shapley_values(paths) == pytest.approx({"A": -1 / 6})
    assert conversion_rate_shapley(paths) == {"A": (0.0, 0.0), UNATTRIBUTED: (2.0, 10.0)}


def test_conversion_rate_shapley_edges() -> None:
    assert conversion_rate_shapley([]) == {}
    assert conversion_rate_shapley([Path(("A",), False)]) == {}
    assert conversion_rate_shapley_values([]) == {}
    assert conversion_rate_shapley([Path(("A",), True, D(3))]) == {"A": (1.0, 3.0)}
    touchless = [Path((), True, D("2.5")), Path((), False)]
    assert conversion_rate_shapley(touchless) == {UNATTRIBUTED: (1.0, 2.5)}


def test_twenty_channels_compute_and_more_are_refused() -> None:
    rng = random.Random("twenty")
    names = [f"ch{i:02d}" for i in range(MAX_CHANNELS)]
    assert MAX_CHANNELS == 20
    paths = [
        Path(tuple(rng.sample(names, rng.randint(1, 6))), rng.random() < 0.3, D(10))
        for _ in range(5000)
    ]
    paths += [Path((c,), True, D(10)) for c in names]  # every channel seen
    phi = conversion_rate_shapley_values(paths)
    assert list(phi) == names
    gain = worth(paths, frozenset(names)) - worth(paths, frozenset())
    assert sum(phi.values()) == pytest.approx(float(gain), abs=1e-12)
    credit = conversion_rate_shapley(paths)
    assert sum(c for c, _ in credit.values()) == pytest.approx(sum(p.converted for p in paths))
    with pytest.raises(ValueError, match="20"):
        conversion_rate_shapley([*paths, Path(("one-too-many",), False)])
