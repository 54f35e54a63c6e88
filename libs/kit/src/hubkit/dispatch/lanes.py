"""Per-account protection: circuit breaker, adaptive token bucket, throttle pause, in-flight limit.

A throttle pauses the account for the platform's hinted time (or the backoff) and halves its
request rate; each answered request regrows the rate by a fiftieth of the ceiling (AIMD), so a
platform that throttles sees convhub back off and come back slowly. Throttles never reach the
breaker: only transient failures (5xx, timeouts, network) open it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hubkit.dispatch.policy import DispatchPolicy
from hubkit.resilience import BreakerState, CircuitBreaker, TokenBucket

BREAKER_PROTO = {BreakerState.CLOSED: 1, BreakerState.OPEN: 2, BreakerState.HALF_OPEN: 3}


@dataclass
class AccountSnapshot:
    account_id: str
    breaker_state: int  # convhub.dispatch.v1.BreakerState
    consecutive_failures: int
    breaker_opened_at: float | None  # epoch seconds
    in_flight: int


@dataclass
class Account:
    """One platform account's guards. Monotonic time for waits; wall time only for reporting."""

    account_id: str
    breaker: CircuitBreaker
    bucket: TokenBucket
    max_in_flight: int
    in_flight: int = 0
    paused_until: float = 0.0  # monotonic
    throttles: int = 0  # consecutive throttled requests (the backoff step when unhinted)
    ceiling: float = 0.0  # the policy's rate; the bucket's rate adapts below it
    floor: float = 0.0
    opened_at: float | None = None  # wall clock, when the breaker last opened
    wall: Callable[[], float] = field(default=time.time)

    @classmethod
    def create(
        cls,
        account_id: str,
        policy: DispatchPolicy,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> Account:
        account: Account
        breaker = CircuitBreaker(
            failure_threshold=policy.breaker_failures,
            reset_timeout=policy.breaker_open_seconds,
            half_open_max_calls=1,
            clock=clock,
            on_change=lambda old, new: account._on_change(new),
        )
        bucket = TokenBucket(policy.requests_per_second, policy.burst, clock=clock)
        account = cls(
            account_id,
            breaker,
            bucket,
            policy.max_in_flight_per_account,
            wall=wall,
            ceiling=policy.requests_per_second,
            floor=policy.min_requests_per_second,
        )
        return account

    def _on_change(self, new: BreakerState) -> None:
        if new is BreakerState.OPEN:
            self.opened_at = self.wall()

    def blocked_for(self, now: float) -> float | None:
        """0 when a request may start now, seconds to wait, or None: wait for one to finish."""
        if self.in_flight >= self.max_in_flight:
            return None
        if self.paused_until > now:
            return self.paused_until - now
        wait = self.breaker.retry_in()
        if wait > 0:
            return wait
        if self.breaker.state is not BreakerState.CLOSED and self.in_flight:
            return None  # the probe is out: its answer decides
        return self.bucket.wait_time()

    def pause(self, until: float) -> None:
        self.paused_until = max(self.paused_until, until)

    def throttled(self, until: float) -> None:
        """The platform throttled a request: wait until then, and send slower afterwards."""
        self.throttles += 1
        self.pause(until)
        self.bucket.set_rate(max(self.floor, self.bucket.rate / 2))

    def answered(self) -> None:
        """A request was answered without a throttle: regrow the rate towards the ceiling."""
        self.throttles = 0
        if self.bucket.rate < self.ceiling:
            self.bucket.set_rate(min(self.ceiling, self.bucket.rate + self.ceiling / 50))

    def snapshot(self) -> AccountSnapshot:
        return AccountSnapshot(
            account_id=self.account_id,
            breaker_state=BREAKER_PROTO[self.breaker.state],
            consecutive_failures=self.breaker.failures,
            breaker_opened_at=self.opened_at,
            in_flight=self.in_flight,
        )
