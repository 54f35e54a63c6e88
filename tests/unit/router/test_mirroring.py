"""The KV mirror use case: every committed revision copied, repairs queued, nothing wiped."""

from __future__ import annotations

from router.app.mirroring import SiteMirroring
from router.app.sites import SiteService
from router.domain.site import Mode, SgtmSettings, SiteConfig

from .fakes import FakeClock, FakeDb, FakeUnitOfWork, FakeWakeups

SITE = SiteConfig("shop", mode=Mode.SGTM, sgtm=SgtmSettings(url="https://sgtm.example/d"))


class FakeMirror:
    def __init__(self) -> None:
        self.entries: dict[str, int] = {}
        self.deleted: list[str] = []

    async def put(self, site: SiteConfig) -> None:
        self.entries[site.site_id] = site.revision

    async def delete(self, site_id: str) -> None:
        self.entries.pop(site_id, None)
        self.deleted.append(site_id)

    async def revisions(self) -> dict[str, int]:
        return dict(self.entries)


async def test_each_revision_is_copied_and_a_delete_deletes_the_key() -> None:
    db = FakeDb(FakeClock())
    uow = lambda: FakeUnitOfWork(db)  # noqa: E731
    sites, mirror = SiteService(uow, db.clock, FakeWakeups()), FakeMirror()
    mirroring = SiteMirroring(uow, mirror)
    await sites.upsert(SITE)
    await sites.upsert(SiteConfig("other", sgtm=SITE.sgtm))
    assert await mirroring.sync_pending() == 2 and mirror.entries == {"shop": 1, "other": 1}
    assert await mirroring.sync_pending() == 0
    await sites.delete("shop")
    assert await mirroring.sync_pending() == 1 and mirror.entries == {"other": 1}


async def test_resync_repairs_a_lost_or_edited_bucket_but_never_wipes_unknown_keys() -> None:
    db = FakeDb(FakeClock())
    uow = lambda: FakeUnitOfWork(db)  # noqa: E731
    sites, mirror = SiteService(uow, db.clock, FakeWakeups()), FakeMirror()
    mirroring = SiteMirroring(uow, mirror)
    await sites.upsert(SITE)
    await mirroring.sync_pending()
    mirror.entries = {"shop": 7, "stranger": 1}  # edited by hand; a key we never wrote
    assert await mirroring.resync() == 1
    await mirroring.sync_pending()
    assert mirror.entries == {"shop": 1, "stranger": 1} and mirror.deleted == []
