"""What happens to each event after an answer: waits, retries, dead letters, splits, breaker."""

from __future__ import annotations

import random
from collections.abc import Sequence
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
from hubkit.dispatch.outcomes import BatchPlan, BreakerSignal, plan_batch
from hubkit.dispatch.policy import DAY, DispatchPolicy
from hubkit.dispatch.testing import dispatch_request

NOW = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = DispatchPolicy(retry_schedule=(1, 2, 4, 8, 16), retry_jitter=0.2)


def events(
    n: int,
    failures: int = 0,
    first_attempt: timedelta = timedelta(0),
    event_age: timedelta = timedelta(0),
) -> list[PendingEvent]:
    return [
        PendingEvent(
            f"d{i}",
            f"c{i}",
            "site",
            f"e{i}",
            failures + 1,
            failures,
            dispatch_request(f"c{i}", event_time=NOW - event_age),
            first_attempt_at=NOW - first_attempt,
        )
        for i in range(n)
    ]


def plan(
    evs: Sequence[PendingEvent],
    result: SendResult,
    policy: DispatchPolicy = POLICY,
    rng: random.Random | None = None,
    throttles: int = 0,
) -> BatchPlan:
    return plan_batch([(evs, result)], policy, NOW, rng, throttles=throttles)


def test_success_confirms_all_and_closes_the_breaker() -> None:
    p = plan(events(3), SendResult(http_status=200, duplicates={"d1": "ALREADY"}))
    assert p.status is BatchStatus.SUCCEEDED
    assert [o.status for o in p.outcomes] == [Status.CONFIRMED] * 3
    assert [o.note for o in p.outcomes] == ["", "ALREADY", ""]  # a duplicate counts delivered
    assert p.breaker == [BreakerSignal.SUCCESS] and p.succeeded == 3


def test_transient_failure_is_charged_and_retried_together() -> None:
    error = PlatformError(ErrorClass.TRANSIENT, "2", "try later")
    p = plan(events(4), SendResult(503, error=error), rng=random.Random(7))
    assert p.status is BatchStatus.RETRY_SCHEDULED
    assert p.breaker == [BreakerSignal.FAILURE]
    retry_times = {o.retry_at for o in p.outcomes}
    assert len(retry_times) == 1  # the batch comes back together
    (at,) = retry_times
    assert at is not None and timedelta(seconds=0.8) <= at - NOW <= timedelta(seconds=1.2)
    assert {o.failures for o in p.outcomes} == {1} and all(o.charged for o in p.outcomes)


def test_throttles_wait_uncharged_pause_the_account_and_never_reach_the_breaker() -> None:
    error = PlatformError(ErrorClass.THROTTLE, "17", "User request limit reached", 30)
    p = plan(events(2, failures=3), SendResult(400, error=error))
    assert p.breaker == [BreakerSignal.NONE]
    assert p.pause == 30
    assert all(o.retry_at == NOW + timedelta(seconds=30) for o in p.outcomes)
    assert all(not o.charged and o.failures == 3 for o in p.outcomes)
    # Without a hint the pause follows the backoff of the account's throttle streak.
    unhinted = PlatformError(ErrorClass.THROTTLE, "17", "User request limit reached")
    still = plan(events(1), SendResult(400, error=unhinted), throttles=4, rng=random.Random(1))
    assert still.pause is not None and 16 * 0.8 <= still.pause <= 16 * 1.2


def test_a_throttle_storm_of_any_length_dead_letters_nothing() -> None:
    error = PlatformError(ErrorClass.THROTTLE, "80004", "too many calls", 60)
    old = events(2, failures=40, first_attempt=timedelta(days=3))  # far past the horizon
    p = plan(old, SendResult(400, error=error))
    assert {o.status for o in p.outcomes} == {Status.PENDING}


def test_transient_failures_retry_until_the_horizon_then_dead_letter() -> None:
    error = PlatformError(ErrorClass.TRANSIENT, "HTTP 500", "boom")
    young = plan(
        events(2, failures=30, first_attempt=timedelta(hours=23)), SendResult(500, error=error)
    )
    assert {o.status for o in young.outcomes} == {Status.PENDING}  # counts do not matter
    late = plan(
        events(2, failures=1, first_attempt=timedelta(hours=24)), SendResult(500, error=error)
    )
    assert late.status is BatchStatus.FAILED
    assert {o.status for o in late.outcomes} == {Status.DEAD}
    assert late.outcomes[0].reason == (
        "retry horizon of 1d passed after 2 failed attempt(s), last: transient HTTP 500: boom"
    )


def test_the_platform_age_limit_ends_retries_before_the_horizon() -> None:
    policy = DispatchPolicy(max_event_age=7 * DAY, retry_horizon=30 * DAY)
    error = PlatformError(ErrorClass.TRANSIENT, "HTTP 503", "unavailable")
    old = events(1, event_age=timedelta(days=7) - timedelta(milliseconds=100))
    p = plan(old, SendResult(503, error=error), policy)
    assert p.outcomes[0].status is Status.DEAD
    assert p.outcomes[0].reason.startswith("platform age limit of 7d passed")


def test_permanent_errors_fail_at_once() -> None:
    error = PlatformError(ErrorClass.AUTH, "190/463", "token expired")
    p = plan(events(2), SendResult(400, error=error))
    assert p.status is BatchStatus.FAILED
    assert {o.status for o in p.outcomes} == {Status.FAILED}
    assert p.outcomes[0].reason == "auth 190/463: token expired"
    assert p.breaker == [BreakerSignal.SUCCESS]  # the platform answered


def test_content_rejection_naming_no_event_splits_in_halves() -> None:
    error = PlatformError(ErrorClass.BAD_INPUT, "100", "Invalid parameter")
    p = plan(events(5), SendResult(400, error=error))
    assert p.status is BatchStatus.SPLIT and not p.outcomes
    assert [[e.delivery_id for e in half] for half in p.split] == [
        ["d0", "d1", "d2"],
        ["d3", "d4"],
    ]
    single = plan(events(1), SendResult(400, error=error))
    assert single.status is BatchStatus.FAILED and single.outcomes[0].status is Status.FAILED
    no_split = DispatchPolicy(split_on_rejection=False)
    assert plan(events(5), SendResult(400, error=error), no_split).failed == 5


def test_a_rejection_naming_its_events_fails_them_and_resends_the_rest_untried() -> None:
    bad = PlatformError(ErrorClass.BAD_INPUT, "40002", "Batch.2: invalid email")
    result = SendResult(
        400,
        error=PlatformError(ErrorClass.BAD_INPUT, "40002", "request rejected"),
        event_errors={"d2": bad},
        untried=frozenset({"d0", "d1", "d3"}),
    )
    p = plan(events(4, failures=2), result)
    assert not p.split
    by_id = {o.delivery_id: o for o in p.outcomes}
    assert by_id["d2"].status is Status.FAILED and by_id["d2"].error == bad
    for i in ("d0", "d1", "d3"):
        o = by_id[i]
        assert (o.status, o.charged, o.failures, o.retry_at) == (Status.PENDING, False, 2, NOW)


def test_local_refusals_fail_alone_and_requests_are_judged_apart() -> None:
    refused = PlatformError(ErrorClass.BAD_INPUT, "NOT_HASHED", "user_data.meta.email")
    evs = events(4)
    throttle = PlatformError(ErrorClass.THROTTLE, "429", "slow down", 5)
    p = plan_batch(
        [
            (evs[:2], SendResult(200)),
            (evs[2:3], SendResult(429, error=throttle)),
            (evs[3:], SendResult(event_errors={"d3": refused}, sent=False)),
        ],
        POLICY,
        NOW,
    )
    assert p.status is BatchStatus.PARTIALLY_FAILED
    assert {o.delivery_id: o.status for o in p.outcomes} == {
        "d0": Status.CONFIRMED,
        "d1": Status.CONFIRMED,
        "d2": Status.PENDING,
        "d3": Status.FAILED,
    }
    assert p.breaker == [BreakerSignal.SUCCESS, BreakerSignal.NONE, BreakerSignal.NONE]
    assert p.pause == 5


def test_policy_validates_itself() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        DispatchPolicy(batch_size=0)
    with pytest.raises(ValueError, match="retry_horizon"):
        DispatchPolicy(retry_horizon=0)
    assert DispatchPolicy().retry_horizon == DAY
    assert DispatchPolicy().with_overrides(linger=None, burst=3).burst == 3
