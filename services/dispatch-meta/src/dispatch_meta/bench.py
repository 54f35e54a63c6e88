"""`make bench` figures for dispatch-meta: dispatch throughput, accepted -> Meta ack latency, and
the dispatch stage side by side with the official `facebook-business` SDK (docs/architecture.md §7).

Embedded PostgreSQL and NATS, the Meta simulator in this process answering at once, and the
dispatcher as its own process (`python -m dispatch_meta.main`), as in production.

    python -m dispatch_meta.bench [seconds]   # everything, as `make bench` runs it
    python -m dispatch_meta.bench --vs-sdk    # only the side-by-side with the SDK
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from hubkit.dispatch.benchmark import dispatcher_process, throughput_and_latency, wait_until
from hubkit.vocabulary import Platform

PIXEL = "1234567890"
VS_SDK_EVENTS = 20_000  # the backlog of the side-by-side (docs/architecture.md §7)
VS_SDK_BATCH = 1_000  # events per request for both: Meta's maximum, convhub's batch size
# The SDK's modes: its basic, documented path (`EventRequest.execute()`, blocking `requests`,
# one batch after the other), and its async feature (`EventRequestAsync` on aiohttp), driven
# both by its own `BatchProcessor` and by asyncio.gather with 4 requests in flight (convhub's
# `max_in_flight_per_account`). The SDK's figure is the best of the three.
SDK_MODES = ("sync", "batch_processor", "async_gather")
SDK_IN_FLIGHT = 4


def _requests(prefix: str, count: int, at: datetime) -> list[Any]:
    import hashlib

    from convhub.common.v1 import common_pb2
    from hubkit.dispatch.testing import dispatch_request

    digest = hashlib.sha256(b"bench@example.com").hexdigest()
    user = common_pb2.HashedUserData(meta=common_pb2.HashedIdentifiers(email=digest))
    out = []
    for i in range(count):
        r = dispatch_request(
            f"{prefix}{i}",
            site_id="bench",
            account_id=PIXEL,
            credentials_ref="bench-meta",
            user_data=user,
            action_source=common_pb2.ACTION_SOURCE_SYSTEM_GENERATED,
            value="19.99",
            currency="EUR",
        )
        r.conversion.received_at.FromDatetime(at)
        out.append(r)
    return out


async def run(seconds: float) -> dict[str, Any]:
    """Throughput over a backlog, then latency at 500 events/s for `seconds`; then the dispatch
    stage against the facebook-business SDK (`run_vs_sdk`)."""
    from convhub_sim.meta import MetaSimulator

    backlog = int(min(max(2000 * seconds, 5000), 60_000))
    sim = MetaSimulator()
    await sim.start()
    try:
        async with _dispatcher(sim, _requests("t", backlog, datetime.now(UTC))) as stack:
            figures = await throughput_and_latency(
                stack,
                Platform.META,
                lambda: sim.received,
                sim.received.clear,
                _requests,
                backlog,
                seconds,
            )
            figures["requests"] = len(sim.platform_requests())
    finally:
        await sim.stop()
    return {
        **{f"dispatch_meta_{name}": value for name, value in figures.items()},
        **await run_vs_sdk(),
    }


def _dispatcher(sim: Any, backlog: list[Any]) -> Any:
    """dispatch-meta as its own process sending to `sim` (hubkit.dispatch.benchmark)."""
    return dispatcher_process(
        "dispatch_meta",
        Platform.META,
        backlog,
        env={"CONVHUB_META_GRAPH_URL": sim.url},
        credentials={"bench-meta": json.dumps({"access_token": "bench-token"})},
    )


async def run_vs_sdk(events: int = VS_SDK_EVENTS) -> dict[str, Any]:
    """The dispatch stage alone against the official SDK, same simulator, same run.

    Both send the same events (Purchase, system_generated, SHA-256 email, value 19.99 EUR, a
    unique event_id, event_time now) in requests of 1,000 to the Meta simulator of this process,
    each client in its own process. Both are timed on the simulator's clock from the moment the
    client is ready (convhub: health SERVING, or its first request if that came earlier; SDK:
    its events built, just before its first request) to the last event the simulator accepted.
    Building the SDK's Event objects is left out of its time (in its favour); convhub's time
    includes reading its backlog from NATS, its ledger in PostgreSQL and acking.
    """
    if importlib.util.find_spec("facebook_business") is None:
        print("bench: facebook-business not installed, dispatch vs SDK skipped", file=sys.stderr)
        return {}
    from importlib.metadata import version

    from convhub_sim.meta import MetaSimulator

    sim = MetaSimulator()
    await sim.start()
    try:
        async with _dispatcher(sim, _requests("v", events, datetime.now(UTC))) as stack:
            await wait_until(lambda: len(sim.received) >= events, 300, "convhub backlog delivered")
            first_request = min(r.at for r in sim.platform_requests())
            convhub_s = max(e.at for e in sim.received) - min(stack.serving_at, first_request)
            convhub_requests = len(sim.platform_requests())
        # The dispatcher is stopped: the SDK has the machine as convhub had it.
        sdk: dict[str, float] = {}
        for mode in SDK_MODES:
            sdk[mode] = events / await _sdk_run(sim, mode, events)
    finally:
        await sim.stop()
    convhub_eps = events / convhub_s
    best = max(SDK_MODES, key=lambda m: sdk[m])
    ratio = convhub_eps / sdk[best]
    print(
        f"dispatch stage, {events} events in requests of {VS_SDK_BATCH}:"
        f" convhub dispatch-meta {convhub_eps:,.0f} events/s,"
        f" facebook-business SDK {sdk[best]:,.0f} events/s ({best};"
        + ", ".join(f" {m} {sdk[m]:,.0f}" for m in SDK_MODES)
        + f"), convhub/SDK {ratio:.2f}x",
        file=sys.stderr,
    )
    return {
        "vs_sdk_events": events,
        "vs_sdk_batch_size": VS_SDK_BATCH,
        "vs_sdk_convhub_events_per_s": round(convhub_eps),
        "vs_sdk_convhub_requests": convhub_requests,
        **{f"vs_sdk_sdk_{m}_events_per_s": round(sdk[m]) for m in SDK_MODES},
        "vs_sdk_sdk_events_per_s": round(sdk[best]),
        "vs_sdk_sdk_mode": best,
        "vs_sdk_sdk_version": version("facebook-business"),
        "vs_sdk_ratio_convhub_over_sdk": round(ratio, 2),
    }


async def _sdk_run(sim: Any, mode: str, events: int) -> float:
    """Seconds the SDK (own process, `mode`) took to have `events` accepted by `sim`."""
    prefix = f"sdk-{mode}-"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dispatch_meta.bench",
        "--sdk-client",
        mode,
        sim.url,
        prefix,
        str(events),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()  # the simulator answers on this loop meanwhile
    if proc.returncode != 0:
        raise RuntimeError(f"bench: the SDK client ({mode}) failed")
    started = float(json.loads(out)["started_at"])
    mine = [e for e in sim.received if e.event_id.startswith(prefix)]
    if len({e.event_id for e in mine if not e.deduplicated}) != events:
        raise RuntimeError(f"bench: the simulator accepted {len(mine)} of {events} SDK events")
    return float(max(e.at for e in mine)) - started


def _sdk_client(mode: str, url: str, prefix: str, count: int) -> dict[str, Any]:
    """The SDK side, run as `python -m dispatch_meta.bench --sdk-client MODE URL PREFIX COUNT`."""
    import hashlib

    from facebook_business.adobjects.serverside.action_source import ActionSource
    from facebook_business.adobjects.serverside.batch_processor import BatchProcessor
    from facebook_business.adobjects.serverside.custom_data import CustomData
    from facebook_business.adobjects.serverside.event import Event
    from facebook_business.adobjects.serverside.event_request import EventRequest
    from facebook_business.adobjects.serverside.event_request_async import EventRequestAsync
    from facebook_business.adobjects.serverside.user_data import UserData
    from facebook_business.api import FacebookAdsApi
    from facebook_business.session import FacebookSession

    FacebookSession.GRAPH = url  # the SDK's Graph base URL: here the simulator
    # No crash reporter: it would post tracebacks to graph.facebook.com.
    FacebookAdsApi.init(access_token="bench-token", crash_log=False)
    digest = hashlib.sha256(b"bench@example.com").hexdigest()  # already hashed: sent as is
    now = int(time.time())
    all_events = [
        Event(
            event_name="Purchase",
            event_time=now,
            event_id=f"{prefix}{i}",
            action_source=ActionSource.SYSTEM_GENERATED,
            user_data=UserData(emails=[digest]),
            custom_data=CustomData(value=19.99, currency="EUR"),
        )
        for i in range(count)
    ]
    chunks = [all_events[i : i + VS_SDK_BATCH] for i in range(0, count, VS_SDK_BATCH)]
    started_at = time.time()
    if mode == "sync":
        # The SDK's default: one blocking EventRequest per batch, one after the other.
        for chunk in chunks:
            response = EventRequest(pixel_id=PIXEL, events=chunk).execute()
            if response.events_received != len(chunk):
                raise RuntimeError(f"SDK: {response.events_received} of {len(chunk)} received")
    elif mode == "batch_processor":
        # The SDK's "concurrent batching": BatchProcessor over EventRequestAsync (its default of
        # 4 concurrent requests; this version awaits them one after the other nonetheless).
        BatchProcessor(batch_size=VS_SDK_BATCH, concurrent_requests=SDK_IN_FLIGHT).process_events(
            EventRequestAsync(pixel_id=PIXEL, events=[]), all_events
        )
    elif mode == "async_gather":
        # The SDK's async requests, SDK_IN_FLIGHT at a time (each opens its own aiohttp session).
        async def send_all() -> None:
            gate = asyncio.Semaphore(SDK_IN_FLIGHT)

            async def send(chunk: list[Any]) -> None:
                async with gate:
                    response = await EventRequestAsync(pixel_id=PIXEL, events=chunk).execute()
                if response.events_received != len(chunk):
                    raise RuntimeError(f"SDK: {response.events_received} of {len(chunk)}")

            await asyncio.gather(*(send(chunk) for chunk in chunks))

        asyncio.run(send_all())
    else:
        raise ValueError(f"unknown SDK mode {mode!r}")
    return {"started_at": started_at, "client_seconds": time.time() - started_at}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sdk-client"]:
        mode, url, prefix, count = sys.argv[2:6]
        print(json.dumps(_sdk_client(mode, url, prefix, int(count))))
    elif sys.argv[1:2] == ["--vs-sdk"]:
        print(json.dumps(asyncio.run(run_vs_sdk()), indent=2))
    else:
        print(
            json.dumps(
                asyncio.run(run(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)), indent=2
            )
        )
