"""The ledger's shape is pinned: a change needs a new migration step, not an edited v1."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import MetaData, Table
from sqlalchemy.dialects import postgresql

from hubkit.dispatch.migrations import LEDGER_VERSION
from hubkit.dispatch.tables import ledger_tables

# sha256 of `shape(version)` per ledger version. If one fails, you changed the ledger tables:
# shipped dispatchers already ran the steps up to LEDGER_VERSION, so add an upgrade_ledger_vN
# step (the ALTERs) in hubkit.dispatch.migrations, a new revision calling it in every
# dispatcher, bump LEDGER_VERSION, then pin the new shape here.
PINNED = {
    1: "76ca9b57f81ea8e5d3fa53e33854cb680d17685c56a3452d3cd10eeba18d50a0",
    2: "09022c193a12ecda590b92be24bafa082a88e4325de74541ca65f95be87290ab",
    3: "c51cc913e0183f99f1da86015dd70f0e6ccff196895d4495432a70e4eef1a754",
    4: "7ed3320d516e125f021aa9a461e11931aa502293b686bec9de390498e306e7a4",
}


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


def shape(version: int) -> str:
    t = ledger_tables(MetaData(), "s", version)
    tables = (t.deliveries, t.batches, t.attempts, t.dead_letters, t.outbox)
    return "\n".join(describe(x) for x in tables)


@pytest.mark.parametrize("version", sorted(PINNED))
def test_every_ledger_version_shape_is_pinned(version: int) -> None:
    assert max(PINNED) == LEDGER_VERSION
    assert hashlib.sha256(shape(version).encode()).hexdigest() == PINNED[version], shape(version)


def test_schema_names_are_checked() -> None:
    with pytest.raises(ValueError):
        ledger_tables(MetaData(), 'x"; drop table y; --')
