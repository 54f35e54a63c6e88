"""Access tokens (cached, refreshed early, single-flight) and the adaptive per-account rate."""

from __future__ import annotations

import asyncio

from hubkit.dispatch.lanes import Account
from hubkit.dispatch.policy import DispatchPolicy
from hubkit.dispatch.tokens import AccessToken, TokenProvider


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_tokens_are_cached_until_the_margin_and_fetched_once_for_concurrent_callers() -> None:
    clock = Clock()
    fetched: list[str] = []

    async def fetch(ref: str) -> AccessToken:
        fetched.append(ref)
        await asyncio.sleep(0.01)  # concurrent callers wait for this one fetch
        return AccessToken(f"{ref}#{len(fetched)}", expires_in=3600)

    tokens = TokenProvider(fetch, margin=300, clock=clock)
    got = await asyncio.gather(*(tokens.get("g") for _ in range(5)))
    assert got == ["g#1"] * 5 and fetched == ["g"]
    clock.now += 3299  # one second before the margin: still cached
    assert await tokens.get("g") == "g#1"
    clock.now += 2  # inside the margin: refreshed before it expires
    assert await tokens.get("g") == "g#2"
    tokens.invalidate("g", "g#1")  # a stale invalidation keeps the newer token
    assert await tokens.get("g") == "g#2"
    tokens.invalidate("g")
    assert await tokens.get("g") == "g#3"


async def test_a_short_lived_token_is_refreshed_half_way() -> None:
    clock = Clock()

    async def fetch(ref: str) -> AccessToken:
        return AccessToken(f"t{clock.now}", expires_in=60)

    tokens = TokenProvider(fetch, margin=300, clock=clock)
    first = await tokens.get("r")
    clock.now += 29
    assert await tokens.get("r") == first
    clock.now += 2
    assert await tokens.get("r") != first


def test_throttles_halve_the_rate_down_to_the_floor_and_answers_regrow_it_slowly() -> None:
    clock = Clock()
    policy = DispatchPolicy(requests_per_second=20, burst=5, min_requests_per_second=1)
    account = Account.create("a", policy, clock=clock)
    account.throttled(clock.now + 5)
    assert account.bucket.rate == 10 and account.blocked_for(clock.now) == 5
    for _ in range(10):
        account.throttled(clock.now + 1)
    assert account.bucket.rate == 1 and account.throttles == 11
    account.answered()
    assert account.throttles == 0 and account.bucket.rate == 1.4  # + a fiftieth of 20
    for _ in range(100):
        account.answered()
    assert account.bucket.rate == 20
