"""A site's journeys in a time range, in bulk: every conversion's journey (its visitor's and
stitched identities' touches) and the journeys that did not convert, for the data-driven
models and path analysis."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from attribution.domain.journeys import eligible
from attribution.domain.model import Settings, Sighting, StoredConversion, Touch


@dataclass(frozen=True, slots=True)
class Journeys:
    converting: list[tuple[StoredConversion, list[Touch]]]
    non_converting: list[list[Touch]]


class _Identities:
    """Union-find over visitor ids and hashed user keys: one person, however seen."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self._parent.setdefault(x, x)
        while parent != x:
            self._parent[x] = self._parent.setdefault(parent, parent)
            x, parent = parent, self._parent[parent]
        return x

    def join(self, ids: Iterable[str]) -> str | None:
        ids = list(ids)
        if not ids:
            return None
        root = self.find(ids[0])
        for other in ids[1:]:
            top = self.find(other)
            if top != root:
                self._parent[top] = root
        return root


def _ids(visitor_id: str, user_keys: Sequence[str]) -> list[str]:
    return ([f"v:{visitor_id}"] if visitor_id else []) + [f"k:{k}" for k in user_keys]


def build(
    conversions: Sequence[StoredConversion],
    sightings: Sequence[Sighting],
    settings: Settings,
    *,
    since: datetime | None = None,
) -> Journeys:
    """`sightings` cover the range and its lookback; a journey that did not convert is the
    touches of one person on or after `since` (the range's start)."""
    people = _Identities()
    for s in sightings:
        people.join(_ids(s.visitor_id, s.user_keys))
    for c in conversions:
        people.join(_ids(c.visitor_id, c.user_keys))
    touches: dict[str, list[Touch]] = defaultdict(list)
    for s in sightings:
        root = people.find(_ids(s.visitor_id, s.user_keys)[0])
        touches[root].append(s.touch)
    converting = []
    converted: set[str] = set()
    for c in conversions:
        ids = _ids(c.visitor_id, c.user_keys)
        person = people.find(ids[0]) if ids else None
        mine = touches.get(person, []) if person is not None else []
        if person is not None:
            converted.add(person)
        converting.append((c, eligible(mine, c.event_time, settings)))
    non_converting = []
    for root, theirs in touches.items():
        if root in converted:
            continue
        kept = [t for t in theirs if since is None or t.occurred_at >= since]
        if settings.click_only:
            kept = [t for t in kept if t.interaction.value in ("click", "survey")]
        if settings.exclude_surveys:
            kept = [t for t in kept if t.interaction.value != "survey"]
        if kept:
            # A journey that did not convert spans the lookback window up to its last touch,
            # as a converting one spans it up to the conversion.
            kept.sort(key=lambda t: (t.occurred_at, t.seq))
            horizon = kept[-1].occurred_at - settings.lookback
            non_converting.append([t for t in kept if t.occurred_at >= horizon])
    return Journeys(converting, non_converting)
