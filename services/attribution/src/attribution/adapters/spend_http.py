"""What the three spend reporting clients (spend_google, spend_meta, spend_tiktok) share: one
token bucket and one circuit breaker per platform, and what a request that got no answer
means. The breaker counts what says the platform is unwell (network errors, 5xx, its own
"temporary" codes); a throttle is the platform working as designed and counts for nothing; a
refusal is an answer, so a success for the breaker (as in the dispatch engine)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal, InvalidOperation

import httpx

from attribution.app.spend_ports import ReportingUnavailable, SpendRow
from hubkit.dispatch.redaction import scrub
from hubkit.resilience import CircuitBreaker, TokenBucket

NETWORK_WAIT = 10.0  # seconds to wait after a request got no answer at all
TROUBLE_WAIT = 30.0  # after a 5xx or a "temporary" code that names no wait
THROTTLE_WAIT = 60.0  # after a throttle that names no wait
MESSAGE_CHARS = 500

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


class Guard:
    """Pacing and breaker of one platform's reporting API; `send` makes one request."""

    def __init__(
        self,
        platform: str,
        *,
        requests_per_second: float,
        burst: float | None = None,
        breaker: CircuitBreaker | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.platform = platform
        capacity = burst if burst is not None else max(1.0, requests_per_second)
        self.bucket = TokenBucket(requests_per_second, capacity, clock=clock, sleep=sleep)
        self.breaker = breaker if breaker is not None else CircuitBreaker()

    async def send(
        self,
        request: Callable[[], Awaitable[httpx.Response]],
        what: str,
        secrets: Iterable[str] = (),
    ) -> httpx.Response:
        """The answer to `request()`, paced; ReportingUnavailable (nothing sent) while the
        breaker is open, or when no answer came (network error, timeout)."""
        if not self.breaker.allow():
            wait = max(self.breaker.retry_in(), 1.0)
            raise ReportingUnavailable(
                f"{what}: {self.platform} reporting circuit breaker open, retry in {wait:.0f}s",
                retry_after=wait,
            )
        await self.bucket.acquire()
        try:
            return await request()
        except httpx.HTTPError as exc:
            self.breaker.record_failure()
            text = scrub(f"{what}: network error: {type(exc).__name__}: {exc}", secrets)
            raise ReportingUnavailable(text[:MESSAGE_CHARS], retry_after=NETWORK_WAIT) from None

    def answered(self) -> None:
        """The platform answered (data, or a refusal about our request or credentials)."""
        self.breaker.record_success()

    def trouble(self, message: str, retry_after: float | None = None) -> ReportingUnavailable:
        """The platform is failing: counted by the breaker; the error to raise."""
        self.breaker.record_failure()
        wait = retry_after if retry_after is not None and retry_after > 0 else TROUBLE_WAIT
        return ReportingUnavailable(message[:MESSAGE_CHARS], retry_after=wait)


def throttled(message: str, retry_after: float | None) -> ReportingUnavailable:
    """A throttle: wait what the platform said (or THROTTLE_WAIT); the breaker is untouched."""
    wait = retry_after if retry_after is not None and retry_after > 0 else THROTTLE_WAIT
    return ReportingUnavailable(message[:MESSAGE_CHARS], retry_after=wait)


def merged(rows: Iterable[SpendRow]) -> list[SpendRow]:
    """One row per campaign name and day: campaigns are known by name (what touchpoints carry
    as utm_campaign), and two campaigns of one name (a copy, a relaunch) spend for it together.
    First-seen order."""
    totals: dict[tuple[str, object, str], SpendRow] = {}
    for row in rows:
        key = (row.campaign, row.day, row.currency)
        seen = totals.get(key)
        totals[key] = (
            row
            if seen is None
            else SpendRow(row.campaign, row.day, seen.amount + row.amount, row.currency)
        )
    return list(totals.values())


def decimal(value: object) -> Decimal | None:
    """A finite, non-negative Decimal from a platform's decimal text (or integer); else None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None
