"""Ledger records handed between intake, the dispatcher and the event publisher.

Named tuples: immutable like a frozen dataclass, and built three times as fast; one of each is
made for every event.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

from convhub.events.v1 import events_pb2
from hubkit.dispatch.model import Lane, PlatformError, Status


def new_id() -> str:
    return uuid.uuid4().hex


class NewDelivery(NamedTuple):
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
    match_keys: int = 0  # hubkit.matchkeys bits: what the destination receives


class Change(NamedTuple):
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
    return _decode(data if isinstance(data, bytes) else bytes(data))


_decode = events_pb2.DispatchRequested.FromString
