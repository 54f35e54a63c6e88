"""MetaPlatform: the PlatformAdapter the shared dispatch machinery drives for Meta CAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from dispatch_meta.app import mapper
from dispatch_meta.domain import rules
from dispatch_meta.domain.model import EventsRequest
from dispatch_meta.ports import CredentialSource, EventsTransport
from hubkit.dispatch.credentials import CredentialsMissing
from hubkit.dispatch.model import (
    ErrorClass,
    Lane,
    Platform,
    PlatformError,
    Prepared,
    Request,
    SendBatch,
    SendResult,
)
from hubkit.dispatch.policy import DAY, DispatchPolicy
from hubkit.dispatch.ports import BatchLimits, MapsAtIntake

# Meta's numbers (docs/architecture.md §3, docs/platforms.md §1.7): 1,000 events a request; no
# published CAPI rate limit, so a modest per-pixel request rate that still carries thousands of
# events/s.
META_POLICY = DispatchPolicy(
    batch_size=rules.MAX_EVENTS_PER_REQUEST,
    linger=0.1,  # at 500 events/s a batch lingers at most this: p95 ack within 250 ms
    requests_per_second=20,
    burst=20,
    max_in_flight_per_account=4,
    max_event_age=7 * DAY,  # Meta refuses events older than 7 days (§1.2)
)


_LANES_KEPT = 10_000


class MetaPlatform(MapsAtIntake):
    platform = Platform.META
    tokens = None  # a system user token does not expire: it comes from the credentials file

    def __init__(
        self,
        transport: EventsTransport,
        credentials: CredentialSource,
        policy: DispatchPolicy = META_POLICY,
    ) -> None:
        self._transport = transport
        self._credentials = credentials
        self.policy = policy
        self._lanes: dict[tuple[str, str, str], Lane] = {}

    def lane_of(self, request: Any) -> Lane:
        # test_event_code is a request-level parameter: test and live events never share one.
        target = request.target
        key = (target.account_id, target.credentials_ref, target.test_event_code)
        lane = self._lanes.get(key)
        if lane is None:  # one Lane per key, not one per event (a frozen dataclass is dear)
            if len(self._lanes) >= _LANES_KEPT:
                self._lanes.clear()
            lane = self._lanes[key] = Lane(*key)
        return lane

    def event_id_of(self, request: Any) -> str:
        return mapper.event_id_of(request)

    def mapped(self, request: Any, now: datetime) -> dict[str, Any] | PlatformError:
        target = request.target
        if not rules.is_pixel_id(target.account_id):
            return PlatformError(ErrorClass.CONFIG, "PIXEL_ID", "the Meta pixel id must be numeric")
        if not target.credentials_ref:
            return PlatformError(
                ErrorClass.CONFIG, "CREDENTIALS", "no credentials reference for this pixel"
            )
        return mapper.to_server_event(request, now)

    def batch_limits(self, lane: Lane) -> BatchLimits:
        return BatchLimits(self.policy.batch_size, self.policy.linger)

    async def prepare(self, batch: SendBatch, now: datetime) -> Prepared[EventsRequest]:
        try:
            credentials = self._credentials.meta_credentials(batch.lane.credentials_ref)
        except CredentialsMissing as exc:
            return Prepared(error=exc.error)
        data: list[Any] = []
        included: list[str] = []
        errors: dict[str, PlatformError] = {}
        frozen: dict[str, bytes] = {}
        seen: set[tuple[str, str]] = set()
        for event in batch.events:
            if event.frozen is not None:
                # Mapped at intake (or sent before): exactly these bytes go, once re-checked
                # for what time changes (too old by now).
                sent = orjson.loads(event.frozen)
                refusal = rules.refusal_in_time(sent, now)
                if refusal is not None:
                    errors[event.delivery_id] = mapper.refused(refusal)
                    continue
                payload, fresh = event.frozen, False
            else:
                mapped = mapper.to_server_event(event.request, now)
                if isinstance(mapped, PlatformError):
                    errors[event.delivery_id] = mapped
                    continue
                sent, payload, fresh = mapped, orjson.dumps(mapped), True
            included.append(event.delivery_id)
            key = (sent.get("event_name"), sent.get("event_id"))
            if key in seen:
                continue  # Meta keeps one per dedupe key; this event shares the request's fate
            seen.add(key)
            if fresh:  # kept by the engine: a resend carries these bytes
                frozen[event.delivery_id] = payload
            data.append(orjson.Fragment(payload))
        if not data:
            return Prepared(event_errors=errors)
        request = EventsRequest(
            pixel_id=batch.lane.account_id,
            data=data,
            credentials=credentials,
            test_event_code=batch.lane.extra,
            delivery_ids=included,
        )
        return Prepared(requests=[Request(tuple(included), request, frozen)], event_errors=errors)

    async def send(self, lane: Lane, request: Request[EventsRequest]) -> SendResult:
        return await self._transport.send(request.payload)

    async def close(self) -> None:
        await self._transport.close()
