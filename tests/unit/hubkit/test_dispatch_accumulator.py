"""The batch accumulator: flush on size or linger, retries without linger, reconciliation."""

from __future__ import annotations

import pytest

from hubkit.dispatch.accumulator import BatchAccumulator


def test_flushes_on_size_at_once_and_on_linger_otherwise() -> None:
    acc: BatchAccumulator[str] = BatchAccumulator(size=10, linger=0.5)
    acc.add("a", 4, due_at=100.0)
    acc.add("a", 5, due_at=100.1)
    assert acc.ready(100.2) == []
    assert acc.next_ready_at(100.2) == pytest.approx(100.5)
    acc.add("a", 1, due_at=100.3)  # the tenth event fills a batch
    assert acc.ready(100.3) == ["a"]
    assert not acc.lingered("a", 100.3)
    assert acc.lingered("a", 100.5)


def test_taken_removes_the_oldest_and_the_rest_keeps_its_own_deadline() -> None:
    acc: BatchAccumulator[str] = BatchAccumulator(size=3, linger=1.0)
    acc.add("a", 2, due_at=10.0)
    acc.add("a", 2, due_at=12.0)
    acc.taken("a", 3)
    assert acc.pending("a") == 1
    assert acc.ready(12.5) == []
    assert acc.ready(13.0) == ["a"]
    acc.taken("a", 5)  # more than known: the lane is simply empty
    assert acc.pending() == 0 and list(acc.lanes()) == []


def test_future_events_count_only_once_due() -> None:
    acc: BatchAccumulator[str] = BatchAccumulator(size=2, linger=0.2)
    acc.add("a", 5, due_at=50.0, linger=False)  # a retry: due at 50, no extra wait
    assert acc.due_count("a", 49.0) == 0
    assert acc.ready(49.9) == []
    assert acc.next_ready_at(49.0) == 50.0
    assert acc.ready(50.0) == ["a"]


def test_lanes_are_independent_and_ordered_by_age() -> None:
    acc: BatchAccumulator[str] = BatchAccumulator(size=100, linger=0.1)
    acc.add("young", 1, due_at=5.0)
    acc.add("old", 1, due_at=1.0)
    assert acc.ready(10.0) == ["old", "young"]
    acc.forget("old")
    assert acc.ready(10.0) == ["young"]


def test_replace_reconciles_with_the_ledger() -> None:
    acc: BatchAccumulator[str] = BatchAccumulator(size=10, linger=1.0)
    acc.add("a", 50, due_at=0.0)
    acc.replace("a", [(3.0, 2), (9.0, 1)])
    assert acc.pending("a") == 3
    assert acc.ready(3.5) == [] and acc.ready(4.0) == ["a"]


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        BatchAccumulator(size=0, linger=1)
    acc: BatchAccumulator[str] = BatchAccumulator(size=1, linger=0)
    acc.add("a", 0, due_at=1.0)
    assert acc.pending() == 0
