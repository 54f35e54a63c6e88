"""The engine's records: events in flight, requests, platform answers (the vocabulary of
platforms, statuses and error classes is hubkit.vocabulary, re-exported here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from convhub.events.v1 import events_pb2
from hubkit.vocabulary import BatchStatus, ErrorClass, Platform, Status

P = TypeVar("P")

__all__ = ["BatchStatus", "ErrorClass", "Platform", "Status"]  # re-exported vocabulary


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
    """One delivery claimed for a batch, with the DispatchRequested it came from."""

    delivery_id: str
    conversion_id: str
    site_id: str
    event_id: str
    attempt: int  # the number of this attempt, 1-based
    failures: int  # retryable failures charged before this attempt
    request: events_pb2.DispatchRequested
    received_at: datetime | None = None
    first_attempt_at: datetime | None = None
    frozen: bytes | None = None  # the event's bytes as first sent: a resend must carry these


@dataclass(frozen=True, slots=True)
class SendBatch:
    """A claimed batch: the events one `prepare` turns into one or more requests."""

    batch_id: str
    lane: Lane
    events: Sequence[PendingEvent]


@dataclass(frozen=True, slots=True)
class Request(Generic[P]):
    """One platform request an adapter built: the events it carries and its own payload.

    `frozen` holds each carried event's bytes as this request sends them; the engine keeps
    them for an event that must be sent again, and hands them back as `PendingEvent.frozen`.
    """

    delivery_ids: tuple[str, ...]
    payload: P
    frozen: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Prepared(Generic[P]):
    """A batch built locally (credentials read, events mapped and validated), not yet sent.

    `requests` are sent by the engine one `send` each; `event_errors` are events refused
    locally (they are in no request); `error` refuses the whole batch (e.g. the credentials
    file is missing, or no access token could be had). Events of the batch in none of these
    (duplicates within a request) share the fate of the request that carries their twin.
    """

    requests: Sequence[Request[P]] = ()
    event_errors: Mapping[str, PlatformError] = field(default_factory=dict)
    error: PlatformError | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """A platform's answer to one request, classified. Adapters never raise for platform or
    network errors; they answer with `error` (the whole request) and/or per-event outcomes.

    Events of the request in none of `event_errors`, `untried` or covered by `error` were
    accepted, with `accepted_status` (CONFIRMED; SENT where a platform only acknowledges
    receipt). `duplicates` were accepted as already known (audit notes the platform's code).
    `untried` events were not processed (the platform refused the request for another event):
    they go back untried, no attempt charged. `token_expired`: the access token was refused as
    expired; the engine refreshes it and sends once more, charging nothing.
    """

    http_status: int = 0  # 0: no answer (network error, timeout) or no request made
    request_id: str = ""  # Meta fbtrace_id, TikTok request_id, Google request id
    excerpt: str = ""  # a short part of the answer, secrets and personal data removed
    error: PlatformError | None = None
    event_errors: Mapping[str, PlatformError] = field(default_factory=dict)
    untried: frozenset[str] = frozenset()
    duplicates: Mapping[str, str] = field(default_factory=dict)  # delivery_id -> platform code
    accepted_status: Status = Status.CONFIRMED
    sent: bool = True  # False: no request reached the platform (nothing proves it up or down)
    token_expired: bool = False

    def error_for(self, delivery_id: str) -> PlatformError | None:
        return self.event_errors.get(delivery_id) or self.error


@dataclass(frozen=True, slots=True)
class RequestReport:
    """What a platform that reports later (Google Data Manager) says about one accepted request:
    counts per reason, no event index (`ReportsLater`).

    Once `final`, `outcome` says what the request's SENT events become: CONFIRMED, FAILED (with
    `failure`), PENDING (sent again, byte-identical, `failure.retry_after` s later: the platform
    failed them for a passing reason), or None (they stay SENT: a partial report names no
    event). `unavailable`: the report could not be had this time (network, token): ask again
    later."""

    state: str = ""  # the platform's: "PROCESSING", "SUCCESS", "PARTIAL_SUCCESS", "FAILED"
    final: bool = False
    record_count: int = 0
    error_counts: Mapping[str, int] = field(default_factory=dict)
    warning_counts: Mapping[str, int] = field(default_factory=dict)
    outcome: Status | None = None
    failure: PlatformError | None = None
    unavailable: PlatformError | None = None
    excerpt: str = ""  # a short part of the answer, secrets removed
