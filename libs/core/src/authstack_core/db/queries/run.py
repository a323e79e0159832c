"""How a query function runs its one statement, its parameters given by name.

Every area module keeps its SQL next to the function that runs it; these helpers only carry the
cursor handling that would otherwise be spelled out again in each of those functions. A statement
is a literal string or a ``psycopg.sql`` composition (identifiers quoted, values still bound).
"""

from __future__ import annotations

from typing import Any, LiteralString, TypeAlias, TypeVar, cast

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row

Query: TypeAlias = LiteralString | sql.SQL | sql.Composed

R = TypeVar("R")
V = TypeVar("V")


async def fetch_one(
    conn: AsyncConnection[Any], row_type: type[R], sql: Query, /, **params: Any
) -> R | None:
    """The first row ``sql`` returns as a ``row_type``, or None when it returns none."""
    async with conn.cursor(row_factory=class_row(row_type)) as cur:
        await cur.execute(sql, params)
        return await cur.fetchone()


async def fetch_all(
    conn: AsyncConnection[Any], row_type: type[R], sql: Query, /, **params: Any
) -> list[R]:
    """Every row ``sql`` returns, each as a ``row_type``, in the order it returns them."""
    async with conn.cursor(row_factory=class_row(row_type)) as cur:
        await cur.execute(sql, params)
        return await cur.fetchall()


async def changed(conn: AsyncConnection[Any], sql: Query, /, **params: Any) -> bool:
    """Run a write; True when it touched at least one row."""
    cur = await conn.execute(sql, params)
    return cur.rowcount > 0


async def fetch_value(
    conn: AsyncConnection[Any], value_type: type[V], sql: Query, /, **params: Any
) -> V | None:
    """The first column of the first row ``sql`` returns, which the caller knows to be a
    ``value_type``; None when it returns no row."""
    cur = await conn.execute(sql, params)
    row = await cur.fetchone()
    return cast(V, row[0]) if row else None


async def fetch_flag(conn: AsyncConnection[Any], sql: Query, /, **params: Any) -> bool:
    """Whether ``sql`` returned a row whose first column is truthy (an EXISTS, a count)."""
    return bool(await fetch_value(conn, object, sql, **params))
