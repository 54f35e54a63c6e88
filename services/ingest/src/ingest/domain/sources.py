"""What the shop and CRM mappings share: the verdict on a payload, click ids read from URLs,
and the platforms' ways of writing times and amounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from hubkit.errors import FieldError
from ingest.domain.model import ConversionInput

# The sources as conversions name them (convhub.common.v1.ConversionSource), by the webhook
# URL's path segment; a sender that names none calls the API.
SOURCES = {
    "shopify": "CONVERSION_SOURCE_SHOPIFY",
    "woocommerce": "CONVERSION_SOURCE_WOOCOMMERCE",
    "hubspot": "CONVERSION_SOURCE_HUBSPOT",
}
HUBSPOT = SOURCES["hubspot"]
API_SOURCE = "CONVERSION_SOURCE_API"

# Click ids a landing page URL carries, by their query parameter (Google, Meta, TikTok).
URL_CLICK_IDS = ("gclid", "gbraid", "wbraid", "fbclid", "ttclid")


@dataclass(frozen=True)
class NotAConversion:
    """A verified payload that reports no conversion (an unpaid order, a deal not won):
    acknowledged and counted, never stored."""

    reason: str


@dataclass(frozen=True)
class Unreadable:
    """A verified payload convhub cannot read at all (not the object its topic announces)."""

    errors: tuple[FieldError, ...]


Mapped = ConversionInput | NotAConversion | Unreadable


def click_ids_from_urls(*urls: str) -> dict[str, str]:
    """Click ids in the query strings of `urls` (absolute or relative); the first URL that has
    one wins, so a landing page outranks its referrer."""
    found: dict[str, str] = {}
    for url in urls:
        if not url or "=" not in url:
            continue
        try:
            query = urlsplit(url).query
        except ValueError:
            continue
        for name, value in parse_qsl(query):
            if name in URL_CLICK_IDS and value and name not in found:
                found[name] = value
    return found


def parse_time(value: object) -> datetime | None:
    """ISO 8601 with or without an offset (none means UTC, as WooCommerce's *_gmt fields), or
    epoch milliseconds (HubSpot); None when absent or unreadable."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        try:
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        except (ValueError, OverflowError, OSError):
            return None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def text(value: object) -> str:
    """A JSON scalar as the text ingest expects: numbers as written, null as empty."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value).strip()


def price(value: object) -> str:
    """A unit price as ingest takes it (at most 6 decimals): WooCommerce sends a line's price as
    an unrounded float (total / quantity, 3.3333333333333335)."""
    t = text(value)
    try:
        exact = Decimal(t)
    except InvalidOperation:
        return t  # validation names it
    if not exact.is_finite() or -exact.as_tuple().exponent <= 6:  # type: ignore[operator]
        return t
    return str(exact.quantize(Decimal("0.000001")).normalize())


def obj(value: Any) -> dict[str, Any]:
    """A JSON object, or empty when the field is absent or of another type."""
    return value if isinstance(value, dict) else {}


def objects(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def first(*values: object) -> str:
    for value in values:
        if t := text(value):
            return t
    return ""
