"""Per-site and per-caller rate limits: answered with a retry delay, never queued unboundedly."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from hubkit.errors import ResourceExhausted
from hubkit.resilience import TokenBucket

MAX_KEYS = 100_000


class RateLimits:
    def __init__(
        self,
        *,
        site_rate: float,
        caller_rate: float,
        burst_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._site_rate = site_rate
        self._caller_rate = caller_rate
        self._burst = burst_seconds
        self._clock = clock
        # Least recently used first; idle keys are forgotten (a fresh bucket starts full anyway).
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def _bucket(self, key: str, rate: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rate, rate * self._burst, clock=self._clock)
            while len(self._buckets) > MAX_KEYS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket

    def fits(self, n: int) -> bool:
        """Whether a call of `n` conversions can ever be admitted (it is within every burst)."""
        return n <= min(self._site_rate, self._caller_rate) * self._burst

    def admit(self, caller: str, per_site: Mapping[str, int]) -> None:
        """Take tokens for a whole call, or none: raise ResourceExhausted with the wait."""
        wanted = [
            (
                self._bucket(f"caller:{caller}", self._caller_rate),
                sum(per_site.values()),
                f"caller {caller!r}",
            )
        ]
        wanted += [
            (self._bucket(f"site:{s}", self._site_rate), n, f"site {s!r}")
            for s, n in per_site.items()
        ]
        for bucket, n, who in wanted:
            if n > bucket.capacity:
                raise ResourceExhausted(
                    f"{n} conversions exceed the burst limit of {who}", retry_after=n / bucket.rate
                )
            wait = bucket.wait_time(n)
            if wait > 0:
                raise ResourceExhausted(f"rate limit of {who} exceeded", retry_after=wait)
        for bucket, n, _ in wanted:
            bucket.try_acquire(n)
