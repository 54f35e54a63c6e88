"""Markov removal effects, exactly, against hand computation and an independent solver."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

import pytest

from attribution.domain.markov import markov_credit, removal_effects
from attribution.domain.model import UNATTRIBUTED
from attribution.domain.paths import Path, collapse

D = Decimal

# A -> conv (value 10), A -> B -> conv (value 30), B -> null. By hand:
#   start: A 2/3, B 1/3;  A: conv 1/2, B 1/2;  B: conv 1/2, null 1/2.
#   P = 2/3 * (1/2 + 1/2 * 1/2) + 1/3 * 1/2 = 2/3
#   without A: 1/3 * 1/2 = 1/6            -> effect A = 1 - (1/6) / (2/3) = 3/4
#   without B: 2/3 * 1/2 = 1/3            -> effect B = 1 - (1/3) / (2/3) = 1/2
#   conversions (2): A = 2 * (3/4) / (5/4) = 6/5, B = 4/5.
#   value: conversions from A are worth 10 on average, from B 30. Converting walks:
#   start-A-conv (1/3, visits A, 10), start-B-conv (1/6, B, 30), start-A-B-conv (1/6, A+B, 30)
#   V_A = 10/3 + 30/6 = 25/3, V_B = 30/6 + 30/6 = 10 -> A = 40 * 25/55, B = 40 * 30/55.
HAND = [Path(("A",), True, D(10)), Path(("A", "B"), True, D(30)), Path(("B",), False)]


def test_hand_computed_removal_effects() -> None:
    effects = removal_effects(HAND)
    assert effects == pytest.approx({"A": 0.75, "B": 0.5}, abs=1e-12)


def test_hand_computed_credit() -> None:
    credit = markov_credit(HAND)
    assert list(credit) == ["A", "B"]
    assert credit["A"] == pytest.approx((1.2, 40 * 25 / 55), abs=1e-12)
    assert credit["B"] == pytest.approx((0.8, 40 * 30 / 55), abs=1e-12)
    # Not value x effect share (that would give A 24): the value follows the last channel.
    assert credit["A"][1] != pytest.approx(24.0)


def test_consecutive_repeats_are_collapsed() -> None:
    assert collapse(["A", "A", "B", "B", "B", "A", "C", "C"]) == ("A", "B", "A", "C")
    assert collapse([]) == ()
    repeated = [
        Path(("A", "A"), True, D(10)),
        Path(("A", "A", "B", "B", "B"), True, D(30)),
        Path(("B", "B"), False),
    ]
    assert removal_effects(repeated) == pytest.approx(removal_effects(HAND), abs=1e-12)
    assert markov_credit(repeated) == markov_credit(HAND)


def test_non_converting_journeys_shape_the_chain() -> None:
    converting = HAND[:2]
    # Without B -> null every walk converts (P = 1): removing A loses all, removing B half.
    assert removal_effects(converting) != pytest.approx(removal_effects(HAND))
    assert removal_effects(converting) == pytest.approx({"A": 1.0, "B": 0.5}, abs=1e-12)


def test_no_converting_journey_gives_nothing() -> None:
    assert removal_effects([]) == {}
    assert markov_credit([]) == {}
    lost = [Path(("A", "B"), False), Path(("B",), False)]
    assert removal_effects(lost) == {}
    assert markov_credit(lost) == {}


def test_a_single_channel_earns_everything() -> None:
    paths = [Path(("A",), True, D("12.5")), Path(("A", "A"), False), Path(("A",), True, D("7.5"))]
    assert removal_effects(paths) == {"A": 1.0}
    assert markov_credit(paths) == {"A": (2.0, 20.0)}


def test_journeys_without_a_touch_are_unattributed() -> None:
    paths = [*HAND, Path((), True, D(5)), Path((), False), Path((), True, D(2))]
    credit = markov_credit(paths)
    assert credit[UNATTRIBUTED] == (2.0, 7.0)
    assert credit["A"] == pytest.approx(markov_credit(HAND)["A"])
    only = markov_credit([Path((), True, D(5)), Path(("A",), False)])
    assert only == {"A": (0.0, 0.0), UNATTRIBUTED: (1.0, 5.0)}


def test_a_channel_that_never_leads_to_a_conversion_gets_nothing() -> None:
    paths = [Path(("A",), True, D(1)), Path(("C",), False), Path(("C", "C"), False)]
    assert removal_effects(paths) == {"A": 1.0, "C": 0.0}
    assert markov_credit(paths)["C"] == (0.0, 0.0)


# An independent reading of the same model: states (channel, visited c?), probabilities
# iterated to a fixed point in plain Python, no matrix inverse and no closed form.


def reference(paths: list[Path]) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    counts: dict[str, dict[str, float]] = {}
    last_value: dict[str, list[float]] = {}
    conversions = 0
    value = 0.0
    for p in paths:
        walk = ["(start)", *collapse(p.channels), "(conv)" if p.converted else "(null)"]
        for a, b in itertools.pairwise(walk):
            counts.setdefault(a, {}).setdefault(b, 0.0)
            counts[a][b] += 1
        if p.converted:
            conversions += 1
            value += float(p.value)
            last_value.setdefault(walk[-2], []).append(float(p.value))
    prob = {a: {b: n / sum(row.values()) for b, n in row.items()} for a, row in counts.items()}
    mean = {c: sum(v) / len(v) for c, v in last_value.items()}
    channels = sorted(s for s in counts if s != "(start)")

    def expected(c: str | None, worth: dict[str, float]) -> float:
        # f[s, seen]: E[worth of the last channel, if the walk from s converts having seen c]
        # (c None: whatever it saw).
        def step(f: dict[tuple[str, bool], float], s: str, seen: bool) -> float:
            total = 0.0
            for t, p in prob[s].items():
                if t == "(conv)":
                    total += p * (worth.get(s, 0.0) if seen or c is None else 0.0)
                elif t != "(null)":
                    total += p * f[(t, seen or t == c)]
            return total

        f = {(s, seen): 0.0 for s in counts for seen in (False, True)}
        for _ in range(10_000):
            g = {key: step(f, *key) for key in f}
            if max(abs(g[k] - f[k]) for k in f) < 1e-15:
                break
            f = g
        return g[("(start)", False)]

    ones = dict.fromkeys(channels, 1.0)
    total = expected(None, ones)
    effects = {c: expected(c, ones) / total for c in channels}  # P(visit c | conversion)
    values = {c: expected(c, mean) for c in channels}
    credit = {
        c: (
            conversions * effects[c] / sum(effects.values()),
            value * values[c] / sum(values.values()),
        )
        for c in channels
    }
    return effects, credit


@pytest.mark.parametrize("seed", range(4))
def test_matches_an_independent_fixed_point_solution(seed: int) -> None:
    rng = random.Random(seed)
    paths = [
        Path(
            tuple(rng.choice("ABCD") for _ in range(rng.randint(1, 5))),
            rng.random() < 0.35,
            D(rng.randint(1, 200)),
        )
        for _ in range(60)
    ]
    effects, credit = reference(paths)
    assert removal_effects(paths) == pytest.approx(effects, abs=1e-9)
    ours = markov_credit(paths)
    assert ours.keys() == credit.keys()
    for c in credit:
        assert ours[c] == pytest.approx(credit[c], rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_credit_sums_to_the_totals(seed: int) -> None:
    rng = random.Random(f"totals-{seed}")
    paths = [
        Path(
            tuple(rng.choice("ABCDEFG") for _ in range(rng.randint(0, 6))),
            rng.random() < 0.3,
            D(rng.randint(0, 10_000)).scaleb(-2),
        )
        for _ in range(500)
    ]
    credit = markov_credit(paths)
    converted = [p for p in paths if p.converted]
    assert sum(c for c, _ in credit.values()) == pytest.approx(len(converted), rel=1e-12)
    assert sum(v for _, v in credit.values()) == pytest.approx(
        float(sum(p.value for p in converted)), rel=1e-12
    )
    assert all(0.0 <= e <= 1.0 for e in removal_effects(paths).values())
