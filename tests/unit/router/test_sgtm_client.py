"""The sGTM adapter keeps the configured secrets out of the response excerpt it stores."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from hubkit.dispatch import CredentialStore
from hubkit.dispatch.model import PendingEvent, SendBatch
from hubkit.dispatch.testing import dispatch_request
from router.adapters.sgtm_platform import SgtmPlatform, lane_for
from router.domain.site import SgtmFormat, SgtmSettings

HEADER_SECRET = "hdr-7Qx2ZpLw9"
MP_SECRET = "mp-K3vN8sYt1"


async def test_an_echoing_container_never_gets_its_secrets_into_the_excerpt(
    tmp_path: Path,
) -> None:
    (tmp_path / "auth").write_text(HEADER_SECRET)
    (tmp_path / "mp").write_text(MP_SECRET)

    def echo(request: httpx.Request) -> httpx.Response:
        # A debugging container answering with what it received: header, query, raw values.
        got = request.headers["x-convhub-auth"]
        return httpx.Response(
            400, text=f"bad request; x-convhub-auth={got} url={request.url} raw {got} {MP_SECRET}"
        )

    settings = SgtmSettings(
        url="https://sgtm.example.com",
        format=SgtmFormat.GA4_MP,
        auth_header_name="x-convhub-auth",
        auth_secret_ref="auth",
        measurement_id="G-TEST1234",
        api_secret_ref="mp",
    )

    async def settings_at(site_id: str, revision: int) -> SgtmSettings:
        return settings

    lane = lane_for("shop", 3, "sgtm.example.com")
    request = dispatch_request("c1", site_id="shop", value="1.00", currency="EUR")
    event = PendingEvent("d1", "c1", "shop", "evt-c1", 1, 0, request)
    async with httpx.AsyncClient(transport=httpx.MockTransport(echo)) as client:
        sgtm = SgtmPlatform(client, CredentialStore(tmp_path), settings_at)
        prepared = await sgtm.prepare(SendBatch("b1", lane, [event]), datetime.now(UTC))
        (one,) = prepared.requests
        assert one.payload.params["api_secret"] == MP_SECRET
        result = await sgtm.send(lane, one)
    assert result.http_status == 400 and "bad request" in result.excerpt
    assert HEADER_SECRET not in result.excerpt and MP_SECRET not in result.excerpt
    assert "[secret]" in result.excerpt
    assert len(result.excerpt) <= 512
