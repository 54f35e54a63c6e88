"""Site configuration use cases: validated upserts and deletes, each change a new revision."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace

from hubkit.errors import FailedPrecondition, FieldError, InvalidArgument, NotFound
from hubkit.naming import is_site_id
from router.domain.events import SiteChanged
from router.domain.site import Mode, SiteConfig, SiteRecord
from router.domain.validation import normalize, validate
from router.ports import Clock, UnitOfWorkFactory, Wakeups

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class UpsertResult:
    site: SiteConfig
    created: bool
    changed: bool


@dataclass(frozen=True)
class Page:
    sites: list[SiteConfig]
    next_page_token: str


class SiteService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        wakeups: Wakeups,
        *,
        allow_plain_http: bool = False,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._wakeups = wakeups
        self._allow_plain_http = allow_plain_http

    async def upsert(
        self, site: SiteConfig, *, expected_revision: int | None = None, validate_only: bool = False
    ) -> UpsertResult:
        """Replace the site's configuration; an identical one is not a change (no new revision)."""
        site = normalize(site)
        problems = validate(site, allow_plain_http=self._allow_plain_http)
        if problems:
            raise InvalidArgument(
                f"invalid site configuration ({len(problems)} problem(s)): "
                + "; ".join(f"{p.field}: {p.message}" for p in problems[:5]),
                [FieldError(p.field, p.code, p.message) for p in problems],
            )
        async with self._uow() as uow:
            record = await uow.sites.get(site.site_id, lock=True)
            live = record.config if record is not None else None
            _check_expected(site.site_id, live, expected_revision)
            if live is not None and live.same_settings(site):
                return UpsertResult(live, created=False, changed=False)
            now = self._clock.now()
            stored = replace(
                site,
                revision=(record.revision if record is not None else 0) + 1,
                created_at=live.created_at if live is not None else now,
                updated_at=now,
            )
            if validate_only:
                return UpsertResult(stored, created=live is None, changed=True)
            await uow.sites.save(SiteRecord(site.site_id, stored.revision, stored))
            uow.events.add(SiteChanged(site.site_id, stored.revision, False, stored.mode, now))
            await uow.commit()
        self._changed(site.site_id)
        return UpsertResult(stored, created=live is None, changed=True)

    async def get(self, site_id: str) -> SiteConfig:
        _check_site_id(site_id)
        async with self._uow() as uow:
            record = await uow.sites.get(site_id)
        if record is None or record.config is None:
            raise NotFound(f"site '{site_id}' has no configuration")
        return record.config

    async def list(
        self, site_ids: frozenset[str] | None, page_size: int = 0, page_token: str = ""
    ) -> Page:
        """Sites ordered by id; `site_ids` limits them to a caller's sites (None: all)."""
        if page_size < 0:
            raise InvalidArgument(
                "page_size must not be negative",
                [FieldError("page_size", "OUT_OF_RANGE", "0 (default) to 1000")],
            )
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = _decode_token(page_token)
        async with self._uow() as uow:
            sites = await uow.sites.page(site_ids, after, size + 1)
        more = len(sites) > size
        sites = sites[:size]
        token = _encode_token(sites[-1].site_id) if more and sites else ""
        return Page(sites, token)

    async def delete(self, site_id: str, *, expected_revision: int | None = None) -> int:
        """Delete the configuration under a new revision; returns that revision."""
        _check_site_id(site_id)
        async with self._uow() as uow:
            record = await uow.sites.get(site_id, lock=True)
            if record is None or record.config is None:
                raise NotFound(f"site '{site_id}' has no configuration")
            _check_expected(site_id, record.config, expected_revision)
            revision = record.revision + 1
            await uow.sites.save(SiteRecord(site_id, revision, None))
            now = self._clock.now()
            uow.events.add(SiteChanged(site_id, revision, True, Mode.UNSPECIFIED, now))
            await uow.commit()
        self._changed(site_id)
        return revision

    def _changed(self, site_id: str) -> None:
        self._wakeups.outbox()
        self._wakeups.site_changed(site_id)


def _check_expected(site_id: str, live: SiteConfig | None, expected: int | None) -> None:
    stored = live.revision if live is not None else 0
    if expected is not None and expected != stored:
        state = f"is at revision {stored}" if stored else "does not exist"
        raise FailedPrecondition(f"site '{site_id}' {state}, not at revision {expected}")


def _check_site_id(site_id: str) -> None:
    if not site_id:
        raise InvalidArgument(
            "site_id is required", [FieldError("site_id", "REQUIRED", "site_id is required")]
        )
    if not is_site_id(site_id):
        raise InvalidArgument(
            "site_id is not valid",
            [FieldError("site_id", "INVALID_FORMAT", "letters, digits, '_' or '-', at most 64")],
        )


def _encode_token(site_id: str) -> str:
    return base64.urlsafe_b64encode(site_id.encode()).decode().rstrip("=")


def _decode_token(token: str) -> str:
    if not token:
        return ""
    try:
        after = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        after = ""
    if not is_site_id(after):
        raise InvalidArgument(
            "page_token is not valid",
            [FieldError("page_token", "INVALID_FORMAT", "pass next_page_token unchanged")],
        )
    return after
