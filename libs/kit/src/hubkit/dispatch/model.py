"""Dispatch core vocabulary: statuses, error classes, events in flight, platform answers."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Platform(enum.StrEnum):
    """A dispatcher's platform; the value is the lower-case token of subjects and delivery ids."""

    GOOGLE = "google"
    META = "meta"
    TIKTOK = "tiktok"

    @property
    def proto(self) -> int:
        """convhub.common.v1.Platform value."""
        return _PLATFORM_PROTO[self]


_PLATFORM_PROTO = {Platform.GOOGLE: 1, Platform.META: 2, Platform.TIKTOK: 3}


class Status(enum.StrEnum):
    """A delivery's state in the ledger. SENDING is internal (reported as PENDING)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    DEAD = "dead"

    @property
    def proto(self) -> int:
        """convhub.common.v1.DeliveryStatus value."""
        return _STATUS_PROTO[self]

    @property
    def final(self) -> bool:
        return self in (Status.CONFIRMED, Status.FAILED, Status.DEAD)


_STATUS_PROTO = {
    Status.PENDING: 1,
    Status.SENDING: 1,
    Status.SENT: 2,
    Status.CONFIRMED: 3,
    Status.FAILED: 4,
    Status.DEAD: 5,
}


class ErrorClass(enum.IntEnum):
    """convhub.common.v1.ErrorClass, with the retry decision attached."""

    NONE = 0
    THROTTLE = 1
    TRANSIENT = 2
    AUTH = 3
    BAD_INPUT = 4
    TOO_OLD = 5
    CONFIG = 6
    UNKNOWN = 7

    @property
    def retryable(self) -> bool:
        # UNKNOWN is retried: the budget bounds it and a dead letter keeps it replayable.
        return self in (ErrorClass.THROTTLE, ErrorClass.TRANSIENT, ErrorClass.UNKNOWN)

    @property
    def rejects_content(self) -> bool:
        """The platform refused what was sent: splitting the batch can isolate the culprit."""
        return self in (ErrorClass.BAD_INPUT, ErrorClass.TOO_OLD)


class BatchStatus(enum.StrEnum):
    """A batch's life cycle (convhub.dispatch.v1.BatchStatus)."""

    OPEN = "open"
    SENDING = "sending"
    SUCCEEDED = "succeeded"
    PARTIALLY_FAILED = "partially_failed"
    FAILED = "failed"
    RETRY_SCHEDULED = "retry_scheduled"
    SPLIT = "split"

    @property
    def proto(self) -> int:
        return list(BatchStatus).index(self) + 1


@dataclass(frozen=True, slots=True)
class PlatformError:
    """Why a platform (or the dispatcher on its behalf) refused events. Never holds secrets."""

    error_class: ErrorClass
    code: str = ""  # the platform's own code as text: "100/2804003", "CLICK_NOT_FOUND"
    message: str = ""
    retry_after: float | None = None  # the platform's requested delay, seconds


# convhub's own codes (never a platform's) for deliveries that must never be sent: replay
# skips them. ERASED: the person was erased. MISROUTED / UNREADABLE: failed at intake because
# the item is for another platform or its destination could not be read.
ERASED = "erased"
MISROUTED = "convhub_misrouted"
UNREADABLE = "convhub_unreadable"
UNREPLAYABLE = (ERASED, MISROUTED, UNREADABLE)


@dataclass(frozen=True, slots=True)
class Lane:
    """Events that may share one platform request: same account, credentials and request-level
    settings (Meta/TikTok test event code, Google login customer id). Breaker and token bucket
    are per account; a lane is the accumulator's unit."""

    account_id: str
    credentials_ref: str = ""
    extra: str = ""


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """One delivery claimed for a request. `request` is the DispatchRequested it came from."""

    delivery_id: str
    conversion_id: str
    site_id: str
    event_id: str
    attempt: int  # the number of this attempt, 1-based
    failures: int  # retryable failures before this attempt
    request: Any  # convhub.events.v1.DispatchRequested
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SendBatch:
    """What a platform adapter sends as one request."""

    batch_id: str
    lane: Lane
    events: Sequence[PendingEvent]


@dataclass(frozen=True, slots=True)
class SendResult:
    """A platform's answer to one request, classified. Adapters never raise for platform or
    network errors; they answer with `error` (the whole request) and/or `event_errors`.

    Events neither in `event_errors` nor covered by `error` were accepted, with `accepted_status`
    (CONFIRMED; SENT where a platform only acknowledges receipt).
    """

    http_status: int = 0  # 0: no answer (network error, timeout) or no request made
    request_id: str = ""  # Meta fbtrace_id, TikTok request_id, Google request id
    excerpt: str = ""  # a short part of the answer, secrets and personal data removed
    error: PlatformError | None = None
    event_errors: Mapping[str, PlatformError] = field(default_factory=dict)
    accepted_status: Status = Status.CONFIRMED
    sent: bool = True  # False: no request reached the platform (nothing proves it up or down)

    def error_for(self, delivery_id: str) -> PlatformError | None:
        return self.event_errors.get(delivery_id) or self.error


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request built locally (credentials read, events mapped and validated), not yet sent.

    `payload` is the adapter's own; None when nothing is left to send. `event_errors` are events
    refused locally (they are not in the payload); `error` refuses the whole batch (e.g. the
    credentials file is missing).
    """

    payload: Any = None
    event_errors: Mapping[str, PlatformError] = field(default_factory=dict)
    error: PlatformError | None = None
