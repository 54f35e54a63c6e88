"""`Periodic`: the one background loop of the kit and the services.

A round of `work()` runs, then the loop waits `interval` seconds or until `wake()`; `work()` may
return how long to wait instead (0: more is pending, go again at once). A failing round is
logged and retried after a `Backoff` delay, which `wake()` does not cut short (retrying a
failing dependency on every wake-up would defeat the backoff). `stop()` lets the round in hand
finish, for at most `stop_timeout` seconds, then cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from hubkit.outages import outage_of
from hubkit.resilience import Backoff

__all__ = ["Periodic"]

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[float | None]]


class Periodic:
    """Runs `work` in a task from `start()` to `stop()`.

    `work` returns None to wait `interval`, or the seconds to wait before its next round (0 to
    go again at once); either wait ends early on `wake()` or `stop()`. After `work` raises, the
    next round follows `backoff.delay(consecutive failures)` later; the default backoff (1, 2,
    4, ... s) never waits longer than `interval`. `stopping` is true from `stop()` on, so a long
    round can end early.
    """

    def __init__(
        self,
        name: str,
        work: Work,
        *,
        interval: float,
        backoff: Backoff | None = None,
        stop_timeout: float = 5.0,
        wait_first: bool = False,
    ) -> None:
        if interval < 0 or stop_timeout < 0:
            raise ValueError("interval and stop_timeout must not be negative")
        self.name = name
        self._work = work
        self.interval = interval
        self._backoff = backoff or Backoff(max_delay=interval)
        self._stop_timeout = stop_timeout  # 0: cancel the round in hand at once
        self._wait_first = wait_first  # the first round comes one interval after start()
        self._woken = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def wake(self) -> None:
        """Run the next round now (or, if a round is running, right after it)."""
        self._woken.set()

    async def start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        """Finish the round in hand, waiting at most `stop_timeout` seconds, then cancel it."""
        self._stopping.set()
        self._woken.set()  # ends a wait at once
        task, self._task = self._task, None
        if task is None:
            return
        await asyncio.wait({task}, timeout=self._stop_timeout)
        if not task.done():
            if self._stop_timeout > 0:
                log.warning(
                    "%s did not stop within %.1fs; cancelling it", self.name, self._stop_timeout
                )
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def run(self) -> None:
        """The loop itself; `start()` runs it as a task."""
        failures = 0
        delay: float = self.interval if self._wait_first else 0.0
        wakeable = True
        while True:
            if delay > 0:
                # stop() sets both events, so it ends any wait; wake() does not end a backoff.
                event = self._woken if wakeable else self._stopping
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), delay)
            else:
                await asyncio.sleep(0)  # rounds back to back still let others (and stop) in
            if self._stopping.is_set():
                return
            self._woken.clear()  # a wake-up during the round brings the next one at once
            try:
                after = await self._work()
            except Exception as exc:
                failures += 1
                delay, wakeable = self._backoff.delay(failures), False
                outage = outage_of(exc)
                if outage is not None:  # PostgreSQL or NATS away: one line, it is no bug
                    log.warning(
                        "%s: %s unavailable (%s); retrying in %.2fs",
                        self.name,
                        outage.dependency,
                        outage.reason,
                        delay,
                        extra={"fields": {"worker": self.name, "failures": failures}},
                    )
                    continue
                log.warning(
                    "%s failed (%r); retrying in %.2fs",
                    self.name,
                    exc,
                    delay,
                    exc_info=failures == 1,  # the traceback once per run of failures
                    extra={"fields": {"worker": self.name, "failures": failures}},
                )
                continue
            failures = 0
            delay, wakeable = (self.interval if after is None else after), True
