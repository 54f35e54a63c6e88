"""A destination's dispatch policy numbers: batching, retries, breaker, rate limit, leases."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

DAY = 86_400.0


@dataclass(frozen=True, kw_only=True)
class DispatchPolicy:
    """Defaults follow docs/architecture.md §3; each dispatcher sets its platform's numbers.

    Retry budgets are time, not counts: a retryable failure is retried (backing off along
    `retry_schedule`, then doubling up to `max_retry_delay`) until `retry_horizon` has passed
    since the event's first attempt, or the platform's `max_event_age` since the event happened.
    Throttles and an open breaker make events wait uncharged: they never use up the budget.
    """

    batch_size: int = 1000  # events per batch at most (an adapter may lower it per lane)
    linger: float = 0.25  # seconds a due event may wait for companions before a partial batch
    retry_schedule: tuple[float, ...] = (1, 2, 4, 8, 16)  # waits after failure 1..n
    retry_jitter: float = 0.2
    max_retry_delay: float = 300.0  # beyond the schedule the wait doubles up to this
    retry_horizon: float = DAY  # seconds after the first attempt; then dead-lettered
    max_event_age: float | None = None  # the platform refuses older events (Meta: 7 days)
    breaker_failures: int = 5  # consecutive transient failures that open an account's breaker
    breaker_open_seconds: float = 60.0
    requests_per_second: float = 10.0  # token bucket per account (the ceiling of its rate)
    burst: int = 10
    min_requests_per_second: float = 0.2  # the adaptive rate's floor after throttles
    max_in_flight_per_account: int = 2
    split_on_rejection: bool = True  # whole-request content rejection naming no event: split
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
        if self.retry_horizon <= 0:
            problems.append("retry_horizon must be positive")
        if self.max_event_age is not None and self.max_event_age <= 0:
            problems.append("max_event_age must be positive")
        if self.breaker_failures < 1 or self.breaker_open_seconds < 0:
            problems.append("breaker_failures >= 1 and breaker_open_seconds >= 0 required")
        if self.requests_per_second <= 0 or self.burst < 1:
            problems.append("requests_per_second > 0 and burst >= 1 required")
        if not 0 < self.min_requests_per_second <= self.requests_per_second:
            problems.append("0 < min_requests_per_second <= requests_per_second required")
        if self.max_in_flight_per_account < 1:
            problems.append("max_in_flight_per_account must be at least 1")
        if self.lease_seconds <= 0:
            problems.append("lease_seconds must be positive")
        if problems:
            raise ValueError("; ".join(problems))

    def with_overrides(self, **overrides: object) -> DispatchPolicy:
        """A copy with the given fields replaced; None values are ignored (unset settings)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(self, **given)  # type: ignore[arg-type]
