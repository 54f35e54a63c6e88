"""Set-based statements whatever the number of rows: binary COPY for the inserts, array
parameters for the rest.

A multi-row VALUES list or an expanded IN (...) sends thousands of placeholders that the driver
parses on every call; `= ANY(array)` keeps a 1,000-event batch to one short statement (pass the
array in binary where it is hot: psycopg dumps a text one element by element in Python). Rows
go in by binary COPY, which psycopg formats in C.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg.errors import UniqueViolation
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    SmallInteger,
    Table,
    Text,
    any_,
    bindparam,
    cast,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement


def in_ids(column: Column[Any], ids: Sequence[str]) -> ColumnElement[bool]:
    """`column = ANY(:ids)`: one array parameter instead of one placeholder per id."""
    return column == any_(cast(bindparam(None, list(ids), type_=ARRAY(Text)), ARRAY(Text)))


# --- binary COPY ---------------------------------------------------------------------------
# psycopg formats every row in C and bytea travels raw: the fastest insert PostgreSQL has, on
# the session's own connection (same transaction).


async def driver_connection(session: AsyncSession) -> Any:
    """The psycopg AsyncConnection under `session`, inside the session's transaction."""
    connection = await session.connection()
    return (await connection.get_raw_connection()).driver_connection


def _copy_type(column: Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    for python_type, name in _COPY_TYPES:
        if isinstance(kind, python_type):
            return name
    raise TypeError(f"no COPY type for {column}")


_COPY_TYPES: tuple[tuple[type[Any], str], ...] = (
    (SmallInteger, "int2"),  # before Integer: its subclasses
    (BigInteger, "int8"),
    (Integer, "int4"),
    (Text, "text"),
    (LargeBinary, "bytea"),
)


async def copy_rows(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    into: str | None = None,
) -> None:
    """COPY `rows` (tuples in `columns` order) into `table` (or the table named `into`, of the
    same column types) in binary format."""
    raw = await driver_connection(session)
    sql = f"COPY {into or table.fullname} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    async with raw.cursor().copy(sql) as copy:
        copy.set_types([_copy_type(table.c[name]) for name in columns])
        for row in rows:
            await copy.write_row(row)


async def copy_new_rows(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    key: str,
) -> list[Any]:
    """`INSERT ... ON CONFLICT (key) DO NOTHING RETURNING key` by binary COPY. Returns the keys
    actually inserted.

    Rows already there are rare (a redelivered message), so the rows are COPYed straight into
    `table` under a savepoint; only when a key is taken does the savepoint roll back and the
    rows go through a temporary stage into `table` with ON CONFLICT DO NOTHING."""
    rows = list(rows)
    raw = await driver_connection(session)
    await raw.execute("SAVEPOINT copy_new_rows")
    try:
        await copy_rows(session, table, columns, rows)
    except UniqueViolation:
        await raw.execute("ROLLBACK TO SAVEPOINT copy_new_rows")
    else:
        at = list(columns).index(key)
        return [row[at] for row in rows]
    names = ", ".join(columns)
    stage = f"{table.schema}_{table.name}_stage" if table.schema else f"{table.name}_stage"
    await raw.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS"
        f" AS SELECT {names} FROM {table.fullname} WITH NO DATA"
    )
    await copy_rows(session, table, columns, rows, into=stage)
    cursor = await raw.execute(
        f"WITH staged AS (DELETE FROM {stage} RETURNING {names})"
        f" INSERT INTO {table.fullname} ({names}) SELECT {names} FROM staged"
        f" ON CONFLICT ({key}) DO NOTHING RETURNING {key}"
    )
    return [row[0] for row in await cursor.fetchall()]
