"""Site configuration rules: normalization, then every problem found, each with its field path."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlsplit

from hubkit.naming import is_site_id
from router.domain.site import (
    Destinations,
    GoogleDestination,
    MetaDestination,
    Mode,
    SgtmFormat,
    SgtmSettings,
    SiteConfig,
    Sources,
    TikTokDestination,
)

# A site id is a NATS subject token and a KV key: no dots, wildcards or spaces.
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
GOOGLE_CUSTOMER_ID = re.compile(r"^\d{10}$")
COUNTRY = re.compile(r"[A-Z]{2}")
CONVERSION_ACTION = re.compile(r"^customers/\d{10}/conversionActions/\d{1,20}$")
META_PIXEL_ID = re.compile(r"^\d{5,20}$")
TIKTOK_PIXEL_CODE = re.compile(r"^[A-Za-z0-9]{5,40}$")
TEST_EVENT_CODE = re.compile(r"^[A-Za-z0-9]{1,40}$")
PLATFORM_EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
MEASUREMENT_ID = re.compile(r"^G-[A-Z0-9]{4,20}$")
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
PREVIEW_HEADER = re.compile(r"^[A-Za-z0-9+/=_.-]{1,1024}$")
# A credentials reference names a file in CONVHUB_CREDENTIALS_DIR (a Kubernetes Secret key).
CREDENTIALS_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_SECRET_PREFIXES = (
    "EAA",
    "ya29.",
    "sk_",
    "sk-",
    "ghp_",
    "xox",
    "shpss_",
    "shpat_",
    "pat-na",
    "pat-eu",
)
_HEX = re.compile(r"^[0-9a-fA-F]+$")
# Headers the forwarder sets itself: a site may not override them.
RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "host", "user-agent", "x-gtm-server-preview", "traceparent"}
)
DEDUPE_FIELDS = frozenset(
    {
        "site_id",
        "order_id",
        "event_type",
        "event_id",
        "visitor_id",
        "value",
        "currency",
        "email",
        "event_hour",
    }
)
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}\.myshopify\.com$")
ORDER_STATUS = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
DEAL_STAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
AD_ACCOUNT_ID = re.compile(r"^[0-9]{1,20}$")
MAX_DEDUPE_WINDOW = 30 * 24 * 3600
MAX_BATCH_EVENTS = {SgtmFormat.STAPE_DATA_CLIENT: 1000, SgtmFormat.GA4_MP: 25}


@dataclass(frozen=True)
class Problem:
    """One field-level problem. `message` never echoes the value (it may be a secret)."""

    field: str
    code: str
    message: str


def normalize(site: SiteConfig) -> SiteConfig:
    """Trim what people paste with stray spaces; Google ids lose their dashes (123-456-7890)."""
    d = site.destinations
    google = replace(
        d.google,
        customer_id=d.google.customer_id.strip().replace("-", ""),
        login_customer_id=d.google.login_customer_id.strip().replace("-", ""),
        conversion_actions={k.strip(): v.strip() for k, v in d.google.conversion_actions.items()},
        credentials_ref=d.google.credentials_ref.strip(),
    )
    meta = replace(
        d.meta,
        pixel_id=d.meta.pixel_id.strip(),
        credentials_ref=d.meta.credentials_ref.strip(),
        test_event_code=d.meta.test_event_code.strip(),
        event_names={k.strip(): v.strip() for k, v in d.meta.event_names.items()},
        ad_account_id=d.meta.ad_account_id.strip().removeprefix("act_"),
    )
    tiktok = replace(
        d.tiktok,
        pixel_code=d.tiktok.pixel_code.strip(),
        credentials_ref=d.tiktok.credentials_ref.strip(),
        test_event_code=d.tiktok.test_event_code.strip(),
        event_names={k.strip(): v.strip() for k, v in d.tiktok.event_names.items()},
        advertiser_id=d.tiktok.advertiser_id.strip(),
    )
    s = site.sgtm
    sgtm = replace(
        s,
        url=s.url.strip(),
        auth_header_name=s.auth_header_name.strip(),
        auth_secret_ref=s.auth_secret_ref.strip(),
        preview_header=s.preview_header.strip(),
        measurement_id=s.measurement_id.strip(),
        api_secret_ref=s.api_secret_ref.strip(),
    )
    return replace(
        site,
        site_id=site.site_id.strip(),
        display_name=site.display_name.strip(),
        sgtm=sgtm,
        destinations=Destinations(google=google, meta=meta, tiktok=tiktok),
        dedupe=replace(site.dedupe, key_fields=tuple(f.strip() for f in site.dedupe.key_fields)),
        default_country=site.default_country.strip().upper(),
        sources=_normalized_sources(site.sources),
        attribution=replace(
            site.attribution,
            reporting_currency=site.attribution.reporting_currency.strip().upper(),
        ),
    )


def _normalized_sources(s: Sources) -> Sources:
    h = s.hubspot
    return Sources(
        shopify=replace(
            s.shopify,
            secret_ref=s.shopify.secret_ref.strip(),
            shop_domain=s.shopify.shop_domain.strip().lower(),
        ),
        woocommerce=replace(
            s.woocommerce,
            secret_ref=s.woocommerce.secret_ref.strip(),
            paid_statuses=tuple(x.strip().lower() for x in s.woocommerce.paid_statuses),
        ),
        hubspot=replace(
            h,
            app_secret_ref=h.app_secret_ref.strip(),
            access_token_ref=h.access_token_ref.strip(),
            won_stages=tuple(x.strip() for x in h.won_stages),
            event_type=h.event_type.strip(),
            default_currency=h.default_currency.strip().upper(),
        ),
    )


def validate(site: SiteConfig, *, allow_plain_http: bool = False) -> list[Problem]:
    """Every problem of a normalized configuration; empty when it is usable."""
    problems: list[Problem] = []
    if not site.site_id:
        problems.append(Problem("site.site_id", "REQUIRED", "site_id is required"))
    elif not is_site_id(site.site_id):
        problems.append(
            Problem(
                "site.site_id",
                "INVALID_FORMAT",
                "site_id must be 1-64 letters, digits, '_' or '-', starting with a letter or digit",
            )
        )
    if len(site.display_name) > 200:
        problems.append(Problem("site.display_name", "TOO_LONG", "at most 200 characters"))
    if site.mode is Mode.SGTM and not site.sgtm.url:
        problems.append(
            Problem("site.sgtm.url", "REQUIRED", "an sGTM-mode site needs its container URL")
        )
    problems += _sgtm(site.sgtm, allow_plain_http)
    problems += _google(site.destinations.google)
    problems += _meta(site.destinations.meta)
    problems += _tiktok(site.destinations.tiktok)
    problems += _dedupe(site)
    problems += _sources(site.sources)
    a = site.attribution
    if not 0 <= a.lookback_days <= 365:
        problems.append(
            Problem("site.attribution.lookback_days", "OUT_OF_RANGE", "0 (default) to 365")
        )
    if not 0 <= a.half_life_days <= 365:
        problems.append(
            Problem("site.attribution.half_life_days", "OUT_OF_RANGE", "0 (default) to 365")
        )
    if a.reporting_currency and not CURRENCY.match(a.reporting_currency):
        problems.append(
            Problem(
                "site.attribution.reporting_currency", "INVALID_FORMAT", "an ISO 4217 code like EUR"
            )
        )
    if not 0 <= a.view_through_days <= 90:
        problems.append(
            Problem("site.attribution.view_through_days", "OUT_OF_RANGE", "0 (the lookback) to 90")
        )
    if site.default_country and not COUNTRY.fullmatch(site.default_country):
        problems.append(
            Problem(
                "site.default_country",
                "INVALID_FORMAT",
                "expected an ISO 3166-1 alpha-2 country code like DE",
            )
        )
    return problems


def _sgtm(s: SgtmSettings, allow_plain_http: bool) -> list[Problem]:
    p: list[Problem] = []
    if s.url:
        p += _url("site.sgtm.url", s.url, allow_plain_http, s.format)
    if s.auth_header_name:
        if not HEADER_NAME.match(s.auth_header_name):
            p.append(Problem("site.sgtm.auth_header_name", "INVALID_FORMAT", "not a header name"))
        elif s.auth_header_name.lower() in RESERVED_HEADERS:
            p.append(
                Problem(
                    "site.sgtm.auth_header_name",
                    "RESERVED",
                    "the forwarder sets this header itself; choose another name",
                )
            )
        if not s.auth_secret_ref:
            p.append(
                Problem(
                    "site.sgtm.auth_secret_ref",
                    "REQUIRED",
                    "a shared-secret header needs the credentials reference holding its value",
                )
            )
    elif s.auth_secret_ref:
        p.append(
            Problem(
                "site.sgtm.auth_header_name",
                "REQUIRED",
                "name the header that carries the shared secret",
            )
        )
    p += _ref("site.sgtm.auth_secret_ref", s.auth_secret_ref)
    if s.preview_header and not PREVIEW_HEADER.match(s.preview_header):
        p.append(
            Problem(
                "site.sgtm.preview_header",
                "INVALID_FORMAT",
                "the GTM preview token is at most 1024 characters of base64",
            )
        )
    if s.format is SgtmFormat.GA4_MP and s.url:
        if not s.measurement_id:
            p.append(
                Problem("site.sgtm.measurement_id", "REQUIRED", "GA4_MP needs the measurement id")
            )
        if not s.api_secret_ref:
            p.append(
                Problem(
                    "site.sgtm.api_secret_ref",
                    "REQUIRED",
                    "GA4_MP needs the credentials reference holding the api_secret",
                )
            )
    if s.measurement_id and not MEASUREMENT_ID.match(s.measurement_id):
        p.append(Problem("site.sgtm.measurement_id", "INVALID_FORMAT", "expected G-XXXXXXXX"))
    p += _ref("site.sgtm.api_secret_ref", s.api_secret_ref)
    limit = MAX_BATCH_EVENTS[s.format]
    if not 0 <= s.max_batch_events <= limit:
        p.append(
            Problem(
                "site.sgtm.max_batch_events",
                "OUT_OF_RANGE",
                f"between 0 (format default) and {limit} for this format",
            )
        )
    return p


def _url(path: str, url: str, allow_plain_http: bool, fmt: SgtmFormat) -> list[Problem]:
    if len(url) > 2048:
        return [Problem(path, "TOO_LONG", "at most 2048 characters")]
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return [Problem(path, "INVALID_FORMAT", "not a URL")]
    if parts.scheme not in ("https", "http") or not host:
        return [Problem(path, "INVALID_FORMAT", "expected https://<host>/<path>")]
    p: list[Problem] = []
    if parts.scheme == "http" and not (allow_plain_http or _is_loopback(host)):
        p.append(
            Problem(path, "INSECURE", "use https (plain http is allowed for loopback hosts only)")
        )
    if parts.username or parts.password:
        p.append(
            Problem(
                path,
                "SECRET_IN_URL",
                "the URL must not carry credentials; use auth_header_name + auth_secret_ref",
            )
        )
    if fmt is SgtmFormat.GA4_MP and any(k == "api_secret" for k, _ in parse_qsl(parts.query)):
        p.append(
            Problem(
                path,
                "SECRET_IN_URL",
                "the URL must not carry the api_secret; use api_secret_ref",
            )
        )
    if parts.fragment:
        p.append(Problem(path, "INVALID_FORMAT", "the URL must not have a #fragment"))
    return p


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ref(path: str, ref: str) -> list[Problem]:
    """A credentials reference must name a file, and must not be the secret itself."""
    if not ref:
        return []
    if _looks_like_secret(ref):
        return [
            Problem(
                path,
                "SECRET_NOT_REFERENCE",
                "this looks like a secret; store it in the credentials directory and give the "
                "file's name",
            )
        ]
    if not CREDENTIALS_REF.match(ref) or ".." in ref:
        return [
            Problem(
                path,
                "INVALID_FORMAT",
                "a credentials reference is a file name: letters, digits, '.', '_', '-' "
                "(at most 100)",
            )
        ]
    return []


def _looks_like_secret(ref: str) -> bool:
    if ref.startswith(_SECRET_PREFIXES) and len(ref) >= 24:
        return True
    if len(ref) >= 32 and _HEX.match(ref):
        return True
    # Long runs without any separator are tokens, not names people give files.
    return len(ref) >= 32 and not any(c in ref for c in "-_.")


def _required(path: str, value: str, what: str) -> list[Problem]:
    if value:
        return []
    return [Problem(path, "REQUIRED", f"an enabled destination needs its {what}")]


def _format(path: str, value: str, pattern: re.Pattern[str], expected: str) -> list[Problem]:
    if value and not pattern.match(value):
        return [Problem(path, "INVALID_FORMAT", f"expected {expected}")]
    return []


def _google(g: GoogleDestination) -> list[Problem]:
    base = "site.destinations.google"
    p: list[Problem] = []
    if g.enabled:
        p += _required(f"{base}.customer_id", g.customer_id, "Google Ads customer id")
        p += _required(f"{base}.credentials_ref", g.credentials_ref, "credentials reference")
        if not g.conversion_actions:
            p.append(
                Problem(
                    f"{base}.conversion_actions",
                    "REQUIRED",
                    "name the conversion action of at least one event type",
                )
            )
    p += _format(f"{base}.customer_id", g.customer_id, GOOGLE_CUSTOMER_ID, "10 digits")
    p += _format(f"{base}.login_customer_id", g.login_customer_id, GOOGLE_CUSTOMER_ID, "10 digits")
    for event_type, action in sorted(g.conversion_actions.items()):
        path = f"{base}.conversion_actions[{event_type}]"
        p += _event_type(path, event_type)
        p += _format(
            path, action, CONVERSION_ACTION, "customers/<customer id>/conversionActions/<id>"
        )
        if not action:
            p.append(Problem(path, "REQUIRED", "the conversion action resource name is empty"))
    p += _ref(f"{base}.credentials_ref", g.credentials_ref)
    return p


def _meta(m: MetaDestination) -> list[Problem]:
    base = "site.destinations.meta"
    p: list[Problem] = []
    if m.enabled:
        p += _required(f"{base}.pixel_id", m.pixel_id, "Meta pixel id")
        p += _required(f"{base}.credentials_ref", m.credentials_ref, "credentials reference")
    p += _format(f"{base}.pixel_id", m.pixel_id, META_PIXEL_ID, "the pixel's numeric id")
    p += _format(f"{base}.test_event_code", m.test_event_code, TEST_EVENT_CODE, "TEST12345")
    p += _event_names(f"{base}.event_names", m.event_names)
    p += _ref(f"{base}.credentials_ref", m.credentials_ref)
    p += _format(f"{base}.ad_account_id", m.ad_account_id, AD_ACCOUNT_ID, "digits, no act_")
    return p


def _tiktok(t: TikTokDestination) -> list[Problem]:
    base = "site.destinations.tiktok"
    p: list[Problem] = []
    if t.enabled:
        p += _required(f"{base}.pixel_code", t.pixel_code, "TikTok pixel code")
        p += _required(f"{base}.credentials_ref", t.credentials_ref, "credentials reference")
    p += _format(f"{base}.pixel_code", t.pixel_code, TIKTOK_PIXEL_CODE, "the pixel code")
    p += _format(f"{base}.test_event_code", t.test_event_code, TEST_EVENT_CODE, "TEST12345")
    p += _event_names(f"{base}.event_names", t.event_names)
    p += _ref(f"{base}.credentials_ref", t.credentials_ref)
    p += _format(f"{base}.advertiser_id", t.advertiser_id, AD_ACCOUNT_ID, "the advertiser id")
    return p


def _event_type(path: str, event_type: str) -> list[Problem]:
    if EVENT_TYPE.match(event_type):
        return []
    return [Problem(path, "INVALID_FORMAT", "event types are lower snake case (purchase, sign_up)")]


def _event_names(base: str, names: dict[str, str]) -> list[Problem]:
    p: list[Problem] = []
    for event_type, name in sorted(names.items()):
        path = f"{base}[{event_type}]"
        p += _event_type(path, event_type)
        if not PLATFORM_EVENT_NAME.match(name):
            p.append(Problem(path, "INVALID_FORMAT", "an event name of at most 40 characters"))
    return p


def _dedupe(site: SiteConfig) -> list[Problem]:
    p: list[Problem] = []
    window = site.dedupe.window_seconds
    if not 0 <= window <= MAX_DEDUPE_WINDOW:
        p.append(
            Problem(
                "site.dedupe.window_seconds",
                "OUT_OF_RANGE",
                f"between 0 (default, 24 h) and {MAX_DEDUPE_WINDOW} (30 days)",
            )
        )
    seen: set[str] = set()
    for i, name in enumerate(site.dedupe.key_fields):
        path = f"site.dedupe.key_fields[{i}]"
        if name not in DEDUPE_FIELDS:
            allowed = ", ".join(sorted(DEDUPE_FIELDS))
            p.append(Problem(path, "INVALID_VALUE", f"allowed: {allowed}"))
        elif name in seen:
            p.append(Problem(path, "DUPLICATE", "listed twice"))
        seen.add(name)
    return p


def _sources(s: Sources) -> list[Problem]:
    p: list[Problem] = []
    p += _ref("site.sources.shopify.secret_ref", s.shopify.secret_ref)
    if s.shopify.shop_domain and not SHOP_DOMAIN.match(s.shopify.shop_domain):
        p.append(
            Problem(
                "site.sources.shopify.shop_domain",
                "INVALID_FORMAT",
                "the shop's myshopify.com domain, like demo-shop.myshopify.com",
            )
        )
    p += _ref("site.sources.woocommerce.secret_ref", s.woocommerce.secret_ref)
    for i, status in enumerate(s.woocommerce.paid_statuses):
        if not ORDER_STATUS.match(status):
            p.append(
                Problem(
                    f"site.sources.woocommerce.paid_statuses[{i}]",
                    "INVALID_FORMAT",
                    "an order status slug like processing or completed",
                )
            )
    h, base = s.hubspot, "site.sources.hubspot"
    p += _ref(f"{base}.app_secret_ref", h.app_secret_ref)
    p += _ref(f"{base}.access_token_ref", h.access_token_ref)
    if h.app_secret_ref and not h.access_token_ref:
        p.append(
            Problem(
                f"{base}.access_token_ref",
                "REQUIRED",
                "HubSpot webhooks name a deal only: reading it needs the CRM access token",
            )
        )
    if (h.app_secret_ref or h.access_token_ref) and h.portal_id <= 0:
        p.append(Problem(f"{base}.portal_id", "REQUIRED", "the HubSpot account id (portalId)"))
    if h.portal_id < 0:
        p.append(Problem(f"{base}.portal_id", "OUT_OF_RANGE", "a positive account id"))
    for i, stage in enumerate(h.won_stages):
        if not DEAL_STAGE.match(stage):
            p.append(
                Problem(
                    f"{base}.won_stages[{i}]", "INVALID_FORMAT", "a deal stage id like closedwon"
                )
            )
    if h.event_type not in ("", "purchase", "lead"):
        p.append(Problem(f"{base}.event_type", "INVALID_VALUE", "purchase (default) or lead"))
    if h.default_currency and not CURRENCY.match(h.default_currency):
        p.append(Problem(f"{base}.default_currency", "INVALID_FORMAT", "an ISO 4217 code like EUR"))
    return p
