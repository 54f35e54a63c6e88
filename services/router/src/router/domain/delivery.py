"""sGTM deliveries: the ledger's record per conversion, how an answer is judged, what follows."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from hubkit.naming import delivery_id
from router.domain.routing import TraceRef


class DeliveryStatus(enum.Enum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    DEAD = "dead"


class ErrorClass(enum.Enum):
    NONE = "none"
    THROTTLE = "throttle"
    TRANSIENT = "transient"
    AUTH = "auth"
    BAD_INPUT = "bad_input"
    CONFIG = "config"
    UNKNOWN = "unknown"

    @property
    def retryable(self) -> bool:
        return self in (ErrorClass.THROTTLE, ErrorClass.TRANSIENT)


@dataclass(frozen=True)
class SgtmDelivery:
    """One conversion on its way to one sGTM container, as the ledger holds it."""

    delivery_id: str
    conversion_id: str
    site_id: str
    config_revision: int
    host: str
    payload: bytes  # the ConversionAccepted item as routed, opaque here
    trace: TraceRef
    attempts: int = 0
    sequence: int = 0
    created_at: datetime | None = None


def sgtm_delivery_id(conversion_id: str, host: str) -> str:
    return delivery_id(conversion_id, "sgtm", host)


def classify_http(status: int) -> ErrorClass:
    """What an sGTM answer means (platform-contracts §5): 2xx delivered; 408/429/5xx retry."""
    if 200 <= status < 300:
        return ErrorClass.NONE
    if status == 429:
        return ErrorClass.THROTTLE
    if status in (0, 408) or status >= 500:  # 0: no answer (network error, timeout)
        return ErrorClass.TRANSIENT
    if status in (401, 403):
        return ErrorClass.AUTH
    if 400 <= status < 500:
        return ErrorClass.BAD_INPUT
    return ErrorClass.UNKNOWN  # 1xx/3xx: redirects are not followed for POSTs


@dataclass(frozen=True)
class PreparedRequest:
    """A body ready to POST and the deliveries it carries."""

    delivery_ids: tuple[str, ...]
    body: bytes
    batch_id: str
    traceparents: tuple[str, ...] = ()  # the carried conversions' traces, for span links


@dataclass(frozen=True)
class RequestResult:
    """The answer to one request that carried `delivery_ids` (or why it was never sent)."""

    delivery_ids: tuple[str, ...]
    error_class: ErrorClass
    http_status: int = 0
    error: str = ""  # short, never personal data or secrets
    retry_after: float | None = None
    excerpt: str = ""
    batch_id: str = ""
    too_large: bool = False  # 413: the container wants smaller requests
    sent: bool = True  # False: never left convhub (bad payload, missing credentials)


@dataclass(frozen=True)
class Outcome:
    """What one attempt changed for one delivery: its new status and, for retries, when next."""

    delivery: SgtmDelivery
    status: DeliveryStatus
    attempts: int
    error_class: ErrorClass
    error: str
    platform_code: str
    batch_id: str
    excerpt: str
    retry_in: float | None = None  # PENDING: seconds until the next attempt

    @property
    def sequence(self) -> int:
        """Every published update of a delivery gets the next sequence number."""
        return self.delivery.sequence + 1
