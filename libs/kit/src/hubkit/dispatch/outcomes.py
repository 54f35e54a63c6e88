"""Pure decisions after a request: each event's next state, retry time, split, breaker signal."""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hubkit.dispatch.model import (
    BatchStatus,
    ErrorClass,
    PendingEvent,
    PlatformError,
    SendResult,
    Status,
)
from hubkit.dispatch.policy import DispatchPolicy


class BreakerSignal(enum.Enum):
    SUCCESS = "success"  # the platform answered
    FAILURE = "failure"  # the platform is (or looks) broken
    NONE = "none"  # no request reached it


@dataclass(frozen=True, slots=True)
class EventOutcome:
    delivery_id: str
    status: Status  # CONFIRMED / SENT, PENDING (retry), FAILED, DEAD
    error: PlatformError | None = None
    failures: int = 0  # retryable failures so far, after this attempt
    retry_at: datetime | None = None
    reason: str = ""  # why it is dead or failed (the dead letter's reason)


@dataclass(frozen=True)
class BatchPlan:
    status: BatchStatus
    outcomes: list[EventOutcome] = field(default_factory=list)
    split: list[list[PendingEvent]] = field(default_factory=list)  # halves to send again
    breaker: BreakerSignal = BreakerSignal.NONE
    pause: float | None = None  # the account should send nothing for this long (throttled)

    @property
    def succeeded(self) -> int:
        return sum(o.status in (Status.CONFIRMED, Status.SENT) for o in self.outcomes)

    @property
    def failed(self) -> int:
        return sum(o.status in (Status.FAILED, Status.DEAD) for o in self.outcomes)


def retry_delay(
    policy: DispatchPolicy, failures: int, server_delay: float | None, jitter_factor: float
) -> float:
    """Seconds before retry number `failures` (1-based): the schedule step with the batch's
    jitter, never sooner than the platform asked."""
    steps = policy.retry_schedule
    ours = min(steps[min(failures, len(steps)) - 1] * jitter_factor, policy.max_retry_delay)
    return max(ours, server_delay or 0.0)


def plan_batch(
    events: Sequence[PendingEvent],
    result: SendResult,
    policy: DispatchPolicy,
    now: datetime,
    rng: random.Random | None = None,
) -> BatchPlan:
    """Decide every event's fate from one answer. Pure: the caller records and publishes."""
    whole = result.error
    # One jitter draw per batch: its events stay together when they come back.
    factor = 1 + (rng or random).uniform(-policy.retry_jitter, policy.retry_jitter)
    covered = [e for e in events if e.delivery_id not in result.event_errors]
    outcomes = [
        _decide(e, result.event_errors[e.delivery_id], policy, now, factor)
        for e in events
        if e.delivery_id in result.event_errors
    ]
    breaker = _breaker_signal(result, policy)

    if (
        whole is not None
        and whole.error_class.rejects_content
        and policy.split_on_rejection
        and len(covered) > 1
    ):
        half = (len(covered) + 1) // 2
        return BatchPlan(
            BatchStatus.SPLIT, outcomes, [list(covered[:half]), list(covered[half:])], breaker
        )

    for event in covered:
        if whole is None:
            outcomes.append(EventOutcome(event.delivery_id, result.accepted_status))
        else:
            outcomes.append(_decide(event, whole, policy, now, factor))
    pause = None
    if whole is not None and whole.error_class is ErrorClass.THROTTLE:
        pause = retry_delay(policy, 1, whole.retry_after, factor)
    return BatchPlan(_status(outcomes), outcomes, [], breaker, pause)


def _decide(
    event: PendingEvent,
    error: PlatformError,
    policy: DispatchPolicy,
    now: datetime,
    factor: float,
) -> EventOutcome:
    if not error.error_class.retryable:
        return EventOutcome(
            event.delivery_id, Status.FAILED, error, event.failures, reason=describe(error)
        )
    failures = event.failures + 1
    if failures >= policy.max_attempts:
        reason = f"{failures} attempts failed, last: {describe(error)}"
        return EventOutcome(event.delivery_id, Status.DEAD, error, failures, reason=reason)
    delay = retry_delay(policy, failures, error.retry_after, factor)
    return EventOutcome(
        event.delivery_id, Status.PENDING, error, failures, now + timedelta(seconds=delay)
    )


def describe(error: PlatformError) -> str:
    """'bad_input 100/2804050: insufficient customer information' (no personal data)."""
    text = error.error_class.name.lower()
    if error.code:
        text += f" {error.code}"
    return f"{text}: {error.message}" if error.message else text


def _breaker_signal(result: SendResult, policy: DispatchPolicy) -> BreakerSignal:
    if not result.sent:
        return BreakerSignal.NONE
    error = result.error
    if error is None or not error.error_class.retryable:
        return BreakerSignal.SUCCESS
    if error.error_class is ErrorClass.THROTTLE and not policy.breaker_counts_throttles:
        return BreakerSignal.SUCCESS
    return BreakerSignal.FAILURE


def _status(outcomes: list[EventOutcome]) -> BatchStatus:
    ok = sum(o.status in (Status.CONFIRMED, Status.SENT) for o in outcomes)
    retrying = any(o.status is Status.PENDING for o in outcomes)
    if retrying and not ok:
        return BatchStatus.RETRY_SCHEDULED
    if ok == len(outcomes):
        return BatchStatus.SUCCEEDED
    return BatchStatus.PARTIALLY_FAILED if ok else BatchStatus.FAILED
