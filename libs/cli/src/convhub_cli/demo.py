"""Demo traffic for `make run`: a few conversions now and then, and where earlier ones went.

Its output is one summary line: rewritten in place on a terminal (the banner above stays put),
otherwise printed every `report_every` seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import shutil
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TextIO

import grpc

from convhub.common.v1 import common_pb2
from convhub.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from convhub_cli.stackfile import StackInfo
from hubkit.auth import Scope, issue_token
from hubkit.grpcx import auth_metadata

DEMO_SITES = ("demo-direct", "demo-sgtm")


def start(
    info: StackInfo, stop: threading.Event, every: float = 3.0, report_every: float = 30.0
) -> threading.Thread:
    summary = Summary(stop, sys.stdout, report_every)
    thread = threading.Thread(
        target=lambda: asyncio.run(_loop(info, stop, every, summary)),
        name="demo-traffic",
        daemon=True,
    )
    thread.start()
    return thread


class Summary:
    """The demo's one line: totals so far, and where the last conversions checked went."""

    def __init__(self, stop: threading.Event, out: TextIO, report_every: float) -> None:
        self._stop, self._out, self._every = stop, out, report_every
        self._tty = out.isatty()
        self._next_line = 0.0
        self.sent = self.accepted = self.errors = 0
        self.last_error = ""
        self.outcomes: Counter[str] = Counter()

    def text(self) -> str:
        where = ", ".join(
            outcome if n == 1 else f"{outcome} x{n}" for outcome, n in sorted(self.outcomes.items())
        )
        text = (
            f"demo {datetime.now():%H:%M:%S}: {self.sent} sent, {self.accepted} accepted"
            f" | latest: {where or '-'}"
        )
        if self.errors:
            text += f" | {self.errors} errors, last {self.last_error}"
        return text

    def show(self) -> None:
        if self._stop.is_set():  # the stack is stopping: its own lines come now
            return
        if self._tty:
            width = shutil.get_terminal_size().columns - 1  # a wrapped line cannot be rewritten
            self._out.write("\r\x1b[K" + self.text()[:width])
            self._out.flush()
        elif time.monotonic() >= self._next_line:
            self._next_line = time.monotonic() + self._every
            print("  " + self.text(), file=self._out, flush=True)


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


async def _loop(info: StackInfo, stop: threading.Event, every: float, summary: Summary) -> None:
    metadata = auth_metadata(
        issue_token(
            info.jwt_secret, subject="demo", sites=["*"], scopes=list(Scope), ttl_seconds=24 * 3600
        )
    )
    # demo-sgtm is configured only when its simulator runs (`convhub up --simulators`).
    sites = [s for s in DEMO_SITES if s != "demo-sgtm" or "sgtm" in info.simulators]
    counter = itertools.count(1)
    previous: list[str] = []
    journeys = _Journeys(info.services.get("attribution"), metadata)
    async with grpc.aio.insecure_channel(info.services["ingest"]) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        while not stop.is_set():
            try:
                if previous:
                    summary.outcomes = await _outcomes(stub, previous, metadata)
                batch = [_conversion(site, next(counter)) for site in sites for _ in range(3)]
                await journeys.before(batch)
                response = await stub.IngestBatch(
                    ingest_pb2.IngestBatchRequest(conversions=batch), metadata=metadata
                )
                previous = [r.conversion_id for r in response.results if r.conversion_id]
                summary.sent += len(batch)
                summary.accepted += len(previous)
            except grpc.aio.AioRpcError as exc:
                summary.errors += 1
                summary.last_error = f"{exc.code().name}: {exc.details()}"
            summary.show()
            await asyncio.sleep(every)


async def _outcomes(
    stub: ingest_pb2_grpc.IngestServiceStub, ids: list[str], metadata: tuple[tuple[str, str], ...]
) -> Counter[str]:
    """Where a sample of `ids` stands: "META SENT", "GOOGLE CONFIRMED", "parked (...)", ..."""
    outcomes: Counter[str] = Counter()
    for conversion_id in ids[:: max(1, len(ids) // 2)]:
        got = await stub.GetConversion(
            ingest_pb2.GetConversionRequest(conversion_id=conversion_id), metadata=metadata
        )
        routing = got.routing
        if not routing.routed:
            outcomes["not routed yet"] += 1
        elif routing.parked:
            outcomes[f"parked ({common_pb2.ParkReason.Name(routing.parked_reason)})"] += 1
        elif not got.deliveries:
            outcomes["routed"] += 1
        else:
            for d in got.deliveries:
                platform = common_pb2.Platform.Name(d.destination.platform)[len("PLATFORM_") :]
                status = common_pb2.DeliveryStatus.Name(d.status)[len("DELIVERY_STATUS_") :]
                outcomes[f"{platform} {status}".lower()] += 1
    return outcomes


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
