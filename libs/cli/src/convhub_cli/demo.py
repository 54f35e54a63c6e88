"""Demo traffic for `make run`: a few conversions now and then, and where earlier ones went."""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
from datetime import UTC, datetime, timedelta

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
    journeys = _Journeys(info.services.get("attribution"), metadata)
    async with grpc.aio.insecure_channel(info.services["ingest"]) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        while not stop.is_set():
            try:
                if previous:
                    await _report(stub, previous, metadata)
                batch = [_conversion(site, next(counter)) for site in DEMO_SITES for _ in range(3)]
                await journeys.before(batch)
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


# Each demo visitor's ad interactions before it converts, so attribution shows real numbers.
_CHANNELS = [
    ("paid_search", "google", "cpc", "brand-search"),
    ("paid_social", "facebook", "paid_social", "retargeting"),
    ("email", "newsletter", "email", "weekly"),
    ("organic_search", "google", "organic", ""),
    ("display", "programmatic", "display", "awareness"),
]


class _Journeys:
    """Records touchpoints for the demo conversions' visitors on the attribution service."""

    def __init__(self, address: str | None, metadata: tuple[tuple[str, str], ...]) -> None:
        self._address = address
        self._metadata = metadata

    async def before(self, conversions: list[ingest_pb2.Conversion]) -> None:
        if self._address is None:
            return
        from convhub.attribution.v1 import attribution_pb2, attribution_pb2_grpc

        by_site: dict[str, list[common_pb2.Touchpoint]] = {}
        now = datetime.now(UTC)
        for c in conversions:
            for i in range(random.randint(0, 3)):
                channel, source, medium, campaign = random.choice(_CHANNELS)
                touch = common_pb2.Touchpoint(
                    site_id=c.site_id,
                    visitor_id=c.visitor_id,
                    channel=channel,
                    source=source,
                    medium=medium,
                    campaign=campaign,
                )
                touch.occurred_at.FromDatetime(now - timedelta(days=random.uniform(0.1, 20)))
                touch.touchpoint_id = f"{c.order_id}-t{i}"
                by_site.setdefault(c.site_id, []).append(touch)
        async with grpc.aio.insecure_channel(self._address) as channel:
            stub = attribution_pb2_grpc.AttributionServiceStub(channel)
            for site, touches in by_site.items():
                await stub.RecordTouchpoints(
                    attribution_pb2.RecordTouchpointsRequest(site_id=site, touchpoints=touches),
                    metadata=self._metadata,
                )
