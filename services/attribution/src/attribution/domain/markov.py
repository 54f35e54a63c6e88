"""First-order Markov attribution by removal effect, computed exactly on the absorbing chain.

The chain: transient states `(start)` and one per channel, absorbing states `(conversion)` and
`(null)`. Every journey, its consecutive repeats collapsed, is the walk start -> c1 -> ... -> ck
-> conversion (converted) or null (did not); transition probabilities are the observed
transition counts normalised per state (each journey counts once). Journeys with no channel are
left out of the chain (they would only add start -> conversion/null, which scales the
conversion probability with and without any channel alike, so no removal effect changes); their
conversions and value are credited to UNATTRIBUTED.

With Q the transient-to-transient block, r the transient-to-conversion column and
N = (I - Q)^-1 the fundamental matrix (N[i, j] = expected visits to j starting from i), the
conversion probability from the start is P = (N r)[start] = a[start], a = N r.

Removing channel c redirects every transition into c to null. The walks that still convert are
exactly those that never visit c, so

    P_without_c = P - P(visit c and convert)
                = P - P(visit c) * a[c],   P(visit c) = N[start, c] / N[c, c]

(a walk that reaches c converts with probability a[c] from there on, Markov property; the
expected visits to c from the start are P(visit c) times the expected visits from c itself).
This is the Sherman-Morrison update of N for the zeroed column c, in closed form: one matrix
inverse serves every channel, with no subtraction of nearly equal probabilities. The removal
effect is 1 - P_without_c / P = N[start, c] * a[c] / (N[c, c] * P).

No sampling and no step limit: ChannelAttribution estimates the same quantities by simulating
walks (cut at `max_step`); here they are the exact infinite-horizon values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from attribution.domain.paths import Path, Tally, collapse, credited, tally


class _Chain:
    """The absorbing chain of the journeys with at least one channel."""

    def __init__(self, paths: Sequence[Path]) -> None:
        groups = tally(paths, key=lambda p: (collapse(p.channels), p.converted))
        self.touchless = Tally()
        self.touched = Tally()
        walks: list[tuple[tuple[str, ...], Tally]] = []
        seen: set[str] = set()
        for (channels, _converted), t in groups.items():
            if not channels:
                self.touchless.journeys += t.journeys
                self.touchless.conversions += t.conversions
                self.touchless.value += t.value
                continue
            self.touched.journeys += t.journeys
            self.touched.conversions += t.conversions
            self.touched.value += t.value
            walks.append((channels, t))
            seen.update(channels)
        self.channels = sorted(seen)
        index = {c: i + 1 for i, c in enumerate(self.channels)}  # 0 is the start
        m = len(self.channels) + 1
        conversion, null = m, m + 1
        src: list[int] = []
        dst: list[int] = []
        weight: list[float] = []
        # Mean conversion value per last channel before the conversion (ChannelAttribution draws
        # each simulated conversion's value from the values of the journeys converting from the
        # same last channel; only its mean matters for the credited value).
        last_value = np.zeros(m)
        last_conversions = np.zeros(m)
        for channels, t in walks:
            states = [0, *(index[c] for c in channels)]
            src.extend(states)
            dst.extend(states[1:])
            dst.append(conversion if t.conversions else null)
            weight.extend([float(t.journeys)] * len(states))
            if t.conversions:
                last_value[states[-1]] += float(t.value)
                last_conversions[states[-1]] += t.conversions
        counts = np.zeros((m, m + 2))
        np.add.at(counts, (np.asarray(src, dtype=np.intp), np.asarray(dst, dtype=np.intp)), weight)
        totals = counts.sum(axis=1, keepdims=True)
        probabilities = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        q, r = probabilities[:, :m], probabilities[:, conversion]
        # Every state seen has an observed way out to an absorbing state: I - Q is invertible.
        self.n: NDArray[np.float64] = np.linalg.inv(np.eye(m) - q)
        self.r: NDArray[np.float64] = r
        self.mean_value = np.divide(
            last_value, last_conversions, out=np.zeros(m), where=last_conversions > 0
        )

    def visit_probabilities(self) -> NDArray[np.float64]:
        """P(the walk from the start visits c), per channel."""
        n = self.n
        return n[0, 1:] / np.diag(n)[1:]

    def removal_effects(self) -> NDArray[np.float64]:
        """1 - P_without_c / P per channel, = P(visit c) * a[c] / P; P must be positive."""
        a = self.n @ self.r
        effects: NDArray[np.float64] = np.clip(self.visit_probabilities() * a[1:] / a[0], 0.0, 1.0)
        return effects

    def value_effects(self) -> NDArray[np.float64]:
        """E[value of the conversion * 1{the walk visits c}] per channel, each conversion worth
        the mean value of conversions from its last channel: ChannelAttribution's value removal
        effect numerator, exactly."""
        b = self.n @ (self.r * self.mean_value)
        return self.visit_probabilities() * b[1:]


def removal_effects(paths: Sequence[Path]) -> dict[str, float]:
    """Channel -> raw removal effect `1 - P_without_c / P` (in [0, 1], not normalised), for every
    channel of the journeys; {} when no journey with a channel converted."""
    chain = _Chain(paths)
    if not chain.touched.conversions:
        return {}
    return dict(zip(chain.channels, chain.removal_effects().tolist(), strict=True))


def markov_credit(paths: Sequence[Path]) -> dict[str, tuple[float, float]]:
    """Channel -> (credited conversions, credited value), as ChannelAttribution's `markov_model`
    (order 1, with null paths) computes them, exactly:

    - conversions: the touched journeys' conversions x effect_c / sum of effects;
    - value: the touched journeys' total value x V_c / sum of V, where V_c is the expected
      value of the conversions whose walk visits c, each conversion valued at the mean value of
      the conversions that came from the same last channel (ChannelAttribution's value removal
      effect: its simulation draws each converting walk's value from its last channel's
      conversion values). This is NOT value x effect_c / sum of effects: a channel that leads
      into a high-value last channel gets a larger value share than conversion share.

    Consecutive repeats are collapsed; non-converting journeys shape the chain. Journeys with no
    channel: their conversions and value go to UNATTRIBUTED, as does any value when no channel
    earned value (sum of V = 0 with a non-zero total). {} when no journey converted.
    """
    chain = _Chain(paths)
    conversions = chain.touched.conversions + chain.touchless.conversions
    if not conversions:
        return {}
    unattributed = [float(chain.touchless.conversions), float(chain.touchless.value)]
    by_conversions: dict[str, float] = {}
    by_value: dict[str, float] = {}
    if chain.touched.conversions:
        effects = chain.removal_effects()
        total = float(chain.touched.conversions)
        by_conversions = dict(
            zip(chain.channels, (total * effects / effects.sum()).tolist(), strict=True)
        )
        values = chain.value_effects()
        value = float(chain.touched.value)
        if values.sum() != 0:
            by_value = dict(
                zip(chain.channels, (value * values / values.sum()).tolist(), strict=True)
            )
        else:
            unattributed[1] += value
    return credited(chain.channels, by_conversions, by_value, (unattributed[0], unattributed[1]))
