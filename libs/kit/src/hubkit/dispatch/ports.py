"""The port a platform implements to ride the dispatch machinery: map, validate, send, classify."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from hubkit.dispatch.model import Lane, Platform, PlatformError, Prepared, SendBatch, SendResult
from hubkit.dispatch.policy import DispatchPolicy


class PlatformAdapter(Protocol):
    """Everything platform-specific; the machinery does batching, retries, breaker, ledger.

    Contract:
    - `check` runs at intake, before batching: a refusal fails the event at once (too old,
      missing what the platform requires, unusable configuration), so it never poisons a batch.
    - `prepare` runs for each batch: reads credentials, maps and validates every event (refusals
      go to `Prepared.event_errors`), removes duplicates within the request. No platform I/O.
    - `send` makes the one HTTP request and classifies the answer. It never raises for platform
      or network errors: they come back as a `SendResult` with an `ErrorClass`.
    """

    platform: Platform
    policy: DispatchPolicy

    def lane_of(self, request: Any) -> Lane:
        """Which events may share a request (account, credentials, request-level settings)."""
        ...

    def event_id_of(self, request: Any) -> str:
        """The platform dedupe key's event part (Meta/TikTok event_id, Google order_id)."""
        ...

    def check(self, request: Any, now: datetime) -> PlatformError | None: ...

    async def prepare(self, batch: SendBatch, now: datetime) -> Prepared: ...

    async def send(self, batch: SendBatch, prepared: Prepared) -> SendResult: ...

    async def close(self) -> None: ...
