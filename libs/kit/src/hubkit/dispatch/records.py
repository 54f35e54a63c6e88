"""Ledger records handed between intake, the dispatcher and the event publisher."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hubkit.dispatch.model import Lane, PlatformError, Status


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A DispatchRequested item as the ledger records it at intake."""

    delivery_id: str
    conversion_id: str
    site_id: str
    lane: Lane
    event_id: str
    request: Any  # the DispatchRequested message
    received_at: datetime | None
    attempts: int = 0  # attempts made before (a router-side replay)
    rejection: PlatformError | None = None  # failed before batching
    payload: bytes | None = None  # the event's bytes as it will be sent (AdmitsAtIntake)


@dataclass(frozen=True, slots=True)
class Change:
    """A delivery's new state, as announced by DeliveryUpdated (and DeadLettered)."""

    delivery_id: str
    conversion_id: str
    site_id: str
    account_id: str
    status: Status
    attempts: int
    sequence: int
    request: Any  # the DispatchRequested message (trace, and the dead letter's copy)
    event_id: str = ""
    batch_id: str = ""
    error: PlatformError | None = None
    dead_letter_id: str = ""
    reason: str = ""
    first_attempt_at: datetime | None = None
    confirmed_at: datetime | None = None
    received_at: datetime | None = None


def decode_request(data: bytes) -> Any:
    from convhub.events.v1 import events_pb2

    return events_pb2.DispatchRequested.FromString(bytes(data))
