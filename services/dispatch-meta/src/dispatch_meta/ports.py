"""What the Meta dispatcher core needs from outside: a Graph API transport and credentials."""

from __future__ import annotations

from typing import Protocol

from dispatch_meta.domain.model import EventsRequest, MetaCredentials
from hubkit.dispatch.model import SendResult


class EventsTransport(Protocol):
    async def send(self, request: EventsRequest) -> SendResult:
        """POST the events; never raises for platform or network errors: they are classified
        into the result (THROTTLE / TRANSIENT / AUTH / BAD_INPUT / TOO_OLD / CONFIG)."""
        ...

    async def close(self) -> None: ...


class CredentialSource(Protocol):
    def meta_credentials(self, ref: str) -> MetaCredentials:
        """The credentials named by `ref`; raises hubkit CredentialsMissing when unusable."""
        ...
