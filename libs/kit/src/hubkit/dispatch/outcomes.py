"""Pure decisions after a batch's requests: each event's next state, retry time, split, breaker.

docs/architecture.md §3: throttles and untried events wait uncharged (a throttle storm of any length
dead-letters nothing); transient failures are charged and retried along the backoff until the
retry horizon or the platform's age limit passes, then dead-lettered; everything else fails at
once with the platform's reason.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from hubkit.dispatch.model import (
    BatchStatus,
    ErrorClass,
    PendingEvent,
    PlatformError,
    SendResult,
    Status,
)
from hubkit.dispatch.policy import DispatchPolicy
from hubkit.resilience import Backoff


class BreakerSignal(enum.Enum):
    SUCCESS = "success"  # the platform answered
    FAILURE = "failure"  # the platform is (or looks) broken: 5xx, timeout, network
    NONE = "none"  # no request reached it, or it throttled (proves nothing either way)


class EventOutcome(NamedTuple):  # one per event: a named tuple builds 3x as fast as a dataclass
    delivery_id: str
    status: Status  # CONFIRMED / SENT, PENDING (waits), FAILED, DEAD
    error: PlatformError | None = None
    failures: int = 0  # retryable failures charged so far, after this attempt
    retry_at: datetime | None = None
    reason: str = ""  # why it is dead or failed (the dead letter's reason)
    charged: bool = True  # False: this attempt does not count (throttled, untried)
    note: str = ""  # the platform's code for an accepted duplicate (audit only)


@dataclass(frozen=True)
class BatchPlan:
    status: BatchStatus
    outcomes: list[EventOutcome] = field(default_factory=list)
    split: list[list[PendingEvent]] = field(default_factory=list)  # halves to send again
    breaker: list[BreakerSignal] = field(default_factory=list)  # one per request sent
    pause: float | None = None  # throttled: the account sends nothing for this long

    @property
    def succeeded(self) -> int:
        return sum(o.status in (Status.CONFIRMED, Status.SENT) for o in self.outcomes)

    @property
    def failed(self) -> int:
        return sum(o.status in (Status.FAILED, Status.DEAD) for o in self.outcomes)


def backoff(policy: DispatchPolicy, rng: random.Random | None = None) -> Backoff:
    """The one backoff of every destination (hubkit.resilience.Backoff on the policy)."""
    return Backoff(policy.retry_schedule, policy.retry_jitter, policy.max_retry_delay, rng)


def plan_batch(
    parts: Sequence[tuple[Sequence[PendingEvent], SendResult]],
    policy: DispatchPolicy,
    now: datetime,
    rng: random.Random | None = None,
    *,
    throttles: int = 0,
) -> BatchPlan:
    """Decide every event's fate from the answers to a batch's requests (each with the events
    it carried). `throttles` counts the account's throttled requests before these (the backoff
    step when a throttle gives no hint). Pure: the caller records and publishes."""
    # One backoff per batch and one draw per step: events failing together come back together.
    delays = _Delays(backoff(policy, rng))
    outcomes: list[EventOutcome] = []
    split: list[list[PendingEvent]] = []
    signals: list[BreakerSignal] = []
    pause: float | None = None
    for events, result in parts:
        whole = result.error
        if whole is not None and whole.error_class is ErrorClass.THROTTLE:
            wait = delays.of(throttles + 1, whole.retry_after)
            pause = max(pause or 0.0, wait)
        signals.append(_breaker_signal(result))
        named = [e for e in events if e.delivery_id in result.event_errors]
        untried = [e for e in events if e.delivery_id in result.untried]
        rest = [
            e
            for e in events
            if e.delivery_id not in result.event_errors and e.delivery_id not in result.untried
        ]
        outcomes += [
            _decide(e, result.event_errors[e.delivery_id], policy, now, delays, pause)
            for e in named
        ]
        outcomes += [
            EventOutcome(e.delivery_id, Status.PENDING, None, e.failures, now, charged=False)
            for e in untried
        ]
        if (
            whole is not None
            and whole.error_class.rejects_content
            and policy.split_on_rejection
            and not named
            and not untried
            and len(rest) > 1
        ):
            half = (len(rest) + 1) // 2
            split += [list(rest[:half]), list(rest[half:])]
            continue
        for event in rest:
            if whole is None:
                code = result.duplicates.get(event.delivery_id, "")
                outcomes.append(EventOutcome(event.delivery_id, result.accepted_status, note=code))
            else:
                outcomes.append(_decide(event, whole, policy, now, delays, pause))
    status = BatchStatus.SPLIT if split else _status(outcomes)
    return BatchPlan(status, outcomes, split, signals, pause)


class _Delays:
    def __init__(self, b: Backoff) -> None:
        self._backoff = b
        self._drawn: dict[int, float] = {}

    def of(self, step: int, hint: float | None) -> float:
        if step not in self._drawn:
            self._drawn[step] = self._backoff.delay(step)
        return max(self._drawn[step], hint or 0.0)


def _decide(
    event: PendingEvent,
    error: PlatformError,
    policy: DispatchPolicy,
    now: datetime,
    delays: _Delays,
    pause: float | None,
) -> EventOutcome:
    ec = error.error_class
    if ec is ErrorClass.THROTTLE:  # waits uncharged, however long the storm
        wait = max(pause or 0.0, delays.of(1, error.retry_after))
        return EventOutcome(
            event.delivery_id,
            Status.PENDING,
            error,
            event.failures,
            now + timedelta(seconds=wait),
            charged=False,
        )
    if not ec.retryable:
        return EventOutcome(
            event.delivery_id, Status.FAILED, error, event.failures, reason=describe(error)
        )
    failures = event.failures + 1
    retry_at = now + timedelta(seconds=delays.of(failures, error.retry_after))
    deadline, why = retry_deadline(event, policy, now)
    if retry_at > deadline:
        reason = f"{why} passed after {failures} failed attempt(s), last: {describe(error)}"
        return EventOutcome(event.delivery_id, Status.DEAD, error, failures, reason=reason)
    return EventOutcome(event.delivery_id, Status.PENDING, error, failures, retry_at)


def retry_deadline(
    event: PendingEvent, policy: DispatchPolicy, now: datetime
) -> tuple[datetime, str]:
    """The last moment a retry of `event` may go out, and what sets it."""
    first = event.first_attempt_at or now
    deadline = first + timedelta(seconds=policy.retry_horizon)
    why = f"retry horizon of {_span(policy.retry_horizon)}"
    conversion = event.request.conversion
    if policy.max_event_age is not None and conversion.HasField("event_time"):
        too_old = conversion.event_time.ToDatetime(now.tzinfo) + timedelta(
            seconds=policy.max_event_age
        )
        if too_old < deadline:
            deadline, why = too_old, f"platform age limit of {_span(policy.max_event_age)}"
    return deadline, why


def _span(seconds: float) -> str:
    if seconds >= 86_400 and seconds % 86_400 == 0:
        return f"{int(seconds // 86_400)}d"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    return f"{seconds:g}s"


def describe(error: PlatformError) -> str:
    """'bad_input 100/2804050: insufficient customer information' (no personal data)."""
    text = error.error_class.name.lower()
    if error.code:
        text += f" {error.code}"
    return f"{text}: {error.message}" if error.message else text


def _breaker_signal(result: SendResult) -> BreakerSignal:
    if not result.sent:
        return BreakerSignal.NONE
    error = result.error
    if error is None:
        return BreakerSignal.SUCCESS
    if error.error_class is ErrorClass.THROTTLE:
        return BreakerSignal.NONE
    if error.error_class in (ErrorClass.TRANSIENT, ErrorClass.UNKNOWN):
        return BreakerSignal.FAILURE
    return BreakerSignal.SUCCESS  # it answered; its verdict is about our data or credentials


def _status(outcomes: list[EventOutcome]) -> BatchStatus:
    ok = sum(o.status in (Status.CONFIRMED, Status.SENT) for o in outcomes)
    waiting = any(o.status is Status.PENDING for o in outcomes)
    if ok == len(outcomes):
        return BatchStatus.SUCCEEDED
    if waiting and not ok:
        return BatchStatus.RETRY_SCHEDULED
    return BatchStatus.PARTIALLY_FAILED if ok else BatchStatus.FAILED
