"""The ledger's shape is pinned: a change needs a new migration step, not an edited v1."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import MetaData, Table
from sqlalchemy.dialects import postgresql

from hubkit.dispatch.migrations import LEDGER_VERSION
from hubkit.dispatch.tables import ledger_tables

# sha256 of `shape()` for LEDGER_VERSION 1. If this fails, you changed the ledger tables:
# shipped dispatchers already ran create_ledger_v1, so add a create_ledger_v2-style step (the
# ALTERs) in hubkit.dispatch.migrations, a new revision calling it in every dispatcher, bump
# LEDGER_VERSION, then update this pin.
V1 = "76ca9b57f81ea8e5d3fa53e33854cb680d17685c56a3452d3cd10eeba18d50a0"


def describe(table: Table) -> str:
    dialect = postgresql.dialect()
    columns = [
        f"{c.name}:{c.type.compile(dialect=dialect)}:{c.nullable}:{c.primary_key}:"
        f"{getattr(c.server_default, 'arg', c.server_default)}"
        for c in table.columns
    ]
    indexes = [
        f"{i.name}({','.join(str(e) for e in i.expressions)})"
        f"{i.dialect_options['postgresql'].get('where')}"
        for i in sorted(table.indexes, key=lambda i: str(i.name))
    ]
    return f"{table.name}|{';'.join(columns)}|{';'.join(indexes)}"


def shape() -> str:
    t = ledger_tables(MetaData(), "s")
    tables = (t.deliveries, t.batches, t.attempts, t.dead_letters, t.outbox)
    return "\n".join(describe(x) for x in tables)


def test_ledger_v1_shape_is_pinned() -> None:
    assert LEDGER_VERSION == 1
    assert hashlib.sha256(shape().encode()).hexdigest() == V1, shape()


def test_schema_names_are_checked() -> None:
    with pytest.raises(ValueError):
        ledger_tables(MetaData(), 'x"; drop table y; --')
