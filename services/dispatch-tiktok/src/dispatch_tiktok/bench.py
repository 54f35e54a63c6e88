"""`make bench` figures for dispatch-tiktok: events/s draining a backlog into the TikTok
simulator (answering at once), and accepted -> TikTok ack latency at 500 events/s, with the
dispatcher as its own process (hubkit.dispatch.benchmark).

    python -m dispatch_tiktok.bench [seconds]
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from hubkit.dispatch.benchmark import dispatcher_process, main, throughput_and_latency
from hubkit.dispatch.testing import dispatch_request
from hubkit.vocabulary import Platform

PIXEL = "CBENCHPIXEL000000001"
TOKEN = "bench-tiktok-token"


def requests(prefix: str, count: int, at: datetime) -> list[events_pb2.DispatchRequested]:
    digest = hashlib.sha256(b"bench@example.com").hexdigest()
    user = common_pb2.HashedUserData(tiktok=common_pb2.HashedIdentifiers(email=digest))
    out = []
    for i in range(count):
        r = dispatch_request(
            f"{prefix}{i}",
            platform=Platform.TIKTOK,
            site_id="bench",
            account_id=PIXEL,
            credentials_ref="bench-tiktok",
            user_data=user,
            value="19.99",
            currency="EUR",
            event_time=at,
        )
        r.conversion.received_at.FromDatetime(at)
        out.append(r)
    return out


async def run(seconds: float) -> dict[str, Any]:
    from convhub_sim.tiktok import TikTokSimulator

    backlog = int(min(max(2000 * seconds, 5000), 60_000))
    sim = TikTokSimulator(tokens={TOKEN}, pixels={PIXEL})
    await sim.start()
    try:
        async with dispatcher_process(
            "dispatch_tiktok",
            Platform.TIKTOK,
            requests("t", backlog, datetime.now(UTC)),
            env={"CONVHUB_TIKTOK_API_URL": sim.url},
            credentials={"bench-tiktok": TOKEN},
        ) as stack:
            figures = await throughput_and_latency(
                stack,
                Platform.TIKTOK,
                sim.processed,
                sim.received.clear,
                requests,
                backlog,
                seconds,
            )
            figures["requests"] = len(sim.track_requests())
    finally:
        await sim.stop()
    return {f"dispatch_tiktok_{name}": value for name, value in figures.items()}


if __name__ == "__main__":
    main(run)
