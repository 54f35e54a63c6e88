"""Routing and release use cases with in-memory ports: once per conversion, parked until fixed."""

from __future__ import annotations

import pytest

from hubkit.vocabulary import Platform
from router.app.releasing import ParkedReleaser
from router.app.routing import Router
from router.app.sites import SiteService
from router.domain.events import ConversionsRouted, DispatchRequested
from router.domain.site import (
    Destinations,
    MetaDestination,
    Mode,
    SgtmSettings,
    SiteConfig,
)

from .fakes import FakeClock, FakeDb, FakeMetrics, FakeUnitOfWork, FakeWakeups, conversion

SGTM_SITE = SiteConfig("shop", mode=Mode.SGTM, sgtm=SgtmSettings(url="https://sgtm.shop.example/d"))
META = MetaDestination(enabled=True, pixel_id="123456", credentials_ref="m")


@pytest.fixture
def db() -> FakeDb:
    return FakeDb(FakeClock())


@pytest.fixture
def metrics() -> FakeMetrics:
    return FakeMetrics()


def build(db: FakeDb, metrics: FakeMetrics) -> tuple[SiteService, Router, ParkedReleaser]:
    uow = lambda: FakeUnitOfWork(db)  # noqa: E731
    wakeups = FakeWakeups()
    return (
        SiteService(uow, db.clock, wakeups),
        Router(uow, db.clock, wakeups, metrics),
        ParkedReleaser(uow, db.clock, wakeups, metrics),
    )


def dispatched(db: FakeDb, platform: Platform) -> list[str]:
    """Delivery ids requested of one destination's dispatcher."""
    return [
        t.delivery_id(d.conversion_id)
        for e in db.published
        if isinstance(e, DispatchRequested) and e.platform is platform
        for d, t in e.items
    ]


def routed_ids(db: FakeDb) -> list[str]:
    return [
        d.conversion_id
        for e in db.published
        if isinstance(e, ConversionsRouted)
        for d in e.decisions
    ]


async def test_a_redelivered_batch_is_not_routed_twice(db: FakeDb, metrics: FakeMetrics) -> None:
    sites, router, _ = build(db, metrics)
    await sites.upsert(SGTM_SITE)
    batch = [conversion("c1"), conversion("c2"), conversion("c1")]
    first = await router.route("shop", batch)
    again = await router.route("shop", batch)
    assert (first.routed, first.repeated) == (2, 0)
    assert (again.routed, again.repeated) == (0, 2)
    assert routed_ids(db) == ["c1", "c2"]
    assert dispatched(db, Platform.SGTM) == [
        "c1:sgtm:sgtm.shop.example",
        "c2:sgtm:sgtm.shop.example",
    ]
    assert metrics.counts["routed_sgtm"] == 2 and metrics.counts["repeated"] == 2


async def test_direct_routing_requests_dispatch_per_platform(
    db: FakeDb, metrics: FakeMetrics
) -> None:
    sites, router, _ = build(db, metrics)
    await sites.upsert(SiteConfig("shop", mode=Mode.DIRECT, destinations=Destinations(meta=META)))
    await router.route("shop", [conversion("c1"), conversion("c2")])
    requested = [e for e in db.published if isinstance(e, DispatchRequested)]
    assert [(e.platform, len(e.items)) for e in requested] == [(Platform.META, 2)]
    assert not dispatched(db, Platform.SGTM) and metrics.counts["routed_direct"] == 2


async def test_parked_conversions_flow_once_the_configuration_is_fixed(
    db: FakeDb, metrics: FakeMetrics
) -> None:
    sites, router, releaser = build(db, metrics)
    await router.route("shop", [conversion("c1")])  # no configuration at all
    await sites.upsert(SiteConfig("shop", mode=Mode.DIRECT))  # still no usable destination
    await router.route("shop", [conversion("c2")])
    assert await releaser.release_all() == 0
    assert sorted(db.parked) == ["c1", "c2"]
    assert await releaser.release_all() == 0  # checked against this revision: not re-read

    await sites.upsert(SiteConfig("shop", mode=Mode.DIRECT, destinations=Destinations(meta=META)))
    assert await releaser.release_all() == 2
    assert db.parked == {}
    assert {d.conversion_id: d.revision for d in db.decisions.values()} == {"c1": 2, "c2": 2}
    dispatched = [e for e in db.published if isinstance(e, DispatchRequested)]
    assert sorted(d.conversion_id for e in dispatched for d, _ in e.items) == ["c1", "c2"]
    assert await releaser.release_all() == 0
    assert metrics.counts["released"] == 2


async def test_a_mode_switch_routes_each_conversion_down_exactly_one_path(
    db: FakeDb, metrics: FakeMetrics
) -> None:
    sites, router, _ = build(db, metrics)
    await sites.upsert(SGTM_SITE)
    ids = [f"c{i}" for i in range(100)]
    for i in range(0, 100, 10):
        if i == 50:
            await sites.upsert(
                SiteConfig("shop", mode=Mode.DIRECT, destinations=Destinations(meta=META))
            )
        await router.route("shop", [conversion(c) for c in ids[i : i + 10]] + [conversion("c0")])
    sgtm = {i.split(":")[0] for i in dispatched(db, Platform.SGTM)}
    direct = {i.split(":")[0] for i in dispatched(db, Platform.META)}
    assert len(sgtm) == len(direct) == 50 and sgtm.isdisjoint(direct)
    assert sgtm | direct == set(ids)


async def test_mode_mismatch_is_counted(db: FakeDb, metrics: FakeMetrics) -> None:
    sites, router, _ = build(db, metrics)
    await sites.upsert(SGTM_SITE)
    await router.route(
        "shop", [conversion("c1", hint=Mode.DIRECT), conversion("c2", hint=Mode.SGTM)]
    )
    assert metrics.counts["route_mode_mismatch"] == 1
    assert [d.mode_mismatch for d in db.decisions.values()] == [True, False]
