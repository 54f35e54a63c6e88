"""`make bench` figures for dispatch-google: events/s draining a backlog into the Data Manager
simulator (answering at once), and accepted -> Google ack latency at 500 events/s, with the
dispatcher as its own process (hubkit.dispatch.benchmark) under its production policy: 2,000
events a request, a 2 s linger, the Cloud project's 300 requests/min.

    python -m dispatch_google.bench [seconds]
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from hubkit.dispatch.benchmark import dispatcher_process, main, throughput_and_latency
from hubkit.dispatch.testing import dispatch_request
from hubkit.vocabulary import Platform

CUSTOMER = "1234567890"
CREDENTIALS = {
    "client_id": "100000000007-bench.apps.googleusercontent.com",
    "client_secret": "bench-secret",
    "refresh_token": "dev-bench-refresh",
}


class Acked(NamedTuple):
    event_id: str
    at: float


def requests(prefix: str, count: int, at: datetime) -> list[events_pb2.DispatchRequested]:
    digest = hashlib.sha256(b"bench@example.com").hexdigest()
    user = common_pb2.HashedUserData(google=common_pb2.HashedIdentifiers(email=digest))
    out = []
    for i in range(count):
        r = dispatch_request(
            f"{prefix}{i}",
            platform=Platform.GOOGLE,
            site_id="bench",
            account_id=CUSTOMER,
            credentials_ref="bench-google",
            user_data=user,
            value="19.99",
            currency="EUR",
            event_time=at,
            order_id="",  # the transaction id is then the event id the latency is keyed by
            click_ids=common_pb2.ClickIds(gclid=f"Cj0KCQbench{prefix}{i}"),
        )
        r.target.conversion_action = f"customers/{CUSTOMER}/conversionActions/1001"
        r.conversion.received_at.FromDatetime(at)
        out.append(r)
    return out


async def run(seconds: float) -> dict[str, Any]:
    from convhub_sim.google import GoogleSimulator

    backlog = int(min(max(2000 * seconds, 5000), 60_000))
    sim = GoogleSimulator()
    await sim.start()
    try:
        async with dispatcher_process(
            "dispatch_google",
            Platform.GOOGLE,
            requests("g", backlog, datetime.now(UTC)),
            env={
                "CONVHUB_GOOGLE_DATA_MANAGER_URL": sim.url,
                "CONVHUB_GOOGLE_ADS_URL": sim.url,
                "CONVHUB_GOOGLE_OAUTH_URL": f"{sim.url}/token",
            },
            credentials={"bench-google": json.dumps(CREDENTIALS)},
        ) as stack:
            figures = await throughput_and_latency(
                stack,
                Platform.GOOGLE,
                lambda: [Acked(e.transaction_id, e.at) for e in sim.conversions()],
                sim.received.clear,
                requests,
                backlog,
                seconds,
            )
            figures["requests"] = sum(r.path == "/v1/events:ingest" for r in sim.requests)
    finally:
        await sim.stop()
    return {f"dispatch_google_{name}": value for name, value in figures.items()}


if __name__ == "__main__":
    main(run)
