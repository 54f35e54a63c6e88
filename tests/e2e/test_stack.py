"""`make run` end to end: `convhub up` brings the whole system up, conversions flow to every
destination of the demo sites, and Ctrl-C brings everything down."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from convhub.common.v1 import common_pb2
from convhub.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from convhub_cli.demo import _conversion
from convhub_cli.stackfile import StackInfo
from hubkit.auth import Scope, issue_token
from hubkit.grpcx import auth_metadata
from tests.support import wait_for

from .otlp import Receiver

pytestmark = pytest.mark.slow
CONVHUB = str(Path(sys.executable).parent / "convhub")
CONFIRMED = common_pb2.DELIVERY_STATUS_CONFIRMED
SERVER, CLIENT = 2, 3  # OTLP span kinds


async def read_until(stream: asyncio.StreamReader, marker: str, within: float) -> str:
    seen = ""
    deadline = time.monotonic() + within
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {marker!r} in time; output so far:\n{seen}"
        line = await asyncio.wait_for(stream.readline(), remaining)
        assert line, f"convhub up ended early; output:\n{seen}"
        seen += line.decode()
    return seen


def listening(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) == 0


async def test_stack_flows_end_to_end_and_stops_cleanly(tmp_path: Path) -> None:
    receiver = Receiver()  # where Jaeger would be: every service exports its spans here
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": await receiver.start(),
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    env.pop("OTEL_SDK_DISABLED", None)
    proc = await asyncio.create_subprocess_exec(
        CONVHUB,
        "up",
        "--no-demo",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    try:
        banner = await read_until(proc.stdout, "Ctrl-C stops everything", within=120)
        assert "demo-direct" in banner and "demo-sgtm" in banner
        info = StackInfo.load(tmp_path / ".run" / "stack.json")
        assert info is not None
        assert {"ingest", "router", "dispatch-google", "dispatch-meta", "dispatch-tiktok"} <= set(
            info.services
        )
        metadata = auth_metadata(
            issue_token(info.jwt_secret, subject="e2e", sites=["*"], scopes=list(Scope))
        )
        async with grpc.aio.insecure_channel(info.services["ingest"]) as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            batch = [
                _conversion(site, n)
                for n, site in enumerate(["demo-direct", "demo-sgtm"] * 3, start=1)
            ]
            # The client's own trace: every span of these conversions belongs to it or links to it.
            trace_id = secrets.token_hex(16)
            traced = (*metadata, ("traceparent", f"00-{trace_id}-{secrets.token_hex(8)}-01"))
            results = (
                await stub.IngestBatch(
                    ingest_pb2.IngestBatchRequest(conversions=batch), metadata=traced
                )
            ).results
            assert all(r.status == ingest_pb2.INGEST_STATUS_ACCEPTED for r in results)

            async def delivered(conversion_id: str) -> ingest_pb2.GetConversionResponse | None:
                got = await stub.GetConversion(
                    ingest_pb2.GetConversionRequest(conversion_id=conversion_id), metadata=metadata
                )
                done = (
                    got.routing.routed
                    and got.deliveries
                    and all(d.status == CONFIRMED for d in got.deliveries)
                )
                return got if done else None

            for r in results:
                got = await wait_for(
                    lambda r=r: delivered(r.conversion_id),
                    within=60,
                    interval=0.2,
                    what=f"{r.conversion_id} delivered",
                )
                platforms = {d.destination.platform for d in got.deliveries}
                expected = (
                    {common_pb2.PLATFORM_SGTM}
                    if got.conversion.site_id == "demo-sgtm"
                    else {
                        common_pb2.PLATFORM_GOOGLE,  # confirmed by Data Manager's request status
                        common_pb2.PLATFORM_META,
                        common_pb2.PLATFORM_TIKTOK,
                    }
                )
                assert expected <= platforms
            await _phones_arrive_as_the_platforms_match_them(stub, metadata, info)
            await _shopify_click_ids_reach_google_and_meta(info)
        await wait_for(
            lambda: _whole_trace(receiver, trace_id), within=30, interval=0.5, what="whole trace"
        )
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C in `make run` sends
        code = await asyncio.wait_for(proc.wait(), 90)
    assert code == 0
    assert not any(listening(a) for a in info.services.values())
    assert not (tmp_path / ".run" / "stack.json").exists()
    await receiver.stop()


def _whole_trace(receiver: Receiver, trace_id: str) -> bool:
    """Whether the trace shows every hop: ingest's RPC, its outbox relay, the router, each
    dispatcher's batch (linked to the trace) and, under the batch, its platform request."""
    spans = receiver.in_trace(trace_id)
    hops = {
        "ingest rpc": any(s.service == "ingest" and s.kind == SERVER for s in spans),
        "ingest relay": any(s.service == "ingest" and s.name.startswith("relay ") for s in spans),
        "router": any(s.service == "router" and s.name.startswith("route ") for s in spans),
    }
    for service, platform in (
        ("dispatch-google", "google"),
        ("dispatch-meta", "meta"),
        ("dispatch-tiktok", "tiktok"),
        ("router", "sgtm"),
    ):
        batches = [
            s
            for s in receiver.spans
            if s.service == service
            and s.name == f"dispatch {platform} batch"
            and trace_id in s.links
        ]
        hops[f"{platform} batch"] = bool(batches)
        hops[f"POST {platform}"] = any(
            s.name == f"POST {platform}"
            and s.kind == CLIENT
            and any(s.parent_id == b.span_id for b in batches)
            for s in receiver.spans
        )
    missing = [hop for hop, seen in hops.items() if not seen]
    if missing:
        print("trace incomplete, missing:", missing)
    return not missing


# The phones backends really send, with the conversion's country, and the E.164 digits each
# platform must receive (None: not a valid number, so it is left out with a warning).
PHONES = [
    ("(650) 555-1212", "US", "16505551212"),
    ("98765-43210", "IN", "919876543210"),
    ("+44 (0)20 7946 0958", "", "442079460958"),
    ("020 7946 0958", "GB", "442079460958"),
    ("06 12 34 56 78", "FR", "33612345678"),
    ("555-1212", "US", None),
]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def _phones_arrive_as_the_platforms_match_them(
    stub: ingest_pb2_grpc.IngestServiceStub, metadata: Any, info: StackInfo
) -> None:
    batch = []
    for n, (phone, country, _) in enumerate(PHONES, start=900):
        c = _conversion("demo-direct", n)
        c.user_data.phone, c.user_data.country = phone, country
        batch.append(c)
    results = (
        await stub.IngestBatch(ingest_pb2.IngestBatchRequest(conversions=batch), metadata=metadata)
    ).results
    assert [r.status for r in results] == [ingest_pb2.INGEST_STATUS_ACCEPTED] * len(PHONES)
    warned = {i: [(w.field, w.code) for w in r.warnings] for i, r in enumerate(results)}
    assert warned == {i: [] for i in range(5)} | {5: [("user_data.phone", "INVALID_FORMAT")]}
    assert "555" not in results[5].warnings[0].message  # the value is never echoed
    meta_url, google_url = info.simulators["meta"], info.simulators["google"]
    async with httpx.AsyncClient() as http:

        async def received() -> tuple[dict[str, Any], dict[str, Any]] | None:
            meta = {
                e["event_id"]: e["user_data"]
                for e in (await http.get(f"{meta_url}/_sim/meta/events")).json()["received"]
            }
            google = {
                e["transaction_id"]: e["payload"]
                for e in (await http.get(f"{google_url}/_sim/google/events")).json()["received"]
            }
            arrived = all(r.event_id in meta for r in results) and all(
                c.order_id in google for c in batch
            )
            return (meta, google) if arrived else None

        meta, google = await wait_for(
            received, within=60, interval=0.5, what="the phones at Meta and Google"
        )
    for (_, _, digits), result, c in zip(PHONES, results, batch, strict=True):
        meta_phone = meta[result.event_id].get("ph")
        google_ids = google[c.order_id]["userData"]["userIdentifiers"]
        google_phone = [i["phoneNumber"] for i in google_ids if "phoneNumber" in i]
        if digits is None:
            assert meta_phone is None and google_phone == []
        else:
            assert meta_phone == [_sha(digits)]
            assert google_phone == [_sha("+" + digits)]


async def _shopify_click_ids_reach_google_and_meta(info: StackInfo) -> None:
    """A Shopify order's click ids, read from its landing_site, go out in the Google Data
    Manager event (adIdentifiers.gclid) and in Meta's fbc (built from the fbclid)."""
    from convhub_cli.sites import DEMO_SHOP_DOMAIN, DEMO_SOURCE_SECRETS
    from convhub_sim.sources import shopify_order, shopify_webhook

    gclid, fbclid = "EAIaIQobChMI_e2e_landing", "IwAR_e2e_landing_click"
    order = shopify_order(8_800_000_001, landing_site=f"/p?gclid={gclid}&fbclid={fbclid}")
    body, headers = shopify_webhook(
        DEMO_SOURCE_SECRETS["demo-shopify"], order, shop_domain=DEMO_SHOP_DOMAIN
    )
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{info.webhooks}/shopify/demo-direct", content=body, headers=headers
        )
        assert answer.status_code == 202, answer.text
        meta_url, google_url = info.simulators["meta"], info.simulators["google"]

        async def arrived() -> tuple[dict[str, Any], dict[str, Any]] | None:
            google = {
                e["transaction_id"]: e["payload"]
                for e in (await http.get(f"{google_url}/_sim/google/events")).json()["received"]
            }
            meta = {
                e["event_id"]: e["user_data"]
                for e in (await http.get(f"{meta_url}/_sim/meta/events")).json()["received"]
            }
            order_id = str(order["id"])
            found = [u for u in meta.values() if fbclid in str(u.get("fbc", ""))]
            return (google[order_id], found[0]) if order_id in google and found else None

        google_event, meta_user = await wait_for(
            arrived, within=60, interval=0.5, what="the Shopify order at Google and Meta"
        )
    assert google_event["adIdentifiers"] == {"gclid": gclid}
    assert meta_user["fbc"].startswith("fb.1.") and meta_user["fbc"].endswith(fbclid)
