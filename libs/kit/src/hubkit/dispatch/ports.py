"""The port a destination implements to ride the dispatch engine: map, validate, send, classify.

    class MyPlatform:                        # a PlatformAdapter[MyPayload]
        platform = Platform.TIKTOK
        policy = DispatchPolicy(batch_size=1000, ...)
        tokens = None                        # or a TokenProvider (OAuth platforms)

        def lane_of(self, request) -> Lane          # who may share a request
        def event_id_of(self, request) -> str       # the platform dedupe key's event part
        def batch_limits(self, lane) -> BatchLimits # size and linger of this lane's batches
        def check(self, request, now)               # refuse at intake what would poison a batch
        def admit(self, request, now)               # optional: check and map once (bytes kept)
        async def prepare(self, batch, now)         # map + validate -> Prepared[MyPayload]
        async def send(self, lane, request)         # one HTTP request -> SendResult
        async def close(self)

The engine owns everything else: the ledger (the queue), leases, batching, the retry horizon,
throttle pauses and the adaptive rate, the breaker, splitting, dead letters, the audit, status
messages, DispatchService and tracing of each batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

import orjson

from convhub.events.v1 import events_pb2
from hubkit.dispatch.model import (
    Lane,
    Platform,
    PlatformError,
    Prepared,
    Request,
    RequestReport,
    SendBatch,
    SendResult,
)
from hubkit.dispatch.policy import DispatchPolicy
from hubkit.dispatch.tokens import TokenProvider

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """How a lane batches: at most `size` events a batch, a partial one after `linger` s."""

    size: int
    linger: float


class PlatformAdapter(Protocol[P]):
    """Everything destination-specific; the engine does batching, retries, breaker, ledger.

    Contract:
    - `check` runs at intake, before batching: a refusal fails the event at once (too old,
      missing what the platform requires, unusable configuration), so it never poisons a batch.
    - `prepare` runs for each batch: reads credentials (an access token through `tokens`),
      maps and validates every event (refusals go to `Prepared.event_errors`), removes
      duplicates within a request and cuts the batch into as many requests as the platform
      needs. An event with `frozen` bytes is sent as those bytes, once re-checked for what time
      changes (too old by now: TOO_OLD, never sent). No platform I/O but tokens.
    - `admit` (optional, `AdmitsAtIntake`) replaces `check` to map each event once: it returns
      the refusal, or the event's bytes as they will be sent. The engine keeps those bytes with
      the delivery and hands them to `prepare` as `PendingEvent.frozen`.
    - `send` makes one HTTP request and classifies the answer. It never raises for platform
      or network errors: they come back as a `SendResult`. An expired access token is
      `token_expired=True`; events a rejected request did not process are `untried`.
    """

    # Read-only: an adapter may keep them as plain attributes (`tokens = None` when its tokens
    # come from the credentials file and never expire).
    @property
    def platform(self) -> Platform: ...

    @property
    def policy(self) -> DispatchPolicy: ...

    @property
    def tokens(self) -> TokenProvider | None: ...

    def lane_of(self, request: events_pb2.DispatchRequested) -> Lane: ...

    def event_id_of(self, request: events_pb2.DispatchRequested) -> str: ...

    def batch_limits(self, lane: Lane) -> BatchLimits: ...

    def check(
        self, request: events_pb2.DispatchRequested, now: datetime
    ) -> PlatformError | None: ...

    async def prepare(self, batch: SendBatch, now: datetime) -> Prepared[P]: ...

    async def send(self, lane: Lane, request: Request[P]) -> SendResult: ...

    async def close(self) -> None: ...


@runtime_checkable
class AdmitsAtIntake(Protocol):
    """Optional for a PlatformAdapter: `check` and the mapping in one, at intake."""

    def admit(
        self, request: events_pb2.DispatchRequested, now: datetime
    ) -> PlatformError | bytes: ...


@dataclass(frozen=True, slots=True)
class Quota:
    """A request quota several lanes draw on (Google: a Cloud project's 300 requests/min)."""

    key: str
    requests_per_second: float
    burst: int = 1


@runtime_checkable
class SharesQuota(Protocol):
    """Optional for a PlatformAdapter: a lane's requests also draw on a shared quota, paced by
    its own token bucket and paused by its throttles, beside the lane's account."""

    def quota_of(self, lane: Lane) -> Quota | None: ...


@runtime_checkable
class ReportsLater(Protocol):
    """Optional for a PlatformAdapter: the platform acknowledges a request at once
    (`SendResult.accepted_status = SENT`, `request_id` set; one request per batch) and reports
    on it later. The engine asks `status_delay` seconds after acceptance, then backs off, until
    the report is final, and applies its outcome to the batch's SENT events."""

    status_delay: float

    async def request_status(self, lane: Lane, request_id: str) -> RequestReport: ...


class MapsAtIntake:
    """Base of the adapters that map every event once, at intake (`AdmitsAtIntake`): `check`
    and `admit` both come from `mapped`, the event as it will be sent or why it cannot be."""

    def mapped(
        self, request: events_pb2.DispatchRequested, now: datetime
    ) -> Mapping[str, Any] | PlatformError:
        raise NotImplementedError

    def check(self, request: events_pb2.DispatchRequested, now: datetime) -> PlatformError | None:
        mapped = self.mapped(request, now)
        return mapped if isinstance(mapped, PlatformError) else None

    def admit(self, request: events_pb2.DispatchRequested, now: datetime) -> PlatformError | bytes:
        """`check` and the event's bytes as every send of it carries them."""
        mapped = self.mapped(request, now)
        return mapped if isinstance(mapped, PlatformError) else orjson.dumps(mapped)
