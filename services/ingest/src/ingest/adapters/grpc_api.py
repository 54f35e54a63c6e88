"""IngestService over gRPC: auth scoping and rate limits, then the use cases."""

from __future__ import annotations

import base64
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import grpc

from convhub.common.v1 import common_pb2
from convhub.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from hubkit.auth import Scope, current_principal
from hubkit.errors import FailedPrecondition, FieldError, InvalidArgument, NotFound
from ingest.adapters import mappers
from ingest.adapters.sql_status import SqlStatusStore, list_conversions, list_sources
from ingest.app.admission import RateLimits
from ingest.app.erasure import EraseUser
from ingest.app.hubspot import SyncHubSpot
from ingest.app.ingestion import IngestConversions
from ingest.domain.sources import SOURCES
from ingest.ports import SitePolicies, SyncBusy


class IngestServicer(ingest_pb2_grpc.IngestServiceServicer):
    def __init__(
        self,
        ingest: IngestConversions,
        erase: EraseUser,
        status: SqlStatusStore,
        limits: RateLimits,
        *,
        max_batch: int,
        policies: SitePolicies,
        sync_hubspot: SyncHubSpot,
        sites_with_sources: Callable[[], list[str]],
    ) -> None:
        self._policies = policies
        self._sync_hubspot = sync_hubspot
        self._sites_with_sources = sites_with_sources
        self._ingest = ingest
        self._erase = erase
        self._status = status
        self._limits = limits
        self._max_batch = max_batch

    async def Ingest(
        self, request: ingest_pb2.IngestRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.IngestResponse:
        return (await self._ingest_all([request.conversion]))[0]

    async def IngestBatch(
        self, request: ingest_pb2.IngestBatchRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.IngestBatchResponse:
        n = len(request.conversions)
        if not 1 <= n <= self._max_batch:
            raise InvalidArgument(
                f"a batch holds 1 to {self._max_batch} conversions, got {n}",
                [FieldError("conversions", "BATCH_SIZE", f"1 to {self._max_batch} conversions")],
            )
        return ingest_pb2.IngestBatchResponse(results=await self._ingest_all(request.conversions))

    async def _ingest_all(
        self, conversions: Sequence[ingest_pb2.Conversion]
    ) -> list[ingest_pb2.IngestResponse]:
        principal = current_principal()
        per_site = Counter(c.site_id for c in conversions)
        for site in per_site:
            # An empty site_id is the conversion's own problem (REJECTED), not the caller's.
            principal.require(Scope.INGEST, site or None)
        self._limits.admit(principal.subject, per_site)
        outcomes = await self._ingest([mappers.conversion_input(c) for c in conversions])
        return [mappers.ingest_response(o) for o in outcomes]

    async def GetConversion(
        self, request: ingest_pb2.GetConversionRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.GetConversionResponse:
        principal = current_principal()
        principal.require(Scope.READ)
        conversion_id = _uuid(request.conversion_id)
        found = await self._status.get(conversion_id)
        if found is None or not principal.allows_site(found.conversion.site_id):
            # Outside the token looks like absent: ids of other sites are not confirmed.
            raise NotFound(f"conversion {conversion_id} not found")
        return found

    async def EraseUser(
        self, request: ingest_pb2.EraseUserRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.EraseUserResponse:
        if not request.site_id:
            raise InvalidArgument(
                "site_id is required", [FieldError("site_id", "REQUIRED", "site_id is required")]
            )
        current_principal().require(Scope.ADMIN, request.site_id)
        erasure = await self._erase(
            request.site_id,
            email=request.hashed_email,
            phone=request.hashed_phone,
            external_id=request.external_id,
        )
        response = ingest_pb2.EraseUserResponse(
            erasure_id=erasure.erasure_id, conversions_erased=len(erasure.conversion_ids)
        )
        response.erased_at.GetCurrentTime()
        return response

    async def ListSources(
        self, request: ingest_pb2.ListSourcesRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.ListSourcesResponse:
        principal = current_principal()
        if request.site_id:
            principal.require(Scope.READ, request.site_id)
            sites = [request.site_id]
        else:
            principal.require(Scope.READ)
            sites = [s for s in self._sites_with_sources() if principal.allows_site(s)]
        found: dict[tuple[str, int], ingest_pb2.SiteSource] = {
            (e.site_id, int(e.source)): e
            for e in await list_sources(self._status.engine, sites, datetime.now(UTC))
        }
        for site in sites:
            for name in (SOURCES[n] for n in self._policies.get(site).sources.configured()):
                key = (site, common_pb2.ConversionSource.Value(name))
                entry = found.setdefault(key, ingest_pb2.SiteSource(site_id=site, source=name))
                entry.configured = True
        return ingest_pb2.ListSourcesResponse(sources=[found[k] for k in sorted(found)])

    async def ListConversions(
        self, request: ingest_pb2.ListConversionsRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.ListConversionsResponse:
        if not request.site_id:
            raise InvalidArgument(
                "site_id is required", [FieldError("site_id", "REQUIRED", "site_id is required")]
            )
        current_principal().require(Scope.READ, request.site_id)
        if not 0 <= request.page_size <= MAX_PAGE:
            raise InvalidArgument(
                "page_size is 0 to 5,000",
                [FieldError("page_size", "OUT_OF_RANGE", "0 (default 1,000) to 5,000")],
            )
        r = request.time_range
        size = request.page_size or 1000
        found = await list_conversions(
            self._status.engine,
            request.site_id,
            r.start.ToDatetime(tzinfo=UTC) if r.HasField("start") else None,
            r.end.ToDatetime(tzinfo=UTC) if r.HasField("end") else None,
            _after(request.page_token),
            size,
            request.ids_only,
        )
        return ingest_pb2.ListConversionsResponse(
            conversions=found,
            next_page_token=_page_token(found[-1]) if len(found) == size else "",
        )

    async def SyncSource(
        self, request: ingest_pb2.SyncSourceRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.SyncSourceResponse:
        if not request.site_id:
            raise InvalidArgument(
                "site_id is required", [FieldError("site_id", "REQUIRED", "site_id is required")]
            )
        current_principal().require(Scope.ADMIN, request.site_id)
        if request.source != common_pb2.CONVERSION_SOURCE_HUBSPOT:
            raise InvalidArgument(
                "only HubSpot has a pull sync",
                [FieldError("source", "UNSUPPORTED", "CONVERSION_SOURCE_HUBSPOT only")],
            )
        if not 0 <= request.backfill_days <= 90:
            raise InvalidArgument(
                "backfill_days is 0 to 90",
                [FieldError("backfill_days", "OUT_OF_RANGE", "0 to 90 days")],
            )
        try:
            result = await self._sync_hubspot(
                request.site_id, timedelta(days=request.backfill_days)
            )
        except SyncBusy as exc:
            raise FailedPrecondition(str(exc)) from None
        response = ingest_pb2.SyncSourceResponse(
            deals_read=result.deals_read,
            accepted=result.counts["accepted"],
            duplicates=result.counts["duplicate"],
            rejected=result.counts["rejected"],
            pages=result.pages,
        )
        if result.watermark is not None:
            response.watermark.FromDatetime(result.watermark)
        return response


MAX_PAGE = 5000


def _page_token(c: common_pb2.HashedConversion) -> str:
    at = c.received_at.ToDatetime(tzinfo=UTC).isoformat()
    return base64.urlsafe_b64encode(f"{at}|{c.conversion_id}".encode()).decode()


def _after(token: str) -> tuple[datetime, str] | None:
    if not token:
        return None
    try:
        at, conversion_id = base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)
        return datetime.fromisoformat(at), str(uuid.UUID(conversion_id))
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument(
            "page_token is not one this API gave",
            [FieldError("page_token", "INVALID_VALUE", "use next_page_token as given")],
        ) from None


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidArgument(
            "conversion_id must be a UUID",
            [FieldError("conversion_id", "INVALID_FORMAT", "conversion_id must be a UUID")],
        ) from None
