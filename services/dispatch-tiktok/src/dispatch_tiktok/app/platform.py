"""TikTokPlatform: the PlatformAdapter the dispatch engine drives for the TikTok Events API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import orjson

from convhub.events.v1 import events_pb2
from dispatch_tiktok.app import mapper
from dispatch_tiktok.domain import rules
from dispatch_tiktok.domain.model import TrackRequest
from hubkit.dispatch.credentials import CredentialsMissing
from hubkit.dispatch.model import (
    Lane,
    Platform,
    PlatformError,
    Prepared,
    Request,
    SendBatch,
    SendResult,
)
from hubkit.dispatch.policy import DispatchPolicy
from hubkit.dispatch.ports import BatchLimits, MapsAtIntake
from hubkit.vocabulary import ErrorClass

# TikTok's numbers (§3.6): 1,000 events a request; QPS limits are not published, so a modest
# per-pixel request rate; throttles (40100) pause the pixel and halve it.
TIKTOK_POLICY = DispatchPolicy(
    batch_size=rules.MAX_EVENTS_PER_REQUEST,
    linger=0.1,  # at 500 events/s a batch lingers at most this: p95 ack within 250 ms
    requests_per_second=10,
    burst=10,
    max_in_flight_per_account=4,
)


class Transport(Protocol):
    async def send(self, request: TrackRequest) -> SendResult: ...

    async def close(self) -> None: ...


class Credentials(Protocol):
    def access_token(self, ref: str) -> str:
        """Raises hubkit CredentialsMissing when the reference is unusable."""
        ...


class TikTokPlatform(MapsAtIntake):
    platform = Platform.TIKTOK
    tokens = None  # Events Manager tokens are long-lived: they come from the credentials file

    def __init__(
        self, transport: Transport, credentials: Credentials, policy: DispatchPolicy = TIKTOK_POLICY
    ) -> None:
        self._transport = transport
        self._credentials = credentials
        self.policy = policy

    def lane_of(self, request: events_pb2.DispatchRequested) -> Lane:
        # One request per pixel, event type and test code: one type's rejection never holds
        # back another's, and test events never ride with live ones.
        target = request.target
        extra = f"{mapper.event_name_of(request)}|{target.test_event_code}"
        return Lane(target.account_id, target.credentials_ref, extra)

    def event_id_of(self, request: events_pb2.DispatchRequested) -> str:
        return mapper.event_id_of(request)

    def batch_limits(self, lane: Lane) -> BatchLimits:
        return BatchLimits(self.policy.batch_size, self.policy.linger)

    def mapped(
        self, request: events_pb2.DispatchRequested, now: datetime
    ) -> dict[str, Any] | PlatformError:
        target = request.target
        if not target.account_id:
            return PlatformError(ErrorClass.CONFIG, "PIXEL_CODE", "no TikTok pixel code")
        if not target.credentials_ref:
            return PlatformError(
                ErrorClass.CONFIG, "CREDENTIALS", "no credentials reference for this pixel"
            )
        return mapper.to_event(request, now)

    async def prepare(self, batch: SendBatch, now: datetime) -> Prepared[TrackRequest]:
        try:
            token = self._credentials.access_token(batch.lane.credentials_ref)
        except CredentialsMissing as exc:
            return Prepared(error=exc.error)
        data: list[Any] = []
        positions: list[list[str]] = []
        at: dict[tuple[str, str], int] = {}
        errors: dict[str, PlatformError] = {}
        frozen: dict[str, bytes] = {}
        for event in batch.events:
            if event.frozen is not None:  # mapped at intake, or sent before: these bytes go
                payload = event.frozen
                sent = orjson.loads(payload)
            else:
                mapped = mapper.to_event(event.request, now)
                if isinstance(mapped, PlatformError):
                    errors[event.delivery_id] = mapped
                    continue
                sent, payload = mapped, orjson.dumps(mapped)
                frozen[event.delivery_id] = payload
            key = (str(sent.get("event")), str(sent.get("event_id")))
            if key in at:  # TikTok keeps one per event + event_id: it shares that one's fate
                positions[at[key]].append(event.delivery_id)
                continue
            at[key] = len(data)
            data.append(orjson.Fragment(payload))
            positions.append([event.delivery_id])
        if not data:
            return Prepared(event_errors=errors)
        test_code = batch.lane.extra.partition("|")[2]
        request = TrackRequest(
            batch.lane.account_id, data, [tuple(p) for p in positions], token, test_code
        )
        ids = tuple(d for p in positions for d in p)
        return Prepared(requests=[Request(ids, request, frozen)], event_errors=errors)

    async def send(self, lane: Lane, request: Request[TrackRequest]) -> SendResult:
        return await self._transport.send(request.payload)

    async def close(self) -> None:
        await self._transport.close()
