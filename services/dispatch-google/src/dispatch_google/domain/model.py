"""The two Google requests as the adapter builds them, and conversion action names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_RESOURCE = re.compile(r"^customers/(\d{1,20})/conversionActions/(\d{1,20})\Z", re.ASCII)
_BARE_ID = re.compile(r"^\d{1,20}\Z", re.ASCII)


@dataclass(frozen=True, repr=False)
class IngestRequest:
    """Data Manager POST /v1/events:ingest to one destination (docs/platforms.md §2B.2):
    `events[i]` carries the deliveries of `positions[i]` (several may share one event)."""

    operating_account: str  # digits: the customer that owns the conversion action (§2B.3)
    login_account: str  # the manager account's digits, or ""
    action_id: str  # productDestinationId: the conversion action id (digits)
    events: list[Any]  # orjson Fragments of the events' frozen bytes, request order
    positions: list[tuple[str, ...]]
    access_token: str
    validate_only: bool = False

    def __repr__(self) -> str:  # never print a token
        test = ", validate only" if self.validate_only else ""
        return (
            f"IngestRequest({self.operating_account}/{self.action_id},"
            f" {len(self.events)} events{test})"
        )


@dataclass(frozen=True, repr=False)
class UploadRequest:
    """Google Ads API POST /{version}/customers/{customer_id}:uploadClickConversions (§2.3):
    `conversions[i]` carries the deliveries of `positions[i]`."""

    customer_id: str
    login_customer_id: str  # the login-customer-id header, or ""
    conversions: list[Any]  # orjson Fragments of the conversions' frozen bytes
    positions: list[tuple[str, ...]]
    access_token: str
    developer_token: str = ""  # optional since 2026-09-09 (§2.2): sent only when given
    validate_only: bool = False

    def __repr__(self) -> str:  # never print a token
        test = ", validate only" if self.validate_only else ""
        return f"UploadRequest({self.customer_id}, {len(self.conversions)} conversions{test})"


def parse_action(resource: str) -> tuple[str, str] | None:
    """(owner customer id, action id) of "customers/<cid>/conversionActions/<id>".

    A bare numeric action id gives ("", id): its owner is unknown and the caller stands the
    target's customer id in for it. Anything else is None (the router only lets resource
    names through, so None means a configuration convhub cannot use)."""
    text = resource.strip()
    match = _RESOURCE.match(text)
    if match is not None:
        return match.group(1), match.group(2)
    return ("", text) if _BARE_ID.match(text) else None
