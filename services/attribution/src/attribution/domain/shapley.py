"""Shapley-value attribution over the set of channels each journey touched (order ignored)."""

from __future__ import annotations

from collections.abc import Sequence
from math import comb

import numpy as np
from numpy.typing import NDArray

from attribution.domain.paths import Path, Tally, credited, tally

MAX_CHANNELS = 20  # conversion-rate Shapley: 2^20 coalitions, computed exactly


def simplified_shapley(paths: Sequence[Path]) -> dict[str, tuple[float, float]]:
    """The simplified Shapley value of Zhao et al. (2018, "Shapley Value Methods for Attribution
    Modeling in Online Advertising", eq. 8): each converting journey's conversion and value are
    split equally over its DISTINCT channels (order and repeats ignored); non-converting
    journeys contribute nothing (their channels appear with 0). A converting journey with no
    channel is credited to UNATTRIBUTED. {} when no journey converted."""
    groups = tally(paths, key=lambda p: frozenset(p.channels))
    if not any(t.conversions for t in groups.values()):
        return {}
    conversions: dict[str, float] = {}
    value: dict[str, float] = {}
    unattributed = (0.0, 0.0)
    for channels, t in groups.items():
        if not t.conversions:
            continue
        if not channels:
            unattributed = (float(t.conversions), float(t.value))
            continue
        k = len(channels)
        for c in channels:
            conversions[c] = conversions.get(c, 0.0) + t.conversions / k
            value[c] = value.get(c, 0.0) + float(t.value) / k
    seen = set().union(*groups)
    return credited(seen, conversions, value, unattributed)


def _popcounts(n: int) -> NDArray[np.int64]:
    counts = np.zeros(1, dtype=np.int64)
    for _ in range(n):
        counts = np.concatenate([counts, counts + 1])
    return counts


def _zeta(values: NDArray[np.float64], n: int) -> None:
    """In place: values[S] <- sum of values[T] over T subset of S (bit i = channel i)."""
    for i in range(n):
        pairs = values.reshape(-1, 2, 1 << i)  # [:, 0, :] lacks bit i, [:, 1, :] has it
        pairs[:, 1, :] += pairs[:, 0, :]


class _Game:
    """The coalition game of the conversion-rate Shapley value."""

    def __init__(self, paths: Sequence[Path]) -> None:
        groups = tally(paths, key=lambda p: frozenset(p.channels))
        self.channels = sorted(set().union(*groups))
        n = len(self.channels)
        if n > MAX_CHANNELS:
            raise ValueError(
                f"conversion-rate Shapley computes at most MAX_CHANNELS = {MAX_CHANNELS} "
                f"channels exactly, these journeys have {n}"
            )
        bit = {c: 1 << i for i, c in enumerate(self.channels)}
        self.n = n
        journeys = np.zeros(1 << n)
        conversions = np.zeros(1 << n)
        touched, touchless = Tally(), Tally()
        for channels, t in groups.items():
            mask = sum(bit[c] for c in channels)
            journeys[mask] += t.journeys
            conversions[mask] += t.conversions
            into = touched if channels else touchless
            into.conversions += t.conversions
            into.value += t.value
        self.conversions, self.value = touched.conversions, float(touched.value)
        self.touchless_conversions = touchless.conversions
        self.touchless_value = float(touchless.value)
        _zeta(journeys, n)
        _zeta(conversions, n)
        # v(S): the conversion rate of the journeys whose channel set lies inside S; 0 when
        # no journey does (no evidence, no worth).
        self.worth = np.divide(
            conversions, journeys, out=np.zeros_like(conversions), where=journeys > 0
        )

    def shapley(self) -> NDArray[np.float64]:
        """phi_i = sum over S without i of |S|! (n-|S|-1)! / n! * (v(S + i) - v(S)), exactly over
        all 2^n coalitions (each term bounded, weights positive: no cancellation)."""
        n = self.n
        # weight[S] = |S|! (n-|S|-1)! / n! for every mask S (|S| = n only for the full set,
        # which never lacks a channel: weight 0).
        by_size = np.array([1.0 / (n * comb(n - 1, k)) for k in range(n)] + [0.0])
        weight = by_size[_popcounts(n)]
        phi = np.empty(n)
        for i in range(n):
            worth = self.worth.reshape(-1, 2, 1 << i)  # [:, 0, :] S without i, [:, 1, :] S + i
            without = weight.reshape(-1, 2, 1 << i)[:, 0, :]
            phi[i] = float(np.vdot(worth[:, 1, :] - worth[:, 0, :], without))
        return phi


def conversion_rate_shapley_values(paths: Sequence[Path]) -> dict[str, float]:
    """Channel -> raw Shapley value phi_c of the conversion-rate game (see
    `conversion_rate_shapley`); efficiency: sum of phi = v(all channels) - v(no channel)."""
    game = _Game(paths)
    return dict(zip(game.channels, game.shapley().tolist(), strict=True))


def conversion_rate_shapley(paths: Sequence[Path]) -> dict[str, tuple[float, float]]:
    """Channel -> (credited conversions, credited value) by the Shapley value of the game whose
    worth v(S) is the conversion rate (conversions / journeys) of all journeys, converting or
    not, whose distinct channel set lies inside S (0 when none does; v(empty) is the rate of
    journeys with no channel).

    phi_c is exact over all coalitions: zeta transforms over bitmasks give v, then the marginal
    contributions weighted by |S|! (n-|S|-1)! / n!, numpy-vectorised. At most MAX_CHANNELS
    distinct channels (more: ValueError).

    Credit: a negative phi_c (the channel lowers the conversion rate of the journeys it joins)
    is clipped to 0 before normalising: credited conversions = the touched journeys'
    conversions x max(phi_c, 0) / sum of max(phi, 0), value likewise with their total value.
    Conversions (and value) of journeys with no channel go to UNATTRIBUTED, and so does all the
    touched journeys' credit when no channel has a positive phi. {} when no journey converted.
    """
    game = _Game(paths)
    if not game.conversions and not game.touchless_conversions:
        return {}
    unattributed = (float(game.touchless_conversions), game.touchless_value)
    positive = np.clip(game.shapley(), 0.0, None)
    total = positive.sum()
    if total <= 0:
        unattributed = (
            unattributed[0] + float(game.conversions),
            unattributed[1] + game.value,
        )
        return credited(game.channels, {}, {}, unattributed)
    shares = positive / total
    return credited(
        game.channels,
        dict(zip(game.channels, (game.conversions * shares).tolist(), strict=True)),
        dict(zip(game.channels, (game.value * shares).tolist(), strict=True)),
        unattributed,
    )
