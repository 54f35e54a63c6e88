"""RouterService over real gRPC, PostgreSQL and NATS: CRUD, auth, field errors, the KV mirror."""

from __future__ import annotations

import json

import grpc
import pytest
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError

from convhub.common.v1 import common_pb2 as common
from convhub.events.v1 import events_pb2 as events
from convhub.router.v1 import router_pb2 as rpb
from hubkit.auth import Scope
from hubkit.bus import SITES_BUCKET
from tests.support import wait_for

from .conftest import Collector, RunningRouter, direct_site, sgtm_site, token


async def kv_site(js: JetStreamContext, site_id: str) -> rpb.Site | None:
    kv = await js.key_value(SITES_BUCKET)
    try:
        entry = await kv.get(site_id)
    except KeyNotFoundError:
        return None
    return rpb.Site.FromString(entry.value) if entry.value else None


async def test_upsert_get_list_delete_with_revisions(
    router_service: RunningRouter, js: JetStreamContext
) -> None:
    changes = await Collector(js, "convhub.sites.changed.>", events.SiteConfigChangedBatch).start()
    created = await router_service.upsert(sgtm_site("shop-a", "https://sgtm.shop-a.example/data"))
    assert created.created and created.site.revision == 1
    assert created.site.HasField("created_at")

    switched = await router_service.upsert(direct_site("shop-a"), expected_revision=1)
    assert not switched.created and switched.site.revision == 2
    await router_service.upsert(direct_site("shop-b", meta=True))

    got = await router_service.stub.GetSite(rpb.GetSiteRequest(site_id="shop-a"), metadata=token())
    assert got.site.attribution_mode == common.ATTRIBUTION_MODE_DIRECT
    assert got.site.destinations.meta.pixel_id == "987654321"

    page = await router_service.stub.ListSites(rpb.ListSitesRequest(page_size=1), metadata=token())
    assert [s.site_id for s in page.sites] == ["shop-a"] and page.next_page_token
    rest = await router_service.stub.ListSites(
        rpb.ListSitesRequest(page_token=page.next_page_token), metadata=token()
    )
    assert [s.site_id for s in rest.sites] == ["shop-b"] and not rest.next_page_token

    deleted = await router_service.stub.DeleteSite(
        rpb.DeleteSiteRequest(site_id="shop-a"), metadata=token()
    )
    assert deleted.revision == 3
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await router_service.stub.GetSite(rpb.GetSiteRequest(site_id="shop-a"), metadata=token())
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND

    # The KV bucket follows every revision; the deletion is a deleted key.
    await wait_for(lambda: kv_site(js, "shop-b"), what="shop-b mirrored")
    await wait_for(lambda: _is_none(kv_site(js, "shop-a")), what="shop-a deleted from the bucket")
    mirrored = await kv_site(js, "shop-b")
    assert mirrored is not None and mirrored.revision == 1 and mirrored.destinations.meta.enabled
    await wait_for(lambda: len(changes.items) == 4, what="4 SiteConfigChanged")
    assert [(m.site_id, i.revision, i.deleted) for m in changes.messages for i in m.items] == [
        ("shop-a", 1, False),
        ("shop-a", 2, False),
        ("shop-b", 1, False),
        ("shop-a", 3, True),
    ]
    await changes.stop()


async def _is_none(value: object) -> bool:
    return (await value) is None  # type: ignore[misc]


async def test_invalid_configuration_answers_field_errors(router_service: RunningRouter) -> None:
    bad = direct_site("shop-a", meta=True)
    bad.destinations.meta.pixel_id = ""
    bad.destinations.meta.credentials_ref = "EAABwzLixnjYBOZBZCexampleexampleexampleexampleZDZD"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await router_service.upsert(bad)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    trailing = dict(caught.value.trailing_metadata() or ())
    errors = {e["field"]: e["code"] for e in json.loads(trailing["x-field-errors"])}
    assert errors == {
        "site.destinations.meta.pixel_id": "REQUIRED",
        "site.destinations.meta.credentials_ref": "SECRET_NOT_REFERENCE",
    }
    assert "EAAB" not in (caught.value.details() or "")

    with pytest.raises(grpc.aio.AioRpcError) as no_url:
        await router_service.upsert(
            rpb.Site(site_id="s", attribution_mode=common.ATTRIBUTION_MODE_SGTM)
        )
    assert no_url.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "site.sgtm.url" in (no_url.value.details() or "")


async def test_stale_expected_revision_is_refused(router_service: RunningRouter) -> None:
    await router_service.upsert(sgtm_site("shop-a", "https://sgtm.example/data"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await router_service.upsert(direct_site("shop-a"), expected_revision=0)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_tokens_decide_who_may_read_and_change_which_site(
    router_service: RunningRouter,
) -> None:
    stub = router_service.stub
    with pytest.raises(grpc.aio.AioRpcError) as unauthenticated:
        await stub.GetSite(rpb.GetSiteRequest(site_id="shop-a"))
    assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED

    reader = token(sites=["shop-a"], scopes=[Scope.READ])
    with pytest.raises(grpc.aio.AioRpcError) as read_only:
        await stub.UpsertSite(
            rpb.UpsertSiteRequest(site=sgtm_site("shop-a", "https://sgtm.example/d")),
            metadata=reader,
        )
    assert read_only.value.code() == grpc.StatusCode.PERMISSION_DENIED

    await router_service.upsert(sgtm_site("shop-a", "https://sgtm.example/d"))
    await router_service.upsert(sgtm_site("shop-b", "https://sgtm.example/d"))
    listed = await stub.ListSites(rpb.ListSitesRequest(), metadata=reader)
    assert [s.site_id for s in listed.sites] == ["shop-a"]
    with pytest.raises(grpc.aio.AioRpcError) as other_site:
        await stub.GetSite(rpb.GetSiteRequest(site_id="shop-b"), metadata=reader)
    assert other_site.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_mirror_repairs_a_lost_bucket(
    router_service: RunningRouter, js: JetStreamContext
) -> None:
    await router_service.upsert(sgtm_site("shop-a", "https://sgtm.example/d"))
    await wait_for(lambda: kv_site(js, "shop-a"), what="mirrored")
    await js.delete_key_value(SITES_BUCKET)
    # A restart resyncs the bucket from the database.
    await router_service.shutdown()
    from .conftest import start_router

    again = await start_router(router_service.settings)
    try:
        await wait_for(lambda: kv_site(js, "shop-a"), what="re-mirrored after the bucket was lost")
    finally:
        await again.shutdown()
