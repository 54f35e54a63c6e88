"""GooglePlatform: the PlatformAdapter the dispatch engine drives for Google Ads conversions,
through the Data Manager API (every site, by default) or the Google Ads API (allowlisted
developer tokens only).

Data Manager answers a request with a request id and reports on it later (ReportsLater): its
events are SENT until the report confirms them. Its 300 requests/min are per Google Cloud
project, shared by every site whose OAuth client belongs to it (SharesQuota)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

import orjson

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from dispatch_google.app import mapper
from dispatch_google.domain import rules
from dispatch_google.domain.model import IngestRequest, UploadRequest, parse_action
from hubkit.dispatch.credentials import CredentialsMissing
from hubkit.dispatch.google_credentials import GoogleCredentials
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
from hubkit.dispatch.policy import DAY, DispatchPolicy
from hubkit.dispatch.ports import BatchLimits, MapsAtIntake, Quota
from hubkit.dispatch.tokens import TokenProvider, TokenUnavailable
from hubkit.vocabulary import ErrorClass

GOOGLE_POLICY = DispatchPolicy(
    batch_size=rules.MAX_EVENTS_PER_REQUEST,
    # Google processes uploads in the background (a report after ~30 min): fuller requests
    # spend less of the project's 300 requests/min than a lower latency would buy.
    linger=2.0,
    requests_per_second=5,  # 300/min: one account alone may use its project's whole quota
    burst=5,
    max_in_flight_per_account=2,
    max_event_age=rules.MAX_EVENT_AGE.total_seconds(),
    retry_horizon=DAY,
)
STATUS_DELAY = 1800.0  # Google: ask for a request's status 30 minutes after it was accepted
PROJECT_REQUESTS_PER_MINUTE = 300.0  # Data Manager IngestionService, per Cloud project

DATA_MANAGER = "dm"
ADS_API = "ads"
Payload = IngestRequest | UploadRequest


class DataManager(Protocol):
    async def send(self, request: IngestRequest) -> SendResult: ...

    async def retrieve(self, request_id: str, access_token: str) -> RequestReport: ...

    async def close(self) -> None: ...


class AdsApi(Protocol):
    async def send(self, request: UploadRequest) -> SendResult: ...

    async def close(self) -> None: ...


class Credentials(Protocol):
    def credentials(self, ref: str) -> GoogleCredentials:
        """Raises hubkit CredentialsMissing when the reference is unusable."""
        ...


class GooglePlatform(MapsAtIntake):
    platform = Platform.GOOGLE

    def __init__(
        self,
        data_manager: DataManager,
        ads: AdsApi,
        credentials: Credentials,
        tokens: TokenProvider,
        policy: DispatchPolicy = GOOGLE_POLICY,
        *,
        status_delay: float = STATUS_DELAY,
        project_requests_per_minute: float = PROJECT_REQUESTS_PER_MINUTE,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._dm = data_manager
        self._ads = ads
        self._credentials = credentials
        self.tokens = tokens
        self.policy = policy
        self.status_delay = status_delay
        self._project_rate = project_requests_per_minute / 60
        self._on_close = on_close  # the token endpoint's client

    # --- intake ----------------------------------------------------------------------------

    def lane_of(self, request: events_pb2.DispatchRequested) -> Lane:
        # One request per API, conversion action, manager account and test mode: Data Manager
        # takes one destination per request here, and test events never ride with live ones.
        t = request.target
        api = ADS_API if t.google_api == common_pb2.GOOGLE_API_ADS else DATA_MANAGER
        extra = f"{api}|{t.conversion_action}|{t.login_customer_id}|{int(t.validate_only)}"
        return Lane(t.account_id, t.credentials_ref, extra)

    def event_id_of(self, request: events_pb2.DispatchRequested) -> str:
        return mapper.event_id_of(request)

    def batch_limits(self, lane: Lane) -> BatchLimits:
        return BatchLimits(self.policy.batch_size, self.policy.linger)

    def mapped(
        self, request: events_pb2.DispatchRequested, now: datetime
    ) -> dict[str, Any] | PlatformError:
        t = request.target
        if not t.account_id:
            return PlatformError(ErrorClass.CONFIG, "CUSTOMER_ID", "no Google Ads customer id")
        if not t.credentials_ref:
            return PlatformError(
                ErrorClass.CONFIG, "CREDENTIALS", "no credentials reference for this account"
            )
        if parse_action(t.conversion_action) is None:
            return PlatformError(
                ErrorClass.CONFIG,
                "CONVERSION_ACTION",
                "the conversion action must be customers/<customer id>/conversionActions/<id>",
            )
        if t.google_api == common_pb2.GOOGLE_API_ADS:
            return mapper.to_ads_conversion(request, now)
        return mapper.to_dm_event(request, now)

    # --- a batch ---------------------------------------------------------------------------

    def quota_of(self, lane: Lane) -> Quota | None:
        if _api(lane) != DATA_MANAGER:
            return None  # the Ads API's limits are per account: the account's own bucket
        project = self._credentials.credentials(lane.credentials_ref).project
        rate = self._project_rate
        return Quota(f"google-cloud-project:{project}", rate, burst=max(1, int(rate)))

    async def prepare(self, batch: SendBatch, now: datetime) -> Prepared[Payload]:
        lane = batch.lane
        try:
            creds = self._credentials.credentials(lane.credentials_ref)
            token = await self.tokens.get(lane.credentials_ref)
        except CredentialsMissing as exc:
            return Prepared(error=exc.error)
        except TokenUnavailable as exc:
            return Prepared(error=exc.error)
        events: list[Any] = []
        positions: list[list[str]] = []
        at: dict[str, int] = {}
        errors: dict[str, PlatformError] = {}
        frozen: dict[str, bytes] = {}
        api, action, login, validate_only = _parts(lane)
        in_time = rules.ads_refusal_in_time if api == ADS_API else rules.dm_refusal_in_time
        for event in batch.events:
            if event.frozen is not None:
                # Mapped at intake (or sent before): exactly these bytes go, once re-checked
                # for what time changes (too old by now).
                refusal = in_time(orjson.loads(event.frozen), now)
                if refusal is not None:
                    errors[event.delivery_id] = mapper.refused(refusal)
                    continue
                payload = event.frozen
            else:
                mapped = self.mapped(event.request, now)
                if isinstance(mapped, PlatformError):
                    errors[event.delivery_id] = mapped
                    continue
                payload = frozen[event.delivery_id] = orjson.dumps(mapped)
            key = mapper.event_id_of(event.request)
            if key in at:  # one transaction id twice in a request would be an adjustment
                positions[at[key]].append(event.delivery_id)
                continue
            at[key] = len(events)
            events.append(orjson.Fragment(payload))
            positions.append([event.delivery_id])
        if not events:
            return Prepared(event_errors=errors)
        places = [tuple(p) for p in positions]
        request: Payload
        if api == ADS_API:
            request = UploadRequest(
                customer_id=lane.account_id,
                login_customer_id=login,
                conversions=events,
                positions=places,
                access_token=token,
                developer_token=creds.developer_token,
                validate_only=validate_only,
            )
        else:
            owner, action_id = parse_action(action) or (lane.account_id, action)
            request = IngestRequest(
                operating_account=owner or lane.account_id,
                login_account=login,
                action_id=action_id,
                events=events,
                positions=places,
                access_token=token,
                validate_only=validate_only,
            )
        ids = tuple(d for p in places for d in p)
        return Prepared(requests=[Request(ids, request, frozen)], event_errors=errors)

    async def send(self, lane: Lane, request: Request[Payload]) -> SendResult:
        payload = request.payload
        if isinstance(payload, UploadRequest):
            return await self._ads.send(payload)
        return await self._dm.send(payload)

    # --- Data Manager's later report -------------------------------------------------------

    async def request_status(self, lane: Lane, request_id: str) -> RequestReport:
        ref = lane.credentials_ref
        for _ in range(2):  # an expired token is refreshed once
            try:
                token = await self.tokens.get(ref)
            except TokenUnavailable as exc:
                return RequestReport(unavailable=exc.error)
            report = await self._dm.retrieve(request_id, token)
            expired = report.unavailable is not None and (
                report.unavailable.code == "ACCESS_TOKEN_EXPIRED"
            )
            if not expired:
                return report
            self.tokens.invalidate(ref, token)
        return report

    async def close(self) -> None:
        await self._dm.close()
        await self._ads.close()
        if self._on_close is not None:
            await self._on_close()


def _api(lane: Lane) -> str:
    return lane.extra.split("|", 1)[0]


def _parts(lane: Lane) -> tuple[str, str, str, bool]:
    api, action, login, validate_only = lane.extra.split("|")
    return api, action, login, validate_only == "1"
