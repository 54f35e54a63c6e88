"""Concurrent callers share one batch call. A webhook, or any request that carries one item,
would otherwise pay a whole round trip, statement and commit of its own; here, while one batch
is in the database the next one gathers, so batches grow with the load and no one waits for a
timer (an idle caller's batch is just its own items)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

BatchCall = Callable[[list[T]], Awaitable[Sequence[R]]]


class Coalescer(Generic[T, R]):
    """`await coalescer(items)` answers what `batch(all items gathered)` answered for these
    items, in their order. `batch` must answer one result per item, in order. When it raises,
    every caller of that batch gets the exception (and may retry)."""

    def __init__(self, batch: BatchCall[T, R], *, max_items: int = 500) -> None:
        self._batch = batch
        self._max = max_items
        self._waiting: deque[tuple[Sequence[T], asyncio.Future[list[R]]]] = deque()
        self._flushing: asyncio.Task[None] | None = None

    async def __call__(self, items: Sequence[T]) -> list[R]:
        future: asyncio.Future[list[R]] = asyncio.get_running_loop().create_future()
        self._waiting.append((items, future))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._waiting:
            taken: list[tuple[Sequence[T], asyncio.Future[list[R]]]] = []
            size = 0
            while self._waiting and (not taken or size + len(self._waiting[0][0]) <= self._max):
                items, future = self._waiting.popleft()
                taken.append((items, future))
                size += len(items)
            try:
                results = list(await self._batch([item for items, _ in taken for item in items]))
            except Exception as exc:
                for _, future in taken:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for items, future in taken:
                if not future.done():  # its caller may have been cancelled meanwhile
                    future.set_result(results[start : start + len(items)])
                start += len(items)
