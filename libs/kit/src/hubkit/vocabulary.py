"""One vocabulary for the kit and every service: destinations, delivery statuses, error classes
and batch statuses, with their proto values (convhub.common.v1, convhub.dispatch.v1).

Pure (enum and typing only), so domain cores may use it.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from convhub.common.v1 import common_pb2
    from convhub.dispatch.v1 import dispatch_pb2


class Platform(enum.StrEnum):
    """A destination; the value is the lower-case token of subjects and delivery ids."""

    GOOGLE = "google"
    META = "meta"
    TIKTOK = "tiktok"
    SGTM = "sgtm"  # the site's server-side GTM container, dispatched from the router

    @property
    def proto(self) -> int:
        """convhub.common.v1.Platform value."""
        return _PLATFORM_PROTO[self]


_PLATFORM_PROTO = {Platform.GOOGLE: 1, Platform.META: 2, Platform.TIKTOK: 3, Platform.SGTM: 4}


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


def classify_status(status: int) -> ErrorClass:
    """What a bare HTTP status says (0: no answer): 2xx delivered, 429 throttle, 408/5xx/none
    transient, 401/403 auth, other 4xx the request's content. Platforms whose answers carry
    their own codes classify those first."""
    if 200 <= status < 300:
        return ErrorClass.NONE
    if status == 429:
        return ErrorClass.THROTTLE
    if status in (0, 408) or status >= 500:
        return ErrorClass.TRANSIENT
    if status in (401, 403):
        return ErrorClass.AUTH
    if 400 <= status < 500:
        return ErrorClass.BAD_INPUT
    return ErrorClass.UNKNOWN  # 1xx/3xx: redirects are not followed for POSTs


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


# The ad platforms a site can deliver to directly (each with its own hash variant); sGTM is
# the alternative path.
DIRECT_PLATFORMS = (Platform.GOOGLE, Platform.META, Platform.TIKTOK)
_PLATFORM_FROM_PROTO = {p.proto: p for p in Platform}


def platform_from_pb(value: int) -> Platform | None:
    """The Platform of a convhub.common.v1.Platform value; None for UNSPECIFIED or unknown."""
    return _PLATFORM_FROM_PROTO.get(value)


# --- typed for the generated stubs (same numbers) ----------------------------------------------


def platform_pb(platform: Platform) -> common_pb2.Platform:
    return cast("common_pb2.Platform", platform.proto)


def status_pb(status: Status | str) -> common_pb2.DeliveryStatus:
    return cast("common_pb2.DeliveryStatus", Status(status).proto)


def error_class_pb(value: ErrorClass | int | None) -> common_pb2.ErrorClass:
    return cast("common_pb2.ErrorClass", int(value or 0))


def batch_status_pb(status: BatchStatus | str) -> dispatch_pb2.BatchStatus:
    return cast("dispatch_pb2.BatchStatus", BatchStatus(status).proto)


def breaker_pb(value: int) -> dispatch_pb2.BreakerState:
    return cast("dispatch_pb2.BreakerState", value)
