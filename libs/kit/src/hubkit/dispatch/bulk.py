"""Set-based statements with a handful of array parameters, whatever the number of rows.

A multi-row VALUES list or an expanded IN (...) sends thousands of placeholders that the driver
parses on every call; `unnest(array, ...)` and `= ANY(array)` keep a 1,000-event batch to one
short statement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ARRAY, Column, Table, Text, any_, bindparam, cast, text
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

_DIALECT = PGDialect()  # type: ignore[no-untyped-call]


def in_ids(column: Column[Any], ids: Sequence[str]) -> ColumnElement[bool]:
    """`column = ANY(:ids)`: one array parameter instead of one placeholder per id."""
    return column == any_(cast(bindparam(None, list(ids), type_=ARRAY(Text)), ARRAY(Text)))


async def insert_unnest(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict_key: str | None = None,
    returning: str | None = None,
) -> list[Any]:
    """INSERT rows as `SELECT * FROM unnest(col1[], col2[], ...)`; ON CONFLICT (key) DO NOTHING
    when `conflict_key` is given. Returns the `returning` column of the inserted rows."""
    if not rows:
        return []
    names = list(rows[0])
    params = {f"p{i}": [row[name] for row in rows] for i, name in enumerate(names)}
    arrays = ", ".join(
        f"CAST(:p{i} AS {table.c[name].type.compile(dialect=_DIALECT)}[])"
        for i, name in enumerate(names)
    )
    sql = f"INSERT INTO {table.fullname} ({', '.join(names)}) SELECT * FROM unnest({arrays})"
    if conflict_key:
        sql += f" ON CONFLICT ({conflict_key}) DO NOTHING"
    if returning:
        sql += f" RETURNING {returning}"
    result = await session.execute(text(sql), params)
    return list(result.scalars()) if returning else []
