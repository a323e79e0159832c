"""Helpers shared by the areas' SQL: JSON parameters and PATCHes of whitelisted columns."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb


def jsonb_or_null(value: Any) -> Jsonb | None:
    """A JSON column's parameter: SQL NULL for None, jsonb otherwise."""
    return None if value is None else Jsonb(value)


async def update_columns(
    conn: AsyncConnection[Any],
    table: str,
    tenancy_id: uuid.UUID,
    row_id: str,
    values: dict[str, Any],
    *,
    allowed: Collection[str],
    json_columns: Collection[str] = (),
) -> None:
    """Set ``values`` on row ``row_id`` of ``table``; raise ValueError for a non-allowed column.

    Column and table names become SQL identifiers only after the whitelist check; every value is
    a bound parameter (JSON columns wrapped as jsonb, None kept as SQL NULL).
    """
    if not values:
        return
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(col), sql.Placeholder(col)) for col in values
    )
    query = sql.SQL(
        "UPDATE {} SET {} WHERE tenancy_id = %(tenancy_id)s AND id = %(row_id)s"
    ).format(sql.Identifier(table), assignments)
    params = {k: (jsonb_or_null(v) if k in json_columns else v) for k, v in values.items()}
    await conn.execute(query, {**params, "tenancy_id": tenancy_id, "row_id": row_id})
