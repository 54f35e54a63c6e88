"""Rule-based credit of one conversion's journey, in exact decimal fractions.

Every share is computed as an exact rational (`fractions.Fraction`), rounded half-even to the
stored places, and the rounding remainder (a few units in the last place, either sign) is put
on the LARGEST share; among equal largest shares, on the LATEST touch (journey order: by
`occurred_at`, ties by `seq`, then the order given). So the shares always sum to exactly the
whole: `Decimal(1)` for credits, the value for `split_value`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from attribution.domain.journeys import order_key
from attribution.domain.model import Model, Settings, Touch, require_aware

CREDIT_PLACES = 20  # decimal places of stored credit fractions

_MICROSECOND = timedelta(microseconds=1)


def decay_weight(age: timedelta, half_life: timedelta) -> float:
    """`0.5 ** (age / half_life)`, continuous in the age, with the whole half-lives applied as an
    exact power of two: a touch exactly one half-life older weighs exactly half as much (bit
    for bit). Ages are counted in whole microseconds (datetime's resolution)."""
    if half_life <= timedelta(0):
        raise ValueError(f"half_life must be positive, got {half_life}")
    if age < timedelta(0):
        raise ValueError(f"age must not be negative, got {age}")
    age_us, life_us = age // _MICROSECOND, half_life // _MICROSECOND
    whole, rest = divmod(age_us, life_us)
    return math.ldexp(2.0 ** (-rest / life_us), -whole)


def _rule_weights(
    model: Model, ordered: Sequence[Touch], converted_at: datetime, settings: Settings
) -> list[Fraction]:
    n = len(ordered)
    if model is Model.FIRST:
        return [Fraction(1)] + [Fraction(0)] * (n - 1)
    if model is Model.LAST:
        return [Fraction(0)] * (n - 1) + [Fraction(1)]
    if model is Model.LINEAR:
        return [Fraction(1)] * n
    if model is Model.POSITION_BASED:
        if n <= 2:
            return [Fraction(1)] * n
        middle = Fraction(1, 5) / (n - 2)
        return [Fraction(2, 5)] + [middle] * (n - 2) + [Fraction(2, 5)]
    if model is Model.TIME_DECAY:
        # Normalised weights only depend on age differences: measured from the newest touch
        # (weight 1), so no weight underflows to 0 whatever the lookback.
        newest = ordered[-1].occurred_at
        return [Fraction(decay_weight(newest - t.occurred_at, settings.half_life)) for t in ordered]
    raise ValueError(f"{model} is data-driven: credit it with the markov/shapley modules")


def _round(x: Fraction, places: int) -> Decimal:
    """x rounded half-even to `places` decimal places, exactly (no intermediate rounding)."""
    return Decimal(round(x * 10**places)).scaleb(-places)


def _apportion(weights: Sequence[Fraction], total: Fraction, places: int) -> list[Decimal]:
    """`total` split in proportion to `weights` (in journey order), summing exactly to `total`."""
    whole = sum(weights, Fraction(0))
    shares = [_round(total * w / whole, places) for w in weights]
    largest = max(weights)
    at = max(i for i, w in enumerate(weights) if w == largest)  # ties: the latest
    shares[at] += _round(total, places) - sum(shares, Decimal(0))
    return shares


def credits(
    model: Model, journey: Sequence[Touch], converted_at: datetime, settings: Settings
) -> list[Decimal]:
    """One credit fraction per journey touch (in the order given), quantized to CREDIT_PLACES,
    summing to exactly `Decimal(1)`; an empty journey gets `[]` (its conversion is
    UNATTRIBUTED).

    Position in the journey (first, last, middle) is by (occurred_at, seq), full ties keeping
    the order given; the journey need not be sorted. Models:

    - first / last: everything to the first / last touch.
    - linear: 1/n per touch (a channel touched k times gets k/n in all).
    - position_based: 1 touch: all; 2: half each; n >= 3: 40 % first, 40 % last, 20 % split
      equally over the n - 2 middle touches.
    - time_decay: weight 0.5 ** (age / half_life), age = converted_at - occurred_at (continuous),
      normalised.

    Raises ValueError for a data-driven model or a touch after `converted_at`.
    """
    model = Model(model)
    require_aware(converted_at, "converted_at")
    if model not in (Model.FIRST, Model.LAST, Model.LINEAR, Model.POSITION_BASED, Model.TIME_DECAY):
        raise ValueError(f"{model} is data-driven: credit it with the markov/shapley modules")
    if not journey:
        return []
    late = [t.touchpoint_id for t in journey if t.occurred_at > converted_at]
    if late:
        raise ValueError(f"touches after the conversion: {late}")
    order = sorted(range(len(journey)), key=lambda i: order_key(journey[i]))
    weights = _rule_weights(model, [journey[i] for i in order], converted_at, settings)
    shares = _apportion(weights, Fraction(1), CREDIT_PLACES)
    out = [Decimal(0)] * len(journey)
    for position, i in enumerate(order):
        out[i] = shares[position]
    return out


def split_value(fractions: Sequence[Decimal], value: Decimal, places: int) -> list[Decimal]:
    """`value` shared in proportion to `fractions` (normally credits summing to 1; any
    non-negative weights with a positive sum are normalised), each share rounded half-even to
    `places` decimal places, the shares summing to exactly `value`. The remainder goes to the
    largest fraction, ties to the last one (credits come in journey order: the latest touch).

    Raises ValueError when `value` has more than `places` decimal places (no shares could sum
    to it), when there are no fractions, or a fraction is negative, or they sum to 0.
    """
    if places < 0:
        raise ValueError(f"places must not be negative, got {places}")
    if not value.is_finite():
        raise ValueError(f"value must be finite, got {value}")
    exact = Fraction(value)
    if (exact * 10**places).denominator != 1:
        raise ValueError(f"value {value} has more than {places} decimal places")
    if not fractions:
        raise ValueError("no fractions to split a value over")
    weights = [Fraction(f) for f in fractions]
    if any(w < 0 for w in weights):
        raise ValueError(f"negative credit fraction in {list(fractions)}")
    if sum(weights) == 0:
        raise ValueError("credit fractions sum to 0")
    return _apportion(weights, exact, places)
