"""Batch accumulator: per lane, how many events fall due when; which lanes should flush now.

It is a trigger, not a store: the ledger holds the events and a flush claims whatever is due
there. Counts may drift (another replica claimed, a lease expired), so the dispatcher reconciles
them with the ledger now and then (`replace`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass
class _Queue:
    due: list[float] = field(default_factory=list)  # sorted due times
    counts: list[int] = field(default_factory=list)  # events falling due at due[i]
    deadlines: list[float] = field(default_factory=list)  # flush due[i] by then, full or not

    def total(self) -> int:
        return sum(self.counts)

    def due_count(self, now: float) -> int:
        return sum(self.counts[: bisect.bisect_right(self.due, now)])

    def ready_at(self, size: int) -> float | None:
        """The earliest time to flush: a full batch due, or the linger deadline."""
        if not self.due:
            return None
        at = min(self.deadlines)
        running = 0
        for due, count in zip(self.due, self.counts, strict=True):
            if due >= at:
                break
            running += count
            if running >= size:
                return due
        return at


class BatchAccumulator(Generic[K]):
    """Flush a lane when `size` events are due, or when its oldest event waited `linger`.

    Retries (added with `linger=False`) flush as soon as they are due: they have waited enough.
    """

    def __init__(
        self, size: int, linger: float, limits: Callable[[K], tuple[int, float]] | None = None
    ) -> None:
        if size < 1 or linger < 0:
            raise ValueError("size >= 1 and linger >= 0 required")
        self.size = size
        self.linger = linger
        self._limits = limits  # per lane (size, linger); the defaults above otherwise
        self._lanes: dict[K, _Queue] = {}

    def limits(self, lane: K) -> tuple[int, float]:
        return self._limits(lane) if self._limits is not None else (self.size, self.linger)

    def add(self, lane: K, count: int, due_at: float, *, linger: bool = True) -> None:
        """`count` events of `lane` fall due at `due_at` (epoch seconds)."""
        if count <= 0:
            return
        q = self._lanes.setdefault(lane, _Queue())
        deadline = due_at + (self.limits(lane)[1] if linger else 0.0)
        i = bisect.bisect_left(q.due, due_at)
        if i < len(q.due) and q.due[i] == due_at:
            q.counts[i] += count
            q.deadlines[i] = min(q.deadlines[i], deadline)
        else:
            q.due.insert(i, due_at)
            q.counts.insert(i, count)
            q.deadlines.insert(i, deadline)

    def taken(self, lane: K, count: int) -> None:
        """A flush claimed `count` events: they were the oldest due ones."""
        q = self._lanes.get(lane)
        if q is None:
            return
        while count > 0 and q.due:
            used = min(count, q.counts[0])
            count -= used
            q.counts[0] -= used
            if q.counts[0] == 0:
                del q.due[0], q.counts[0], q.deadlines[0]
        if not q.due:
            del self._lanes[lane]

    def replace(self, lane: K, entries: list[tuple[float, int]]) -> None:
        """Reconcile a lane with the ledger's truth: (due time, count) pairs."""
        self._lanes.pop(lane, None)
        for due_at, count in entries:
            self.add(lane, count, due_at)

    def forget(self, lane: K) -> None:
        self._lanes.pop(lane, None)

    def ready(self, now: float) -> list[K]:
        """Lanes to flush now, the longest waiting first."""
        found = []
        for lane, q in self._lanes.items():
            at = q.ready_at(self.limits(lane)[0])
            if at is not None and at <= now:
                found.append((q.due[0], lane))
        found.sort(key=lambda pair: pair[0])
        return [lane for _, lane in found]

    def lingered(self, lane: K, now: float) -> bool:
        """True when the lane's deadline passed (a partial batch is due)."""
        q = self._lanes.get(lane)
        return q is not None and bool(q.due) and min(q.deadlines) <= now

    def next_ready_at(self, after: float) -> float | None:
        """When the next lane that is not ready at `after` becomes ready; None if none will."""
        times = [q.ready_at(self.limits(lane)[0]) for lane, q in self._lanes.items()]
        later = [t for t in times if t is not None and t > after]
        return min(later) if later else None

    def due_count(self, lane: K, now: float) -> int:
        q = self._lanes.get(lane)
        return q.due_count(now) if q else 0

    def pending(self, lane: K | None = None) -> int:
        """Events known to wait (due or not), for one lane or all."""
        if lane is not None:
            q = self._lanes.get(lane)
            return q.total() if q else 0
        return sum(q.total() for q in self._lanes.values())

    def lanes(self) -> Iterator[K]:
        return iter(list(self._lanes))
