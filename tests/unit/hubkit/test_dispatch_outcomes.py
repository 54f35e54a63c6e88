"""What happens to each event after an answer: retries, dead letters, splits, breaker signals."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from hubkit.dispatch.model import (
    BatchStatus,
    ErrorClass,
    PendingEvent,
    PlatformError,
    SendResult,
    Status,
)
from hubkit.dispatch.outcomes import BreakerSignal, plan_batch, retry_delay
from hubkit.dispatch.policy import DispatchPolicy

NOW = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = DispatchPolicy(retry_schedule=(1, 2, 4, 8, 16), retry_jitter=0.2)


def events(n: int, failures: int = 0) -> list[PendingEvent]:
    return [
        PendingEvent(f"d{i}", f"c{i}", "site", f"e{i}", failures + 1, failures, None)
        for i in range(n)
    ]


def test_success_confirms_all_and_closes_the_breaker() -> None:
    plan = plan_batch(events(3), SendResult(http_status=200), POLICY, NOW)
    assert plan.status is BatchStatus.SUCCEEDED
    assert [o.status for o in plan.outcomes] == [Status.CONFIRMED] * 3
    assert plan.breaker is BreakerSignal.SUCCESS and plan.succeeded == 3


def test_transient_failure_schedules_one_jittered_retry_for_the_batch() -> None:
    error = PlatformError(ErrorClass.TRANSIENT, "2", "try later")
    plan = plan_batch(events(4), SendResult(503, error=error), POLICY, NOW, random.Random(7))
    assert plan.status is BatchStatus.RETRY_SCHEDULED
    assert plan.breaker is BreakerSignal.FAILURE
    retry_times = {o.retry_at for o in plan.outcomes}
    assert len(retry_times) == 1  # the batch comes back together
    (at,) = retry_times
    assert at is not None and timedelta(seconds=0.8) <= at - NOW <= timedelta(seconds=1.2)
    assert {o.failures for o in plan.outcomes} == {1}


def test_server_delay_is_a_floor_and_throttles_pause_the_account_not_the_breaker() -> None:
    error = PlatformError(ErrorClass.THROTTLE, "613", "slow down", retry_after=30)
    plan = plan_batch(events(2), SendResult(400, error=error), POLICY, NOW)
    assert plan.breaker is BreakerSignal.SUCCESS
    assert plan.pause == 30
    assert all(o.retry_at == NOW + timedelta(seconds=30) for o in plan.outcomes)
    counting = DispatchPolicy(breaker_counts_throttles=True)
    assert plan_batch(events(1), SendResult(400, error=error), counting, NOW).breaker is (
        BreakerSignal.FAILURE
    )


def test_last_retryable_failure_dead_letters_with_the_reason() -> None:
    error = PlatformError(ErrorClass.TRANSIENT, "HTTP 500", "boom")
    plan = plan_batch(events(2, failures=5), SendResult(500, error=error), POLICY, NOW)
    assert plan.status is BatchStatus.FAILED
    assert {o.status for o in plan.outcomes} == {Status.DEAD}
    assert plan.outcomes[0].reason == "6 attempts failed, last: transient HTTP 500: boom"


def test_permanent_errors_fail_at_once() -> None:
    error = PlatformError(ErrorClass.AUTH, "190/463", "token expired")
    plan = plan_batch(events(2), SendResult(400, error=error), POLICY, NOW)
    assert plan.status is BatchStatus.FAILED
    assert {o.status for o in plan.outcomes} == {Status.FAILED}
    assert plan.outcomes[0].reason == "auth 190/463: token expired"
    assert plan.breaker is BreakerSignal.SUCCESS  # the platform answered


def test_content_rejection_splits_in_halves_until_one_event_is_left() -> None:
    error = PlatformError(ErrorClass.BAD_INPUT, "100", "Invalid parameter")
    plan = plan_batch(events(5), SendResult(400, error=error), POLICY, NOW)
    assert plan.status is BatchStatus.SPLIT and not plan.outcomes
    assert [[e.delivery_id for e in half] for half in plan.split] == [
        ["d0", "d1", "d2"],
        ["d3", "d4"],
    ]
    single = plan_batch(events(1), SendResult(400, error=error), POLICY, NOW)
    assert single.status is BatchStatus.FAILED and single.outcomes[0].status is Status.FAILED
    no_split = DispatchPolicy(split_on_rejection=False)
    assert plan_batch(events(5), SendResult(400, error=error), no_split, NOW).failed == 5


def test_local_refusals_fail_alone_and_the_rest_follows_the_answer() -> None:
    refused = PlatformError(ErrorClass.BAD_INPUT, "NOT_HASHED", "user_data.meta.email")
    result = SendResult(200, event_errors={"d1": refused})
    plan = plan_batch(events(3), result, POLICY, NOW)
    assert plan.status is BatchStatus.PARTIALLY_FAILED
    assert {o.delivery_id: o.status for o in plan.outcomes} == {
        "d1": Status.FAILED,
        "d0": Status.CONFIRMED,
        "d2": Status.CONFIRMED,
    }
    nothing_sent = SendResult(event_errors={"d0": refused}, sent=False)
    assert plan_batch(events(1), nothing_sent, POLICY, NOW).breaker is BreakerSignal.NONE


def test_retry_delay_repeats_the_last_step_and_caps() -> None:
    policy = DispatchPolicy(retry_schedule=(1, 2), max_retry_delay=1.5)
    assert retry_delay(policy, 1, None, 1.0) == 1
    assert retry_delay(policy, 5, None, 1.0) == 1.5
    assert retry_delay(policy, 5, 60.0, 1.0) == 60.0


def test_policy_validates_itself() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        DispatchPolicy(batch_size=0)
    assert DispatchPolicy().max_attempts == 6
    assert DispatchPolicy().with_overrides(linger=None, burst=3).burst == 3
