"""A platform's dispatch policy numbers: batching, retries, breaker, rate limit, leases."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class DispatchPolicy:
    """Defaults follow DESIGN.md §3; each dispatcher sets its platform's numbers."""

    batch_size: int = 1000  # events per request at most
    linger: float = 0.25  # seconds a due event may wait for companions before a partial batch
    retry_schedule: tuple[float, ...] = (1, 2, 4, 8, 16)  # waits after failure 1..n; then dead
    retry_jitter: float = 0.2
    max_retry_delay: float = 300.0
    breaker_failures: int = 5  # consecutive failed requests that open an account's breaker
    breaker_open_seconds: float = 60.0
    breaker_counts_throttles: bool = False  # a throttle proves the platform alive: backoff only
    requests_per_second: float = 10.0  # token bucket per account
    burst: int = 10
    max_in_flight_per_account: int = 2
    split_on_rejection: bool = True  # whole-request content rejection: split to isolate
    lease_seconds: float = 120.0  # a claimed batch not settled by then returns to pending
    drain_seconds: float = 8.0  # at shutdown, in-flight requests get this long to finish
    resync_seconds: float = 2.0  # how often the accumulator is reconciled with the ledger

    def __post_init__(self) -> None:
        problems = []
        if self.batch_size < 1:
            problems.append("batch_size must be at least 1")
        if self.linger < 0:
            problems.append("linger must not be negative")
        if not self.retry_schedule or any(d < 0 for d in self.retry_schedule):
            problems.append("retry_schedule must be non-empty, non-negative delays")
        if self.breaker_failures < 1 or self.breaker_open_seconds < 0:
            problems.append("breaker_failures >= 1 and breaker_open_seconds >= 0 required")
        if self.requests_per_second <= 0 or self.burst < 1:
            problems.append("requests_per_second > 0 and burst >= 1 required")
        if self.max_in_flight_per_account < 1:
            problems.append("max_in_flight_per_account must be at least 1")
        if self.lease_seconds <= 0:
            problems.append("lease_seconds must be positive")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def max_attempts(self) -> int:
        """Requests an event may fail retryably before it is dead-lettered."""
        return len(self.retry_schedule) + 1

    def with_overrides(self, **overrides: object) -> DispatchPolicy:
        """A copy with the given fields replaced; None values are ignored (unset settings)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(self, **given)  # type: ignore[arg-type]
