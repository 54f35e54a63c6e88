"""Which exceptions say "a dependency is down or restarting" rather than "a bug".

PostgreSQL restarting, a NATS server failing over, a connection pool drained: the request was
fine and the same call succeeds a moment later. Adapters answer those as retryable
(gRPC UNAVAILABLE with a retry delay), and keep INTERNAL for what retrying cannot fix.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["OUTAGE_RETRY_AFTER", "Outage", "OutageLog", "outage_of"]

# What a caller is told to wait before retrying: a PostgreSQL restart or a NATS reconnect takes
# about this long, and a retry storm sooner only slows the recovery.
OUTAGE_RETRY_AFTER = 1.0

POSTGRESQL = "PostgreSQL"
NATS = "NATS"

# Known by name, not imported: the use cases' own helpers (hubkit.worker) use this module, and
# the layering keeps drivers out of the use cases. tests/unit/hubkit/test_outages.py raises the
# real classes, so a renamed one fails there.
# psycopg's OperationalError: connection refused or lost, server shutting down or starting up
# (AdminShutdown, CannotConnectNow), query cancelled, serialization failure: all retryable.
_POSTGRESQL_DRIVER_ERROR = "psycopg.OperationalError"
_SQLALCHEMY_DBAPI_ERROR = "sqlalchemy.exc.DBAPIError"  # wraps the driver's error as .orig
_POOL_TIMEOUT = "sqlalchemy.exc.TimeoutError"  # QueuePool: no connection came free in time
_NATS_ERRORS = frozenset(
    {
        "nats.errors.ConnectionClosedError",
        "nats.errors.ConnectionDrainingError",
        "nats.errors.ConnectionReconnectingError",
        "nats.errors.FlushTimeoutError",
        "nats.errors.NoRespondersError",
        "nats.errors.NoServersError",
        "nats.errors.OutboundBufferLimitError",
        "nats.errors.StaleConnectionError",
        "nats.errors.TimeoutError",
        "nats.errors.UnexpectedEOF",
        "nats.js.errors.NoStreamResponseError",
        "nats.js.errors.ServiceUnavailableError",
        # No PubAck: the bus did not take the message, the caller must retry.
        "hubkit.bus.publisher.PublishError",
    }
)
_MAX_REASON = 200
_MAX_CAUSES = 8


@dataclass(frozen=True, slots=True)
class Outage:
    dependency: str  # "PostgreSQL", "NATS", or "a dependency" for a bare connection error
    reason: str  # one line, safe to log: never SQL text or bound parameters


def outage_of(exc: BaseException) -> Outage | None:
    """The outage `exc` (or an exception it was raised from) reports, or None for anything else.

    An exception group is an outage when every exception in it is one (tasks that all lost the
    same connection).
    """
    if isinstance(exc, BaseExceptionGroup):
        found = [outage_of(e) for e in exc.exceptions]
        return found[0] if found and all(found) else None
    seen: BaseException | None = exc
    for _ in range(_MAX_CAUSES):
        if seen is None:
            return None
        outage = _classify(seen)
        if outage is not None:
            return outage
        seen = seen.__cause__  # only what was explicitly wrapped (`raise ... from exc`)
    return None


def _classify(exc: BaseException) -> Outage | None:
    names = _names(exc)
    if _POOL_TIMEOUT in names:
        return Outage(POSTGRESQL, "no pooled connection came free in time")
    if _SQLALCHEMY_DBAPI_ERROR in names:
        # str(exc) holds the statement and its parameters (personal data): only the driver's
        # own message is ever shown.
        orig: BaseException | None = getattr(exc, "orig", None)
        invalidated = bool(getattr(exc, "connection_invalidated", False))
        if invalidated or (orig is not None and _POSTGRESQL_DRIVER_ERROR in _names(orig)):
            return Outage(POSTGRESQL, _one_line(orig if orig is not None else exc))
        return None
    if _POSTGRESQL_DRIVER_ERROR in names:
        return Outage(POSTGRESQL, _one_line(exc))
    if names & _NATS_ERRORS:
        return Outage(NATS, _one_line(exc))
    if isinstance(exc, ConnectionError):
        return Outage("a dependency", _one_line(exc))
    return None


def _names(exc: BaseException) -> set[str]:
    return {f"{cls.__module__}.{cls.__qualname__}" for cls in type(exc).__mro__}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0].strip() if text and text[0].strip() else type(exc).__name__
    return line if len(line) <= _MAX_REASON else line[: _MAX_REASON - 3] + "..."


class OutageLog:
    """One log line per outage, no traceback, at most every `every` seconds per dependency:
    under load every request fails alike, and a line per request would bury the log."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._every = every
        self._monotonic = clock
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def report(self, outage: Outage, where: str, answer: str) -> None:
        now = self._monotonic()
        last = self._last.get(outage.dependency)
        if last is not None and now - last < self._every:
            self._quiet[outage.dependency] = self._quiet.get(outage.dependency, 0) + 1
            return
        self._last[outage.dependency] = now
        quiet = self._quiet.pop(outage.dependency, 0)
        more = f" (and {quiet} more like it since the last line)" if quiet else ""
        self._logger.warning(
            "%s unavailable in %s: %s; answered %s%s",
            outage.dependency,
            where,
            outage.reason,
            answer,
            more,
        )
