"""Journeys as data-driven models read them: the channels touched, in order, and the outcome."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from attribution.domain.model import UNATTRIBUTED

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Path:
    """One journey: its channels in journey order, whether it converted, and the conversion's
    value (ignored when it did not convert). An empty `channels` is a conversion no touch
    preceded: models credit it to UNATTRIBUTED."""

    channels: tuple[str, ...]
    converted: bool
    value: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if not isinstance(self.channels, tuple):
            object.__setattr__(self, "channels", tuple(self.channels))


def collapse(channels: Sequence[str]) -> tuple[str, ...]:
    """Consecutive repeats collapsed: A, A, B, A -> A, B, A."""
    out: list[str] = []
    for channel in channels:
        if not out or out[-1] != channel:
            out.append(channel)
    return tuple(out)


@dataclass(slots=True)
class Tally:
    """Journeys counted under one key: how many, how many converted, their converted value."""

    journeys: int = 0
    conversions: int = 0
    value: Decimal = Decimal(0)


def tally(paths: Iterable[Path], key: Callable[[Path], K]) -> dict[K, Tally]:
    """Identical journeys (by `key`) counted once, in first-seen order."""
    out: dict[K, Tally] = {}
    for path in paths:
        k = key(path)
        t = out.get(k)
        if t is None:
            t = out[k] = Tally()
        t.journeys += 1
        if path.converted:
            t.conversions += 1
            t.value += path.value
    return out


def credited(
    channels: Iterable[str],
    conversions: Mapping[str, float],
    value: Mapping[str, float],
    unattributed: tuple[float, float] = (0.0, 0.0),
) -> dict[str, tuple[float, float]]:
    """The shape every data-driven model returns: channel -> (credited conversions, credited
    value) for every channel seen (sorted; 0 when it earned nothing), then UNATTRIBUTED ->
    (conversions, value) when any credit went to no channel."""
    out = {c: (conversions.get(c, 0.0), value.get(c, 0.0)) for c in sorted(channels)}
    if unattributed[0] or unattributed[1]:
        out[UNATTRIBUTED] = unattributed
    return out
