"""hubkit.outages: a dependency down or restarting told apart from a bug, and logged sparingly."""

from __future__ import annotations

import logging

import psycopg
import pytest
from nats import errors as nats_errors
from nats.js import errors as js_errors
from sqlalchemy import exc as sa_exc

from hubkit.bus import PublishError
from hubkit.outages import NATS, POSTGRESQL, Outage, OutageLog, outage_of

PII = "jane.doe@example.com"
REFUSED = (
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused'
    "\n\tIs the server running on that host and accepting TCP/IP connections?"
)


def wrapped(orig: Exception, *, invalidated: bool = False) -> sa_exc.StatementError:
    """What SQLAlchemy raises around a driver error: the statement and its parameters included."""
    return sa_exc.DBAPIError.instance(  # the subclass the driver error names (OperationalError)
        "INSERT INTO conversions (email) VALUES (%(email)s)",
        {"email": PII},
        orig,
        psycopg.Error,
        connection_invalidated=invalidated,
    )


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(wrapped(psycopg.OperationalError(REFUSED)), id="refused"),
        pytest.param(
            wrapped(psycopg.errors.AdminShutdown("terminating connection due to administrator")),
            id="admin-shutdown",
        ),
        pytest.param(
            wrapped(psycopg.errors.CannotConnectNow("the database system is starting up")),
            id="starting-up",
        ),
        pytest.param(wrapped(psycopg.InterfaceError("closed"), invalidated=True), id="invalidated"),
        pytest.param(psycopg.OperationalError(REFUSED), id="bare-driver-error"),
        pytest.param(sa_exc.TimeoutError("QueuePool limit of size 10 reached"), id="pool-timeout"),
    ],
)
def test_postgresql_outages(exc: Exception) -> None:
    outage = outage_of(exc)
    assert outage is not None and outage.dependency == POSTGRESQL
    assert "\n" not in outage.reason
    assert PII not in outage.reason and "INSERT" not in outage.reason


@pytest.mark.parametrize(
    "exc",
    [
        nats_errors.NoServersError(),
        nats_errors.ConnectionClosedError(),
        nats_errors.TimeoutError(),
        nats_errors.ConnectionReconnectingError(),
        js_errors.NoStreamResponseError(),
        js_errors.ServiceUnavailableError(),
        PublishError("no PubAck for convhub.conversions.accepted.shop"),
    ],
    ids=type,
)
def test_nats_outages(exc: Exception) -> None:
    outage = outage_of(exc)
    assert outage is not None and outage.dependency == NATS and outage.reason


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("a bug"),
        KeyError("missing"),
        wrapped(psycopg.errors.UniqueViolation("duplicate key")),  # the code's, not an outage
        wrapped(psycopg.ProgrammingError("syntax error at or near")),
        sa_exc.InvalidRequestError("bad use of the session"),
        js_errors.BadRequestError(),
        TimeoutError(),  # whose? asyncio.wait_for around anything: not a known outage
    ],
    ids=repr,
)
def test_bugs_are_not_outages(exc: Exception) -> None:
    assert outage_of(exc) is None


def test_what_an_outage_was_raised_from_counts() -> None:
    try:
        try:
            raise wrapped(psycopg.OperationalError(REFUSED))
        except sa_exc.DBAPIError as exc:
            raise RuntimeError("store failed") from exc
    except RuntimeError as exc:
        outage = outage_of(exc)
    assert outage is not None and outage.dependency == POSTGRESQL


def test_an_exception_group_is_an_outage_only_when_all_of_it_is() -> None:
    down = nats_errors.NoServersError()
    assert outage_of(ExceptionGroup("tasks", [down, nats_errors.TimeoutError()])) is not None
    assert outage_of(ExceptionGroup("tasks", [down, RuntimeError("bug")])) is None


def test_one_line_per_dependency_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    log = OutageLog(logging.getLogger("test.outages"), every=5.0, clock=lambda: now[0])
    pg, nats = Outage(POSTGRESQL, "connection refused"), Outage(NATS, "no servers")
    with caplog.at_level(logging.WARNING, logger="test.outages"):
        log.report(pg, "/x.Svc/A", "UNAVAILABLE")
        for _ in range(3):
            log.report(pg, "/x.Svc/A", "UNAVAILABLE")
        log.report(nats, "/x.Svc/B", "UNAVAILABLE")  # another dependency: its own line
        now[0] += 5.0
        log.report(pg, "/x.Svc/A", "UNAVAILABLE")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "PostgreSQL unavailable in /x.Svc/A: connection refused; answered UNAVAILABLE",
        "NATS unavailable in /x.Svc/B: no servers; answered UNAVAILABLE",
        "PostgreSQL unavailable in /x.Svc/A: connection refused; answered UNAVAILABLE"
        " (and 3 more like it since the last line)",
    ]
    assert all(r.exc_info is None for r in caplog.records)
