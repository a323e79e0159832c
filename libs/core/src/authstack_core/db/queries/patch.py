"""Helpers shared by the areas' SQL: JSON parameters, the profile columns users and teams share,
and PATCHes of typed column sets."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any, Protocol

import msgspec
from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb


def jsonb_or_null(value: Any) -> Jsonb | None:
    """A JSON column's parameter: SQL NULL for None, jsonb otherwise."""
    return None if value is None else Jsonb(value)


# The JSON columns of a user or a team: stored as jsonb, SQL NULL when absent.
METADATA_COLUMNS = frozenset({"client_metadata", "client_read_only_metadata", "server_metadata"})


class NewProfile(Protocol):
    """What creating a user or a team sets alike: its name, its image and its three metadata."""

    @property
    def display_name(self) -> str | None: ...
    @property
    def profile_image_url(self) -> str | None: ...
    @property
    def client_metadata(self) -> Any: ...
    @property
    def client_read_only_metadata(self) -> Any: ...
    @property
    def server_metadata(self) -> Any: ...


def profile_params(new: NewProfile) -> dict[str, Any]:
    """The insert parameters of the profile columns (named as the columns)."""
    return {
        "display_name": new.display_name,
        "profile_image_url": new.profile_image_url,
        "client_metadata": jsonb_or_null(new.client_metadata),
        "client_read_only_metadata": jsonb_or_null(new.client_read_only_metadata),
        "server_metadata": jsonb_or_null(new.server_metadata),
    }


async def update_columns(
    conn: AsyncConnection[Any],
    table: str,
    tenancy_id: uuid.UUID,
    row_id: str,
    columns: msgspec.Struct,
    *,
    json_columns: Collection[str] = (),
) -> None:
    """Set the fields of ``columns`` that are not UNSET on row ``row_id`` of ``table``.

    The struct's type is the whitelist: its field names are the column names, so no request
    can name a column, and they become SQL identifiers only here. Every value is a bound
    parameter (JSON columns wrapped as jsonb, None kept as SQL NULL).
    """
    values = {
        name: value
        for name in columns.__struct_fields__
        if (value := getattr(columns, name)) is not msgspec.UNSET
    }
    if not values:
        return
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(col), sql.Placeholder(col)) for col in values
    )
    query = sql.SQL(
        "UPDATE {} SET {} WHERE tenancy_id = %(tenancy_id)s AND id = %(row_id)s"
    ).format(sql.Identifier(table), assignments)
    params = {k: (jsonb_or_null(v) if k in json_columns else v) for k, v in values.items()}
    await conn.execute(query, {**params, "tenancy_id": tenancy_id, "row_id": row_id})
