"""`convhub sites ...` and the demo sites of `convhub up`, against a running router."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from convhub.common.v1 import common_pb2 as common
from convhub.router.v1 import router_pb2 as rpb
from convhub_cli.sites import DEMO_DIRECT, DEMO_SGTM, upsert_demo_sites
from convhub_cli.stackfile import StackInfo

from .conftest import SECRET, RunningRouter, token

CONVHUB = str(Path(sys.executable).parent / "convhub")


async def convhub(router: RunningRouter, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "CONVHUB_JWT_SECRET": SECRET,
        "CONVHUB_ROUTER_ADDR": f"127.0.0.1:{router.settings.grpc_port}",
        "CONVHUB_STACK_FILE": "/nonexistent",
    }
    proc = await asyncio.create_subprocess_exec(
        CONVHUB, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_sites_commands(router_service: RunningRouter, tmp_path: Path) -> None:
    code, out, err = await convhub(
        router_service,
        "sites", "upsert", "--site-id", "shop-1", "--mode", "direct",
        "--meta-pixel-id", "123456789", "--meta-credentials-ref", "shop-1-meta",
        "--google-customer-id", "123-456-7890", "--google-credentials-ref", "shop-1-google",
        "--google-action", "purchase=customers/1234567890/conversionActions/5",
    )  # fmt: skip
    assert code == 0, err
    stored = json.loads(out)
    assert (
        stored["revision"] == "1"
        and stored["destinations"]["google"]["customer_id"] == "1234567890"
    )
    assert "created shop-1 at revision 1" in err

    site_file = tmp_path / "site.json"
    site_file.write_text(json.dumps({"site": {**stored, "display_name": "Shop One"}}))
    code, out, err = await convhub(
        router_service, "sites", "upsert", "--file", str(site_file), "--no-google",
        "--expected-revision", "1",
    )  # fmt: skip
    assert code == 0, err
    amended = json.loads(out)
    assert amended["revision"] == "2" and amended["display_name"] == "Shop One"
    assert not amended["destinations"]["google"].get("enabled", False)

    code, out, _ = await convhub(router_service, "sites", "list")
    assert code == 0 and out.split()[:4] == ["shop-1", "DIRECT", "revision", "2"]
    code, out, _ = await convhub(router_service, "sites", "get", "shop-1")
    assert code == 0 and json.loads(out)["display_name"] == "Shop One"

    code, _, err = await convhub(
        router_service, "sites", "upsert", "--site-id", "shop-2", "--mode", "sgtm"
    )
    assert code == 1 and "site.sgtm.url: REQUIRED" in err

    code, out, _ = await convhub(router_service, "sites", "delete", "shop-1")
    assert code == 0 and "revision 3" in out
    code, _, err = await convhub(router_service, "sites", "get", "shop-1")
    assert code == 1 and "NOT_FOUND" in err


async def test_demo_sites_are_configured_idempotently(router_service: RunningRouter) -> None:
    info = StackInfo(
        database_url="",
        nats_url="",
        jwt_secret=SECRET,
        services={"router": f"127.0.0.1:{router_service.settings.grpc_port}"},
        simulators={"sgtm": "http://127.0.0.1:9"},
    )
    installed = ["ingest", "router", "dispatch-meta"]
    await asyncio.to_thread(upsert_demo_sites, info, installed)
    await asyncio.to_thread(upsert_demo_sites, info, installed)  # `make run` again
    listed = await router_service.stub.ListSites(rpb.ListSitesRequest(), metadata=token())
    sites = {s.site_id: s for s in listed.sites}
    assert set(sites) == {DEMO_DIRECT, DEMO_SGTM}
    direct = sites[DEMO_DIRECT]
    assert direct.revision == 1 and direct.attribution_mode == common.ATTRIBUTION_MODE_DIRECT
    assert direct.destinations.meta.enabled and not direct.destinations.google.enabled
    assert sites[DEMO_SGTM].sgtm.url == "http://127.0.0.1:9/data"
