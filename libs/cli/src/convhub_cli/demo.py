"""Demo traffic for `make run`: a few conversions now and then, and where earlier ones went."""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
from datetime import UTC, datetime

import grpc

from convhub.common.v1 import common_pb2
from convhub.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from convhub_cli.stackfile import StackInfo
from hubkit.auth import Scope, issue_token
from hubkit.grpcx import auth_metadata

DEMO_SITES = ("demo-direct", "demo-sgtm")


def start(info: StackInfo, stop: threading.Event, every: float = 3.0) -> threading.Thread:
    thread = threading.Thread(
        target=lambda: asyncio.run(_loop(info, stop, every)), name="demo-traffic", daemon=True
    )
    thread.start()
    return thread


def _conversion(site: str, n: int) -> ingest_pb2.Conversion:
    c = ingest_pb2.Conversion(
        site_id=site,
        order_id=f"demo-{datetime.now(UTC):%H%M%S}-{n}",
        event_type="purchase",
        value=f"{random.randint(5, 300)}.{random.randint(0, 99):02d}",
        currency="EUR",
        click_ids=common_pb2.ClickIds(gclid=f"Cj0KCQdemo{n:06d}", ttclid=f"E.C.P.demo{n}"),
        user_data=ingest_pb2.UserData(
            email=f"buyer{n}@example.org",
            phone="+49 151 1234 5678",
            client_ip="203.0.113.10",
            user_agent="Mozilla/5.0 demo",
        ),
        consent=common_pb2.Consent(
            ad_user_data=common_pb2.CONSENT_STATUS_GRANTED,
            ad_personalization=common_pb2.CONSENT_STATUS_GRANTED,
        ),
        page_url="https://shop.example/checkout/thanks",
        visitor_id=f"visitor-{n % 17}",
        source=common_pb2.CONVERSION_SOURCE_API,
    )
    c.event_time.GetCurrentTime()
    return c


async def _loop(info: StackInfo, stop: threading.Event, every: float) -> None:
    metadata = auth_metadata(
        issue_token(
            info.jwt_secret, subject="demo", sites=["*"], scopes=list(Scope), ttl_seconds=24 * 3600
        )
    )
    counter = itertools.count(1)
    previous: list[str] = []
    async with grpc.aio.insecure_channel(info.services["ingest"]) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        while not stop.is_set():
            try:
                if previous:
                    await _report(stub, previous, metadata)
                batch = [_conversion(site, next(counter)) for site in DEMO_SITES for _ in range(3)]
                response = await stub.IngestBatch(
                    ingest_pb2.IngestBatchRequest(conversions=batch), metadata=metadata
                )
                previous = [r.conversion_id for r in response.results if r.conversion_id]
                print(
                    f"  demo: sent {len(batch)} conversions, {len(previous)} accepted", flush=True
                )
            except grpc.aio.AioRpcError as exc:
                print(f"  demo: {exc.code().name} {exc.details()}", flush=True)
            await asyncio.sleep(every)


async def _report(
    stub: ingest_pb2_grpc.IngestServiceStub, ids: list[str], metadata: tuple[tuple[str, str], ...]
) -> None:
    for conversion_id in ids[:: max(1, len(ids) // 2)]:
        got = await stub.GetConversion(
            ingest_pb2.GetConversionRequest(conversion_id=conversion_id), metadata=metadata
        )
        routing = got.routing
        if not routing.routed:
            where = "not routed yet"
        elif routing.parked:
            where = f"parked ({common_pb2.ParkReason.Name(routing.parked_reason)})"
        else:
            where = (
                ", ".join(
                    f"{common_pb2.Platform.Name(d.destination.platform).removeprefix('PLATFORM_')}"
                    f" {common_pb2.DeliveryStatus.Name(d.status).removeprefix('DELIVERY_STATUS_')}"
                    for d in got.deliveries
                )
                or "routed"
            )
        print(f"  demo: {got.conversion.site_id}/{got.conversion.order_id} -> {where}", flush=True)
