"""Meta-side values: credentials and the request body's parts."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, repr=False)
class MetaCredentials:
    """A system user access token and, optionally, the app secret (for appsecret_proof)."""

    access_token: str
    app_secret: str = ""

    def appsecret_proof(self) -> str:
        """Hex HMAC-SHA256 of the token keyed with the app secret (§1.1); '' without one."""
        if not self.app_secret:
            return ""
        key = self.app_secret.encode()
        return hmac.new(key, self.access_token.encode(), hashlib.sha256).hexdigest()

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.access_token, self.app_secret, self.appsecret_proof()) if s)

    def __repr__(self) -> str:  # never print a token
        return "MetaCredentials(***)"


@dataclass(frozen=True)
class EventsRequest:
    """One POST /{version}/{pixel_id}/events: server events already mapped and deduplicated."""

    pixel_id: str
    data: list[Any]  # mapped events, as orjson Fragments of their frozen bytes
    credentials: MetaCredentials
    test_event_code: str = ""
    delivery_ids: list[str] = field(default_factory=list)  # the events it stands for
