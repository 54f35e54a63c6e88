"""hubkit.coalescing: concurrent callers share one batch call, each gets its own answers."""

from __future__ import annotations

import asyncio

import pytest

from hubkit.coalescing import Coalescer


async def test_concurrent_callers_share_batches_and_get_their_own_answers() -> None:
    calls: list[list[int]] = []
    gate = asyncio.Event()

    async def batch(items: list[int]) -> list[int]:
        calls.append(items)
        await gate.wait()  # the first batch is in the database while the rest gather
        return [i * 10 for i in items]

    coalesce = Coalescer(batch, max_items=4)
    tasks = [asyncio.create_task(coalesce([n, n + 100])) for n in range(5)]
    await asyncio.sleep(0)
    gate.set()
    answers = await asyncio.gather(*tasks)
    assert answers == [[n * 10, (n + 100) * 10] for n in range(5)]
    # Callers that arrived together share a batch, two per batch (4 items at most), in order.
    assert calls == [[0, 100, 1, 101], [2, 102, 3, 103], [4, 104]]


async def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_runs() -> None:
    async def batch(items: list[str]) -> list[str]:
        if "bad" in items:
            raise ConnectionError("database restarting")
        return items

    coalesce = Coalescer(batch)
    first, second = await asyncio.gather(coalesce(["bad"]), coalesce(["x"]), return_exceptions=True)
    assert isinstance(first, ConnectionError)
    assert isinstance(second, ConnectionError)  # same batch
    assert await coalesce(["y"]) == ["y"]


async def test_an_oversized_call_is_a_batch_of_its_own() -> None:
    sizes: list[int] = []

    async def batch(items: list[int]) -> list[int]:
        sizes.append(len(items))
        return items

    coalesce = Coalescer(batch, max_items=2)
    assert await coalesce(list(range(5))) == list(range(5))
    assert sizes == [5]


async def test_a_cancelled_caller_does_not_break_the_batch() -> None:
    release = asyncio.Event()

    async def batch(items: list[int]) -> list[int]:
        await release.wait()
        return items

    coalesce = Coalescer(batch)
    gone = asyncio.create_task(coalesce([1]))
    stays = asyncio.create_task(coalesce([2]))
    await asyncio.sleep(0)
    gone.cancel()
    release.set()
    assert await stays == [2]
    with pytest.raises(asyncio.CancelledError):
        await gone
