"""AcceptedConversions over ingest's gRPC API: ListConversions (ids, page by page) and
GetConversion. Attribution calls as itself with a token it mints from the shared JWT secret
(scope read, every site)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import grpc

from attribution.app.attribute import stored_conversion
from attribution.domain.model import StoredConversion
from convhub.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from hubkit.auth import Scope, issue_token
from hubkit.grpcx import auth_metadata

PAGE = 5000
TOKEN_TTL = 3600


class IngestUnavailable(Exception):
    """Ingest answered with an error: one line, the status and its details."""

    def __init__(self, exc: grpc.aio.AioRpcError) -> None:
        details = " ".join((exc.details() or "").split())[:200]
        super().__init__(f"ingest answered {exc.code().name}: {details}")


class GrpcAcceptedConversions:
    def __init__(self, target: str, jwt_secret: str | None, *, timeout: float = 60.0) -> None:
        self._channel = grpc.aio.insecure_channel(target)
        self._stub = ingest_pb2_grpc.IngestServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._secret = jwt_secret
        self._timeout = timeout

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        if not self._secret:  # a dev stack without auth
            return ()
        token = issue_token(
            self._secret,
            subject="attribution",
            sites=["*"],
            scopes=[Scope.READ],
            ttl_seconds=TOKEN_TTL,
        )
        return tuple(auth_metadata(token))

    async def ids(self, site_id: str, since: datetime, until: datetime) -> AsyncIterator[list[str]]:
        request = ingest_pb2.ListConversionsRequest(site_id=site_id, page_size=PAGE, ids_only=True)
        request.time_range.start.FromDatetime(since)
        request.time_range.end.FromDatetime(until)
        metadata = self._metadata()
        while True:
            try:
                page = await self._stub.ListConversions(
                    request, metadata=metadata, timeout=self._timeout
                )
            except grpc.aio.AioRpcError as exc:
                raise IngestUnavailable(exc) from None
            yield [c.conversion_id for c in page.conversions]
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    async def get(self, conversion_id: str) -> StoredConversion | None:
        try:
            found = await self._stub.GetConversion(
                ingest_pb2.GetConversionRequest(conversion_id=conversion_id),
                metadata=self._metadata(),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise IngestUnavailable(exc) from None
        return stored_conversion(found.conversion)

    async def close(self) -> None:
        await self._channel.close()
