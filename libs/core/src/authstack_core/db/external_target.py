"""Statements the sync engine runs on a project's own PostgreSQL database (a sync target).

Every name goes through ``psycopg.sql.Identifier``; the column types are this codebase's literals
(``models.external_db_sync``). The target keeps ``_stack_sync_metadata``: how far each mapping
holds, written in the same transaction as the rows, so a batch is applied whole or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb

from authstack_core.models.external_db_sync import Mapping

METADATA = sql.Identifier("_stack_sync_metadata")
# Target-side advisory lock around the DDL, so two engines creating the tables at once do not
# collide in the catalog ("hashtext('authstack external db sync')").
_DDL_LOCK = sql.SQL("SELECT pg_advisory_xact_lock(hashtext('authstack external db sync'))")


def _create_table(mapping: Mapping) -> sql.Composed:
    columns = [
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.type)) for c in mapping.columns
    ]
    key = sql.SQL(", ").join(sql.Identifier(k) for k in mapping.key)
    return sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY ({}))").format(
        sql.Identifier(mapping.name), sql.SQL(", ").join(columns), key
    )


async def ensure_schema(conn: AsyncConnection[Any], mappings: Sequence[Mapping]) -> None:
    """Create the mapping tables and ``_stack_sync_metadata`` if missing, readable by every role,
    with a metadata row (at 0) for each mapping. Run in autocommit mode."""
    async with conn.transaction():
        await conn.execute(_DDL_LOCK)
        await conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (mapping_name text PRIMARY KEY,"
                " last_synced_sequence_id bigint NOT NULL, updated_at timestamptz NOT NULL)"
            ).format(METADATA)
        )
        await conn.execute(sql.SQL("GRANT SELECT ON {} TO PUBLIC").format(METADATA))
        for mapping in mappings:
            await conn.execute(_create_table(mapping))
            await conn.execute(
                sql.SQL("GRANT SELECT ON {} TO PUBLIC").format(sql.Identifier(mapping.name))
            )
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} VALUES (%(mapping)s, 0, now()) ON CONFLICT DO NOTHING"
                ).format(METADATA),
                {"mapping": mapping.name},
            )


async def lock_progress(conn: AsyncConnection[Any], mapping: Mapping) -> int:
    """How far the target holds ``mapping``, its metadata row locked until the transaction ends
    (so two engines syncing one target take turns, each starting where the other stopped)."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT last_synced_sequence_id FROM {} WHERE mapping_name = %(mapping)s FOR UPDATE"
        ).format(METADATA),
        {"mapping": mapping.name},
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def set_progress(conn: AsyncConnection[Any], mapping: Mapping, last: int) -> None:
    await conn.execute(
        sql.SQL(
            "INSERT INTO {} VALUES (%(mapping)s, %(last)s, now()) ON CONFLICT (mapping_name)"
            " DO UPDATE SET last_synced_sequence_id = EXCLUDED.last_synced_sequence_id,"
            " updated_at = EXCLUDED.updated_at"
        ).format(METADATA),
        {"mapping": mapping.name, "last": last},
    )


def _upsert(mapping: Mapping) -> sql.Composed:
    names = [sql.Identifier(c) for c in mapping.column_names]
    others = [sql.Identifier(c) for c in mapping.column_names if c not in mapping.key]
    table = sql.Identifier(mapping.name)
    # The WHERE leaves a row that already matches untouched: a batch applied twice writes nothing.
    return sql.SQL(
        "INSERT INTO {table} ({cols}) VALUES ({values}) ON CONFLICT ({key}) DO UPDATE SET"
        " ({others}) = ROW({excluded}) WHERE ({current}) IS DISTINCT FROM ({excluded})"
    ).format(
        table=table,
        cols=sql.SQL(", ").join(names),
        values=sql.SQL(", ").join(sql.Placeholder() for _ in names),
        key=sql.SQL(", ").join(sql.Identifier(k) for k in mapping.key),
        others=sql.SQL(", ").join(others),
        excluded=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(c) for c in others),
        current=sql.SQL(", ").join(sql.SQL("{}.{}").format(table, c) for c in others),
    )


def _delete(mapping: Mapping) -> sql.Composed:
    keys = [sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder()) for k in mapping.key]
    return sql.SQL("DELETE FROM {} WHERE {}").format(
        sql.Identifier(mapping.name), sql.SQL(" AND ").join(keys)
    )


def _value(type_: str, value: Any) -> Any:
    return Jsonb(value) if type_ == "jsonb" and value is not None else value


async def upsert_rows(
    conn: AsyncConnection[Any], mapping: Mapping, rows: Sequence[Sequence[Any]]
) -> None:
    """Insert or update ``rows`` (the mapping's columns, in order) by the mapping's key."""
    if not rows:
        return
    types = [c.type for c in mapping.columns]
    params = [[_value(t, v) for t, v in zip(types, row, strict=True)] for row in rows]
    async with conn.cursor() as cur:
        await cur.executemany(_upsert(mapping), params)


async def delete_keys(
    conn: AsyncConnection[Any], mapping: Mapping, keys: Sequence[Sequence[Any]]
) -> None:
    """Delete the rows with these keys (the mapping's key columns, in order), if present."""
    if not keys:
        return
    async with conn.cursor() as cur:
        await cur.executemany(_delete(mapping), [list(k) for k in keys])
