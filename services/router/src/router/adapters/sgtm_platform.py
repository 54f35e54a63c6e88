"""The sGTM destination on the one dispatch engine: the router hosts it like any dispatcher.

A lane is one site's configuration revision on one container host: the host is the account
(its breaker, rate and in-flight limit), the revision fixes URL, format and secrets. Requests
are Stape Data Client arrays or GA4 Measurement Protocol bodies (several per batch when the
format needs it: GA4 MP takes 25 events). A 413 halves the host's batch size and hands the
events back untried. Answers follow docs/platforms.md §5: 2xx delivered; 429 throttle;
408/5xx/network transient; 401/403 auth; other 4xx the container refused the data.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

from convhub.events.v1 import events_pb2 as events
from hubkit.dispatch import http
from hubkit.dispatch.credentials import CredentialsMissing, CredentialStore
from hubkit.dispatch.model import (
    ErrorClass,
    Lane,
    Platform,
    PlatformError,
    Prepared,
    Request,
    SendBatch,
    SendResult,
)
from hubkit.dispatch.policy import DispatchPolicy
from hubkit.dispatch.ports import BatchLimits
from hubkit.dispatch.redaction import scrub
from hubkit.resilience import parse_retry_after
from router.adapters.sgtm_payloads import build_bodies
from router.config import SGTM_POLICY
from router.domain.site import SgtmFormat, SgtmSettings

log = logging.getLogger(__name__)

USER_AGENT = "convhub-router"
PREVIEW_HEADER = "x-gtm-server-preview"
EXCERPT_CHARS = 512
DEFAULT_BATCH_EVENTS = {SgtmFormat.STAPE_DATA_CLIENT: 100, SgtmFormat.GA4_MP: 25}

SettingsAt = Callable[[str, int], Awaitable[SgtmSettings | None]]


@dataclass(frozen=True)
class SgtmPost:
    """One POST to a container: where, what, and the secrets to keep out of the audit."""

    url: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes
    secrets: tuple[str, ...]


def lane_for(site_id: str, revision: int, host: str) -> Lane:
    return Lane(host, "", f"{site_id}@{revision}")


class SgtmPlatform:
    """PlatformAdapter[SgtmPost]; `settings_at(site, revision)` reads a site's sGTM settings."""

    platform = Platform.SGTM
    tokens = None

    def __init__(
        self,
        client: httpx.AsyncClient,
        credentials: CredentialStore | None,
        settings_at: SettingsAt,
        policy: DispatchPolicy = SGTM_POLICY,
    ) -> None:
        self._client = client
        self._credentials = credentials
        self._settings_at = settings_at
        self.policy = policy
        self._settings: OrderedDict[str, SgtmSettings | None] = OrderedDict()
        self._host_limit: dict[str, int] = {}  # lowered after a 413
        # httpx logs every request URL at INFO; a GA4 MP URL carries the api_secret.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    # --- PlatformAdapter -----------------------------------------------------------------------

    def lane_of(self, request: events.DispatchRequested) -> Lane:
        site = request.conversion.site_id
        return lane_for(site, request.config_revision, request.target.account_id)

    def event_id_of(self, request: events.DispatchRequested) -> str:
        return request.conversion.event_id

    def batch_limits(self, lane: Lane) -> BatchLimits:
        settings = self._settings.get(lane.extra)
        size = self.policy.batch_size
        if settings is not None:
            size = settings.max_batch_events or DEFAULT_BATCH_EVENTS[settings.format]
        return BatchLimits(
            min(size, self._host_limit.get(lane.account_id, size)), self.policy.linger
        )

    def check(self, request: events.DispatchRequested, now: datetime) -> PlatformError | None:
        if not request.target.account_id or request.config_revision <= 0:
            return PlatformError(ErrorClass.CONFIG, "SGTM_TARGET", "no sGTM host or revision")
        return None

    async def prepare(self, batch: SendBatch, now: datetime) -> Prepared[SgtmPost]:
        site_id, _, revision = batch.lane.extra.rpartition("@")
        settings = await self._settings_for(batch.lane.extra, site_id, int(revision))
        if settings is None or not settings.url:
            reason = f"configuration revision {revision} of site {site_id} has no sGTM URL"
            return Prepared(error=PlatformError(ErrorClass.CONFIG, "SGTM_CONFIG", reason))
        try:
            url, params, headers, secrets = self._target(settings)
        except CredentialsMissing as exc:
            return Prepared(error=exc.error)
        built = [
            (
                e.delivery_id,
                events.ConversionAccepted(trace=e.request.trace, conversion=e.request.conversion),
            )
            for e in batch.events
        ]
        limit = self.batch_limits(batch.lane).size
        chunks, unfit = build_bodies(settings, built, limit)
        refused = {i: PlatformError(ErrorClass.BAD_INPUT, "SGTM_PAYLOAD", why) for i, why in unfit}
        requests = [
            Request(tuple(ids), SgtmPost(url, params, headers, body, secrets))
            for ids, body in chunks
        ]
        return Prepared(requests=requests, event_errors=refused)

    async def send(self, lane: Lane, request: Request[SgtmPost]) -> SendResult:
        post = request.payload
        try:
            response = await http.post(
                self._client,
                post.url,
                destination="sgtm",
                events=len(request.delivery_ids),
                content=post.body,
                headers=post.headers,
                params=post.params,
            )
        except httpx.TimeoutException:
            error = PlatformError(ErrorClass.TRANSIENT, "TIMEOUT", "the sGTM container timed out")
            return SendResult(error=error)
        except httpx.HTTPError as exc:  # str(exc) may hold the URL (and its api_secret)
            message = f"network error: {type(exc).__name__}"
            return SendResult(error=PlatformError(ErrorClass.TRANSIENT, "NETWORK", message))
        status = response.status_code
        excerpt = scrub(response.text[: EXCERPT_CHARS * 4], post.secrets, limit=EXCERPT_CHARS)
        if status == 413 and len(request.delivery_ids) > 1:
            smaller = max(1, len(request.delivery_ids) // 2)
            self._host_limit[lane.account_id] = smaller
            log.warning(
                "sGTM host %s refused a %d-event body (413): batches of %d from now",
                lane.account_id,
                len(request.delivery_ids),
                smaller,
            )
            return SendResult(
                http_status=413, excerpt=excerpt, untried=frozenset(request.delivery_ids)
            )
        error_class = http.classify_status(status)
        if error_class is ErrorClass.NONE:
            return SendResult(http_status=status, excerpt=excerpt)
        error = PlatformError(
            error_class,
            str(status),
            f"sGTM answered HTTP {status}",
            parse_retry_after(response.headers.get("retry-after")),
        )
        return SendResult(http_status=status, excerpt=excerpt, error=error)

    async def close(self) -> None:
        await self._client.aclose()

    # --- helpers -------------------------------------------------------------------------------

    async def _settings_for(self, key: str, site_id: str, revision: int) -> SgtmSettings | None:
        """The settings of the revision a delivery was routed under (immutable: cached)."""
        if key in self._settings:
            self._settings.move_to_end(key)
            return self._settings[key]
        settings = await self._settings_at(site_id, revision)
        self._settings[key] = settings
        if len(self._settings) > 1024:
            self._settings.popitem(last=False)
        return settings

    def _target(
        self, settings: SgtmSettings
    ) -> tuple[str, dict[str, str], dict[str, str], tuple[str, ...]]:
        headers = {"content-type": "application/json"}  # the client sends the user agent
        secrets: list[str] = []
        if settings.auth_header_name:
            secrets.append(self._read(settings.auth_secret_ref))
            headers[settings.auth_header_name] = secrets[-1]
        if settings.preview_header:
            headers[PREVIEW_HEADER] = settings.preview_header
        url, params = settings.url, {}
        if settings.format is SgtmFormat.GA4_MP:
            url = mp_collect_url(settings.url)
            secrets.append(self._read(settings.api_secret_ref))
            params = {"measurement_id": settings.measurement_id, "api_secret": secrets[-1]}
        return url, params, headers, tuple(secrets)

    def _read(self, ref: str) -> str:
        if self._credentials is None:
            raise CredentialsMissing(
                f"credentials reference {ref!r}: CONVHUB_CREDENTIALS_DIR is not set"
            )
        return self._credentials.read(ref)


def mp_collect_url(url: str) -> str:
    """The container's `/mp/collect` endpoint: the URL itself when it already names it."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if not path.endswith("/mp/collect"):
        path += "/mp/collect"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
