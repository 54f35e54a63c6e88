"""RouterService over gRPC: auth per call, protobuf in and out, the use cases in between."""

from __future__ import annotations

import grpc

from convhub.router.v1 import router_pb2 as pb
from convhub.router.v1 import router_pb2_grpc
from hubkit.auth import ALL_SITES, Scope, current_principal
from router.adapters import mappers
from router.app.sites import SiteService

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["RouterService"].full_name


class RouterServicer(router_pb2_grpc.RouterServiceServicer):
    def __init__(self, sites: SiteService) -> None:
        self._sites = sites

    async def UpsertSite(
        self, request: pb.UpsertSiteRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpsertSiteResponse:
        site_id = request.site.site_id.strip()
        current_principal().require(Scope.ADMIN, site_id or None)
        expected = request.expected_revision if request.HasField("expected_revision") else None
        result = await self._sites.upsert(
            mappers.site_from_pb(request.site),
            expected_revision=expected,
            validate_only=request.validate_only,
        )
        return pb.UpsertSiteResponse(site=mappers.site_to_pb(result.site), created=result.created)

    async def GetSite(
        self, request: pb.GetSiteRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSiteResponse:
        current_principal().require(Scope.READ, request.site_id or None)
        site = await self._sites.get(request.site_id)
        return pb.GetSiteResponse(site=mappers.site_to_pb(site))

    async def ListSites(
        self, request: pb.ListSitesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSitesResponse:
        principal = current_principal()
        principal.require(Scope.READ)
        site_ids = None if ALL_SITES in principal.sites else principal.sites
        page = await self._sites.list(site_ids, request.page_size, request.page_token)
        return pb.ListSitesResponse(
            sites=[mappers.site_to_pb(s) for s in page.sites], next_page_token=page.next_page_token
        )

    async def DeleteSite(
        self, request: pb.DeleteSiteRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteSiteResponse:
        current_principal().require(Scope.ADMIN, request.site_id or None)
        expected = request.expected_revision if request.HasField("expected_revision") else None
        revision = await self._sites.delete(request.site_id, expected_revision=expected)
        return pb.DeleteSiteResponse(revision=revision)
