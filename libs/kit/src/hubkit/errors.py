"""Transport-neutral domain errors; adapters translate them (gRPC status, NATS ack/nak/term)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class ConfigError(Exception):
    """Invalid or missing configuration found at startup; the service must not start.

    Not a DomainError: it never crosses an RPC boundary, it stops the process.
    """


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field-level problem. `message` must not echo the raw value (it may be personal data)."""

    field: str
    code: str
    message: str


class DomainError(Exception):
    """Base of every error a use case may raise on purpose; `.message` is safe to show callers."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    def __init__(self, message: str, field_errors: Iterable[FieldError] = ()) -> None:
        super().__init__(message)
        self.field_errors: tuple[FieldError, ...] = tuple(field_errors)


class NotFound(DomainError):
    pass


class AlreadyExists(DomainError):
    pass


class Unauthenticated(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class FailedPrecondition(DomainError):
    pass


class ResourceExhausted(DomainError):
    """A rate limit or quota was hit; the caller may retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(0.0, retry_after)


class Unavailable(DomainError):
    """A dependency is down or the service is shutting down; retrying later may succeed."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = None if retry_after is None else max(0.0, retry_after)
