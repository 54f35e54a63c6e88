"""Access tokens per credentials reference: cached, refreshed before expiry, single-flight.

OAuth platforms (Google's Data Manager and Ads APIs, reporting APIs) hand out short-lived
access tokens. An adapter asks `await tokens.get(ref)` in `prepare`; when a platform answers
that the token expired, the engine calls `invalidate(ref)` and prepares once more, so an
expiry costs one extra request, never a failure or a breaker count (a token another batch had
just fetched may be fetched once more: harmless). Fetch failures come
back as `TokenUnavailable` carrying the PlatformError to give the batch (transient: the events
wait and retry; auth: the refresh token is refused).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hubkit.dispatch.model import PlatformError


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str
    expires_in: float  # seconds from when it was fetched

    def __repr__(self) -> str:  # never print the token
        return f"AccessToken(expires_in={self.expires_in})"


class TokenUnavailable(Exception):
    """No token could be had; `error` says why (never the secret)."""

    def __init__(self, error: PlatformError) -> None:
        super().__init__(error.message)
        self.error = error


Fetch = Callable[[str], Awaitable[AccessToken]]


@dataclass
class _Held:
    value: str
    refresh_at: float  # monotonic


class TokenProvider:
    """`fetch(ref)` obtains a fresh token (e.g. an OAuth refresh-token grant); this caches it
    until `margin` seconds before it expires, and lets one fetch run per reference at a time."""

    def __init__(
        self, fetch: Fetch, *, margin: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._fetch = fetch
        self._margin = margin
        self._clock = clock
        self._held: dict[str, _Held] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetches = 0

    async def get(self, ref: str) -> str:
        held = self._held.get(ref)
        if held is not None and self._clock() < held.refresh_at:
            return held.value
        async with self._locks.setdefault(ref, asyncio.Lock()):
            held = self._held.get(ref)  # another task may have refreshed it meanwhile
            if held is not None and self._clock() < held.refresh_at:
                return held.value
            self.fetches += 1
            token = await self._fetch(ref)
            # A token valid for less than twice the margin is refreshed half-way through.
            early = min(self._margin, token.expires_in / 2)
            self._held[ref] = _Held(token.value, self._clock() + token.expires_in - early)
            return token.value

    def invalidate(self, ref: str, value: str | None = None) -> None:
        """Forget `ref`'s token (only if it is still `value`, when given: a token refreshed by
        another request meanwhile is kept)."""
        held = self._held.get(ref)
        if held is not None and (value is None or held.value == value):
            del self._held[ref]
