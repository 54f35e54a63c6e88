"""Alembic helpers for the ledger: one call in a dispatcher's migration creates all its tables.

Every dispatcher's ledger has the same migration history, kept once in `ledger_migrations/`
(0001: v1 tables, 0002: v2, ...): a dispatcher's migrate.py calls
`upgrade(database_url, schema)` and never writes a ledger migration of its own.

The DDL comes from `tables.ledger_tables`, the single definition, at the version a step names.
Migrations are immutable once shipped: a change to those tables is a new `upgrade_ledger_vN`
step (ALTERs) that every dispatcher adds as a new revision; tests/unit/hubkit/
test_dispatch_tables.py pins each version's shape so such a change cannot slip in silently.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Column, LargeBinary, MetaData

from hubkit.db import migrations as db_migrations
from hubkit.dispatch.tables import (
    LEDGER_VERSION,
    ledger_tables,
    match_keys_column,
    status_columns,
)

__all__ = [
    "LEDGER_MIGRATIONS",
    "LEDGER_VERSION",
    "create_ledger_v1",
    "downgrade_ledger_v2",
    "downgrade_ledger_v3",
    "downgrade_ledger_v4",
    "drop_ledger_v1",
    "run_env",
    "upgrade",
    "upgrade_ledger_v2",
    "upgrade_ledger_v3",
    "upgrade_ledger_v4",
]


def _schema(op: Any) -> str:
    return str(op.get_context().config.attributes["schema"])


def ledger_metadata(schema: str, version: int = LEDGER_VERSION) -> MetaData:
    metadata = MetaData()
    ledger_tables(metadata, schema, version)
    return metadata


def create_ledger_v1(op: Any) -> None:
    """Create deliveries, batches, attempts, dead_letters and outbox in the migration's schema."""
    ledger_metadata(_schema(op), 1).create_all(op.get_bind())


def drop_ledger_v1(op: Any) -> None:
    ledger_metadata(_schema(op), 1).drop_all(op.get_bind())


def upgrade_ledger_v2(op: Any) -> None:
    """v2: deliveries.payload, the bytes of an event's first send (a resend carries them)."""
    op.add_column("deliveries", Column("payload", LargeBinary), schema=_schema(op))


def downgrade_ledger_v2(op: Any) -> None:
    op.drop_column("deliveries", "payload", schema=_schema(op))


def upgrade_ledger_v3(op: Any) -> None:
    """v3: batches.status_*, a platform's later report on an accepted request."""
    schema = _schema(op)
    for column in status_columns():
        op.add_column("batches", column, schema=schema)
    batches = ledger_tables(MetaData(), schema, 3).batches
    next(i for i in batches.indexes if i.name == "ix_batches_status_due").create(op.get_bind())


def downgrade_ledger_v3(op: Any) -> None:
    schema = _schema(op)
    op.drop_index("ix_batches_status_due", table_name="batches", schema=schema)
    for column in status_columns():
        op.drop_column("batches", column.name, schema=schema)


def upgrade_ledger_v4(op: Any) -> None:
    """v4: deliveries.match_keys, the match keys each delivery's destination receives."""
    op.add_column("deliveries", match_keys_column(), schema=_schema(op))


def downgrade_ledger_v4(op: Any) -> None:
    op.drop_column("deliveries", "match_keys", schema=_schema(op))


def run_env() -> None:
    """The body of a dispatcher's migrations/env.py (autogenerate compares with the ledger)."""
    from alembic import context

    db_migrations.run_env(ledger_metadata(str(context.config.attributes["schema"])))


LEDGER_MIGRATIONS = Path(__file__).parent / "ledger_migrations"


def upgrade(database_url: str, schema: str) -> None:
    """Bring a dispatcher's ledger schema to head (its migrate.py calls this)."""
    db_migrations.upgrade(database_url, LEDGER_MIGRATIONS, schema)


def main(settings_type: type[Any]) -> None:
    """The body of a dispatcher's `python -m <package>.migrate` (a Kubernetes Job): its ledger
    schema (`database_url`, `db_schema` of `settings_type`) brought to head."""
    from hubkit.config import load
    from hubkit.errors import ConfigError

    name = settings_type.__module__.split(".")[0].replace("_", "-")
    try:
        settings = load(settings_type)
    except ConfigError as exc:
        print(f"{name} migrate: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    upgrade(settings.database_url, settings.db_schema)
