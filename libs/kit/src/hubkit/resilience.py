"""Retry backoff, circuit breaker and token bucket for calls to the ad platforms
(docs/architecture.md §3)."""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = [
    "Backoff",
    "BreakerOpen",
    "BreakerState",
    "CircuitBreaker",
    "TokenBucket",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


# --- retry backoff ---------------------------------------------------------------------------


class Backoff:
    """Exponential backoff schedule with proportional jitter.

    ``attempt`` counts failures so far (1-based): after failure ``n`` wait ``delay(n)`` and try
    again. How long to keep trying is the caller's budget (the dispatch engine's is a time
    horizon, never a count).
    """

    def __init__(
        self,
        schedule: Sequence[float] = (1, 2, 4, 8, 16),
        jitter: float = 0.2,
        max_delay: float = 300,
        rng: random.Random | None = None,
    ) -> None:
        if not schedule or any(d < 0 for d in schedule):
            raise ValueError("schedule must be a non-empty sequence of non-negative delays")
        if not 0 <= jitter <= 1:
            raise ValueError("jitter must be a fraction between 0 and 1")
        if max_delay < 0:
            raise ValueError("max_delay must not be negative")
        self.schedule = tuple(float(d) for d in schedule)
        self.jitter = jitter
        self.max_delay = float(max_delay)
        self._rng = rng or random.Random()

    def delay(self, attempt: int, server_delay: float | None = None) -> float:
        """Seconds to wait after failure number ``attempt`` (1-based).

        Beyond the schedule the wait doubles from the last step, up to ``max_delay`` (1, 2, 4,
        8, 16 s, then 32, 64, ... capped). A server-requested delay (Retry-After,
        ``retryDelay``) is a floor: retrying sooner only earns another throttle, so it wins even
        over ``max_delay``; callers decide whether a very long wait should dead-letter instead.
        """
        if attempt < 1:
            raise ValueError("attempt is 1-based")
        steps = len(self.schedule)
        base = self.schedule[min(attempt, steps) - 1] * 2.0 ** min(max(attempt - steps, 0), 32)
        # Jitter spreads the retries of a batch that failed together (thundering herd).
        jittered = base * (1 + self._rng.uniform(-self.jitter, self.jitter))
        ours = min(max(jittered, 0.0), self.max_delay)
        if server_delay is not None and server_delay > ours:
            return float(server_delay)
        return ours


_SECONDS = re.compile(r"^\d+(?:\.\d+)?s?$")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from an HTTP Retry-After value or a Google duration ("3s", "1.5s").

    Accepts delta-seconds ("120") and HTTP-dates (a date in the past gives 0). Anything else,
    including negative numbers, gives None so the caller falls back to its own backoff.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _SECONDS.match(text):
        seconds = float(text.rstrip("s"))
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; some servers omit the zone.
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    return max(0.0, (when - current).total_seconds())


# --- circuit breaker -------------------------------------------------------------------------


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerOpen(Exception):
    """The circuit is open; the call was not made. Retry after ``retry_in`` seconds."""

    def __init__(self, retry_in: float, message: str = "circuit breaker is open") -> None:
        super().__init__(f"{message}; retry in {retry_in:.1f}s")
        self.retry_in = retry_in


class CircuitBreaker:
    """Consecutive-failure circuit breaker (one per platform account).

    Synchronous on purpose: the state changes happen between awaits, so asyncio code needs no
    lock. Usage: ``if not breaker.allow(): wait breaker.retry_in()``; call, then record the
    outcome with ``record_success()`` / ``record_failure()``.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = 60.0,
        half_open_max_calls: int = 1,
        clock: Clock = time.monotonic,
        on_change: Callable[[BreakerState, BreakerState], object] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_timeout < 0:
            raise ValueError("reset_timeout must not be negative")
        if half_open_max_calls < 1:
            raise ValueError("half_open_max_calls must be at least 1")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.half_open_max_calls = half_open_max_calls
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probes = 0

    @property
    def state(self) -> BreakerState:
        """Current state; an OPEN breaker whose timeout has passed reports HALF_OPEN."""
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.reset_timeout
        ):
            self._probes = 0
            self._transition(BreakerState.HALF_OPEN)
        return self._state

    @property
    def failures(self) -> int:
        """Consecutive failures counted while closed."""
        return self._failures

    def allow(self) -> bool:
        """May a call go out now? In HALF_OPEN this hands out the probe slots."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and self._probes < self.half_open_max_calls:
            self._probes += 1
            return True
        return False

    def check(self) -> None:
        """Like ``allow()`` but raises ``BreakerOpen`` when the call may not go out."""
        if not self.allow():
            raise BreakerOpen(self.retry_in())

    def retry_in(self) -> float:
        """Seconds until a call would be allowed (0 if one is allowed now).

        While a half-open probe is in flight the answer is the full reset timeout: that is the
        wait if the probe fails, and a success closes the breaker for everyone anyway.
        """
        state = self.state
        if state is BreakerState.CLOSED:
            return 0.0
        if state is BreakerState.HALF_OPEN:
            return 0.0 if self._probes < self.half_open_max_calls else self.reset_timeout
        return max(0.0, self._opened_at + self.reset_timeout - self._clock())

    def record_success(self) -> None:
        state = self.state
        if state is BreakerState.HALF_OPEN:
            self._failures = 0
            self._probes = 0
            self._transition(BreakerState.CLOSED)
        elif state is BreakerState.CLOSED:
            self._failures = 0
        # OPEN: a straggler that started before the breaker opened proves nothing; ignore it.

    def record_failure(self) -> None:
        state = self.state
        if state is BreakerState.HALF_OPEN:
            self._open()  # the probe failed: another full timeout
        elif state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._open()
        # OPEN: stragglers must not extend the timeout, or the breaker could never half-open.

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._probes = 0
        self._failures = 0
        self._transition(BreakerState.OPEN)

    def _transition(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if old is new or self._on_change is None:
            return
        try:
            self._on_change(old, new)
        except Exception:  # a metrics bug must not break the breaker
            log.exception("circuit breaker on_change callback failed")


# --- rate limiting ---------------------------------------------------------------------------


class TokenBucket:
    """Token bucket: ``rate`` tokens per second, bursts up to ``capacity``; starts full.

    ``acquire`` waits in FIFO order (an asyncio.Lock is fair), and ``try_acquire`` does not jump
    that queue: it fails while anyone is waiting.
    """

    # Float drift after sleeping exactly wait_time() must not cause an extra round of sleeping.
    _EPSILON = 1e-9

    def __init__(
        self,
        rate: float,
        capacity: float,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = clock()
        self._lock = asyncio.Lock()

    @property
    def tokens(self) -> float:
        """Tokens available now."""
        self._refill()
        return self._tokens

    def set_rate(self, rate: float) -> None:
        """Change the refill rate from now on (tokens earned so far are kept)."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._refill()
        self.rate = float(rate)

    def try_acquire(self, n: float = 1) -> bool:
        """Take ``n`` tokens if they are available now and nobody is queued in ``acquire``."""
        self._check(n)
        if self._lock.locked():
            return False
        return self._take(n)

    def wait_time(self, n: float = 1) -> float:
        """Seconds until ``n`` tokens will be available (ignoring queued waiters)."""
        self._check(n)
        self._refill()
        return max(0.0, (n - self._tokens) / self.rate)

    async def acquire(self, n: float = 1) -> None:
        """Wait until ``n`` tokens are available and take them."""
        self._check(n)
        async with self._lock:
            while not self._take(n):
                await self._sleep(self.wait_time(n))

    def _take(self, n: float) -> bool:
        self._refill()
        if self._tokens + self._EPSILON < n:
            return False
        self._tokens = max(0.0, self._tokens - n)
        return True

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)  # a clock going backwards must not drain
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._updated = now

    def _check(self, n: float) -> None:
        if n < 0:
            raise ValueError("n must not be negative")
        if n > self.capacity:
            raise ValueError(f"cannot acquire {n} tokens from a bucket of capacity {self.capacity}")
