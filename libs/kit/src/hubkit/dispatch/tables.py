"""The delivery ledger's tables, defined once for every dispatcher (each in its own schema)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from hubkit.db.outbox import outbox_table
from hubkit.dispatch.model import BatchStatus, Status

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _ts(name: str, *, nullable: bool = True, default_now: bool = False) -> Column[object]:
    return Column(
        name,
        DateTime(timezone=True),
        nullable=nullable,
        server_default=func.now() if default_now else None,
    )


def _in(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _payload_column() -> Column[object]:
    # v2: the event's bytes as first sent, kept for a resend (frozen payloads,
    # docs/architecture.md §3).
    return Column("payload", LargeBinary)


def status_columns() -> list[Column[object]]:
    # v3: a platform's later report on an accepted request (Google Data Manager request status).
    return [
        _ts("status_due_at"),  # when to ask next; NULL: nothing to ask
        Column("status_state", Text, nullable=False, server_default=""),
        Column("status_checks", Integer, nullable=False, server_default=text("0")),
        _ts("status_checked_at"),
        Column("status_report", JSONB),  # {"records": n, "errors": {...}, "warnings": {...}}
    ]


def match_keys_column() -> Column[object]:
    # v4: the match keys the destination receives (hubkit.matchkeys bits), for GetStats.
    return Column("match_keys", SmallInteger, nullable=False, server_default=text("0"))


def _since(version: int, added_in: int, *columns: Callable[[], Column[object]]) -> list[Any]:
    return [make() for make in columns] if version >= added_in else []


@dataclass(frozen=True)
class LedgerTables:
    """The tables of one dispatcher's ledger; build with `ledger_tables(metadata, schema)`."""

    schema: str
    deliveries: Table  # one row per (conversion, destination): the state machine
    batches: Table  # one row per platform request (or split parent)
    attempts: Table  # one row per event per request: the audit
    dead_letters: Table  # one row per death (FAILED or DEAD), replayable
    outbox: Table  # DeliveryUpdated / DeadLettered, staged with the state they announce


LEDGER_VERSION = 4


def ledger_tables(metadata: MetaData, schema: str, version: int = LEDGER_VERSION) -> LedgerTables:
    """The tables as of ledger `version` (migrations create v1, then ALTER step by step)."""
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    statuses = [s.value for s in Status]
    deliveries = Table(
        "deliveries",
        metadata,
        Column("delivery_id", Text, primary_key=True),
        Column("conversion_id", Text, nullable=False),
        Column("site_id", Text, nullable=False),
        Column("account_id", Text, nullable=False),
        Column("credentials_ref", Text, nullable=False, server_default=""),
        Column("lane_extra", Text, nullable=False, server_default=""),
        Column("event_id", Text, nullable=False, server_default=""),
        Column("status", Text, nullable=False),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("failures", Integer, nullable=False, server_default=text("0")),
        _ts("next_attempt_at", nullable=False, default_now=True),
        Column("lease_owner", Text),
        _ts("lease_until"),
        Column("batch_id", Text),
        Column("last_error", Text, nullable=False, server_default=""),
        Column("error_class", SmallInteger, nullable=False, server_default=text("0")),
        Column("platform_code", Text, nullable=False, server_default=""),
        Column("sequence", BigInteger, nullable=False, server_default=text("0")),
        Column("replay_count", Integer, nullable=False, server_default=text("0")),
        # The DispatchRequested as received: hashed identifiers only (docs/architecture.md §4).
        Column("request", LargeBinary, nullable=False),
        _ts("received_at"),
        _ts("created_at", nullable=False, default_now=True),
        _ts("updated_at", nullable=False, default_now=True),
        _ts("first_attempt_at"),
        _ts("confirmed_at"),
        *_since(version, 2, _payload_column),
        *_since(version, 4, match_keys_column),
        CheckConstraint(_in("status", statuses), name="deliveries_status"),
        schema=schema,
    )
    Index(
        "ix_deliveries_due",
        deliveries.c.account_id,
        deliveries.c.credentials_ref,
        deliveries.c.lane_extra,
        deliveries.c.next_attempt_at,
        postgresql_where=deliveries.c.status == Status.PENDING.value,
    )
    Index(
        "ix_deliveries_leased",
        deliveries.c.lease_until,
        postgresql_where=deliveries.c.status == Status.SENDING.value,
    )
    Index("ix_deliveries_conversion", deliveries.c.conversion_id)
    Index("ix_deliveries_batch", deliveries.c.batch_id)

    batches = Table(
        "batches",
        metadata,
        Column("batch_id", Text, primary_key=True),
        Column("account_id", Text, nullable=False),
        Column("credentials_ref", Text, nullable=False, server_default=""),
        Column("lane_extra", Text, nullable=False, server_default=""),
        Column("parent_batch_id", Text),
        Column("status", Text, nullable=False),
        Column("event_count", Integer, nullable=False),
        Column("succeeded_count", Integer, nullable=False, server_default=text("0")),
        Column("failed_count", Integer, nullable=False, server_default=text("0")),
        Column("retry_count", Integer, nullable=False, server_default=text("0")),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("http_status", Integer, nullable=False, server_default=text("0")),
        Column("latency_ms", Integer, nullable=False, server_default=text("0")),
        Column("platform_request_id", Text, nullable=False, server_default=""),
        Column("response_excerpt", Text, nullable=False, server_default=""),
        Column("error_class", SmallInteger, nullable=False, server_default=text("0")),
        Column("platform_code", Text, nullable=False, server_default=""),
        Column("error_message", Text, nullable=False, server_default=""),
        _ts("created_at", nullable=False, default_now=True),
        _ts("sent_at"),
        _ts("completed_at"),
        *(status_columns() if version >= 3 else []),
        CheckConstraint(_in("status", [s.value for s in BatchStatus]), name="batches_status"),
        schema=schema,
    )
    Index("ix_batches_completed", batches.c.completed_at)
    if version >= 3:
        Index(
            "ix_batches_status_due",
            batches.c.status_due_at,
            postgresql_where=batches.c.status_due_at.isnot(None),
        )
    Index("ix_batches_parent", batches.c.parent_batch_id)

    attempts = Table(
        "attempts",
        metadata,
        Column("batch_id", Text, primary_key=True),
        Column("delivery_id", Text, primary_key=True),
        Column("number", Integer, nullable=False),
        Column("position", Integer, nullable=False),
        Column("outcome", Text, nullable=False),
        _ts("started_at", nullable=False),
        Column("latency_ms", Integer, nullable=False, server_default=text("0")),
        Column("http_status", Integer, nullable=False, server_default=text("0")),
        Column("error_class", SmallInteger, nullable=False, server_default=text("0")),
        Column("platform_code", Text, nullable=False, server_default=""),
        Column("error_message", Text, nullable=False, server_default=""),
        schema=schema,
    )
    Index("ix_attempts_delivery", attempts.c.delivery_id)
    Index("ix_attempts_started", attempts.c.started_at)  # GetStats windows

    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("dead_letter_id", Text, primary_key=True),
        Column("delivery_id", Text, nullable=False),
        Column("conversion_id", Text, nullable=False),
        Column("site_id", Text, nullable=False),
        Column("account_id", Text, nullable=False),
        Column("event_id", Text, nullable=False, server_default=""),
        Column("status", Text, nullable=False),  # failed or dead
        Column("reason", Text, nullable=False),
        Column("error_class", SmallInteger, nullable=False, server_default=text("0")),
        Column("platform_code", Text, nullable=False, server_default=""),
        Column("last_error", Text, nullable=False, server_default=""),
        Column("attempts", Integer, nullable=False),
        Column("batch_id", Text),
        _ts("first_attempt_at"),
        _ts("dead_lettered_at", nullable=False, default_now=True),
        _ts("replayed_at"),
        Column("replay_count", Integer, nullable=False, server_default=text("0")),
        schema=schema,
    )
    Index(
        "ix_dead_letters_listing",
        dead_letters.c.dead_lettered_at.desc(),
        dead_letters.c.dead_letter_id.desc(),
    )
    Index("ix_dead_letters_delivery", dead_letters.c.delivery_id)

    return LedgerTables(
        schema=schema,
        deliveries=deliveries,
        batches=batches,
        attempts=attempts,
        dead_letters=dead_letters,
        outbox=outbox_table(metadata, schema),
    )
