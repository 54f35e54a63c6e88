"""Site configuration use cases with in-memory ports: revisions, concurrency, validation."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hubkit.errors import FailedPrecondition, InvalidArgument, NotFound
from router.app.sites import SiteService
from router.domain.events import SiteChanged
from router.domain.site import Mode, SgtmSettings, SiteConfig

from .fakes import FakeClock, FakeDb, FakeUnitOfWork, FakeWakeups

SITE = SiteConfig("shop", mode=Mode.SGTM, sgtm=SgtmSettings(url="https://sgtm.shop.example/data"))


@pytest.fixture
def db() -> FakeDb:
    return FakeDb(FakeClock())


@pytest.fixture
def wakeups() -> FakeWakeups:
    return FakeWakeups()


@pytest.fixture
def service(db: FakeDb, wakeups: FakeWakeups) -> SiteService:
    return SiteService(lambda: FakeUnitOfWork(db), db.clock, wakeups)


async def test_every_change_bumps_the_revision_and_is_announced(
    service: SiteService, db: FakeDb, wakeups: FakeWakeups
) -> None:
    first = await service.upsert(SITE)
    db.clock.advance(5)
    second = await service.upsert(replace(SITE, display_name="Shop DE"))
    assert (first.created, first.site.revision) == (True, 1)
    assert (second.created, second.site.revision) == (False, 2)
    assert second.site.created_at == first.site.created_at < second.site.updated_at
    assert [(e.revision, e.deleted) for e in db.published if isinstance(e, SiteChanged)] == [
        (1, False),
        (2, False),
    ]
    assert wakeups.counts["site:shop"] == 2


async def test_the_same_settings_again_is_not_a_change(service: SiteService, db: FakeDb) -> None:
    await service.upsert(SITE)
    again = await service.upsert(replace(SITE, revision=99))
    assert (again.changed, again.site.revision, db.commits) == (False, 1, 1)


async def test_expected_revision_guards_concurrent_edits(service: SiteService) -> None:
    with pytest.raises(FailedPrecondition, match="does not exist"):
        await service.upsert(SITE, expected_revision=3)
    await service.upsert(SITE, expected_revision=0)
    with pytest.raises(FailedPrecondition, match="revision 1"):
        await service.upsert(replace(SITE, display_name="x"), expected_revision=0)
    assert (
        await service.upsert(replace(SITE, display_name="x"), expected_revision=1)
    ).site.revision == 2


async def test_validate_only_stores_nothing(service: SiteService, db: FakeDb) -> None:
    result = await service.upsert(SITE, validate_only=True)
    assert result.site.revision == 1 and db.sites == {} and db.published == []


async def test_invalid_configuration_answers_field_errors(service: SiteService) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await service.upsert(SiteConfig("shop", mode=Mode.SGTM))
    assert [(f.field, f.code) for f in caught.value.field_errors] == [("site.sgtm.url", "REQUIRED")]


async def test_delete_keeps_the_revision_counter(service: SiteService, db: FakeDb) -> None:
    await service.upsert(SITE)
    assert await service.delete("shop") == 2
    with pytest.raises(NotFound):
        await service.get("shop")
    with pytest.raises(NotFound):
        await service.delete("shop")
    recreated = await service.upsert(SITE)
    assert (recreated.created, recreated.site.revision) == (True, 3)
    deleted = [e for e in db.published if isinstance(e, SiteChanged) and e.deleted]
    assert [e.revision for e in deleted] == [2]


async def test_list_pages_through_the_callers_sites(service: SiteService) -> None:
    for name in ("a", "b", "c", "d"):
        await service.upsert(replace(SITE, site_id=name))
    first = await service.list(None, page_size=3)
    rest = await service.list(None, page_size=3, page_token=first.next_page_token)
    assert [s.site_id for s in first.sites] == ["a", "b", "c"] and first.next_page_token
    assert [s.site_id for s in rest.sites] == ["d"] and rest.next_page_token == ""
    mine = await service.list(frozenset({"b", "d"}))
    assert [s.site_id for s in mine.sites] == ["b", "d"]
    with pytest.raises(InvalidArgument):
        await service.list(None, page_token="not a token!")
