"""Permission grant SQL (team and project scope) and the locked config read/write that
definition edits need. Definitions themselves live in the project's config override."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection, sql

from authstack_core.db.queries.run import changed

SELECT_TEAM_GRANTS = """
SELECT team_id::text, user_id::text, permission_id FROM team_member_permissions
WHERE tenancy_id = %(tenancy_id)s
  AND (%(team_id)s::uuid IS NULL OR team_id = %(team_id)s::uuid)
  AND (%(user_id)s::uuid IS NULL OR user_id = %(user_id)s::uuid)
"""


async def select_team_grants(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    *,
    team_id: str | None,
    user_id: str | None,
) -> list[tuple[str, str, str]]:
    """Direct team grants as (team id, user id, permission id)."""
    cur = await conn.execute(
        SELECT_TEAM_GRANTS, {"tenancy_id": tenancy_id, "team_id": team_id, "user_id": user_id}
    )
    return [(r[0], r[1], r[2]) for r in await cur.fetchall()]


class _GrantTable:
    """One scope's grant table, whose rows are (tenancy, holder..., permission): a team grant is
    held by a member (``team_id``, ``user_id``), a project grant by a user (``user_id``)."""

    def __init__(self, table: str, *holder: str) -> None:
        self.holder = holder
        name = sql.Identifier(table)
        cols = ("tenancy_id", *holder, "permission_id")
        row = sql.SQL(", ").join([sql.Identifier(col) for col in cols])
        values = sql.SQL(", ").join([sql.Placeholder(col) for col in cols])
        self._insert = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
            name, row, values
        )
        self._delete = sql.SQL("DELETE FROM {} WHERE ({}) = ({})").format(name, row, values)
        self.rename = sql.SQL(
            "UPDATE {} SET permission_id = %(new_id)s"
            " WHERE tenancy_id = %(tenancy_id)s AND permission_id = %(old_id)s"
        ).format(name)
        self.delete_all_of = sql.SQL(
            "DELETE FROM {} WHERE tenancy_id = %(tenancy_id)s AND permission_id = %(permission_id)s"
        ).format(name)

    async def write(
        self,
        conn: AsyncConnection[Any],
        tenancy_id: uuid.UUID,
        holder: tuple[str | uuid.UUID, ...],
        permission_id: str,
        *,
        granted: bool,
    ) -> bool:
        """Grant ``permission_id`` to ``holder`` (its columns' values, in order) or revoke it;
        False when that changed nothing (already granted, or there was no such grant)."""
        row = {"tenancy_id": tenancy_id, **dict(zip(self.holder, holder, strict=True))}
        statement = self._insert if granted else self._delete
        return await changed(conn, statement, **row, permission_id=permission_id)


_TEAM_GRANTS = _GrantTable("team_member_permissions", "team_id", "user_id")
_PROJECT_GRANTS = _GrantTable("project_user_permissions", "user_id")
_GRANT_TABLES = (_TEAM_GRANTS, _PROJECT_GRANTS)


async def insert_team_grant(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    team_id: str | uuid.UUID,
    user_id: str | uuid.UUID,
    permission_id: str,
) -> bool:
    """Grant directly (the membership must exist); False if it was already granted."""
    return await _TEAM_GRANTS.write(
        conn, tenancy_id, (team_id, user_id), permission_id, granted=True
    )


async def delete_team_grant(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    team_id: str,
    user_id: str,
    permission_id: str,
) -> bool:
    return await _TEAM_GRANTS.write(
        conn, tenancy_id, (team_id, user_id), permission_id, granted=False
    )


SELECT_PROJECT_GRANTS = """
SELECT user_id::text, permission_id FROM project_user_permissions
WHERE tenancy_id = %(tenancy_id)s AND (%(user_id)s::uuid IS NULL OR user_id = %(user_id)s::uuid)
"""


async def select_project_grants(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, *, user_id: str | None
) -> list[tuple[str, str]]:
    """Direct project grants as (user id, permission id)."""
    cur = await conn.execute(SELECT_PROJECT_GRANTS, {"tenancy_id": tenancy_id, "user_id": user_id})
    return [(r[0], r[1]) for r in await cur.fetchall()]


async def insert_project_grant(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str | uuid.UUID, permission_id: str
) -> bool:
    return await _PROJECT_GRANTS.write(conn, tenancy_id, (user_id,), permission_id, granted=True)


async def delete_project_grant(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, permission_id: str
) -> bool:
    return await _PROJECT_GRANTS.write(conn, tenancy_id, (user_id,), permission_id, granted=False)


async def rename_grants(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, old_id: str, new_id: str
) -> None:
    """Follow a definition's rename in every grant of the tenancy (the new id is unused)."""
    for grants in _GRANT_TABLES:
        await conn.execute(
            grants.rename, {"tenancy_id": tenancy_id, "old_id": old_id, "new_id": new_id}
        )


async def delete_grants_of(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, permission_id: str
) -> None:
    """Drop every grant of a definition that is being deleted."""
    for grants in _GRANT_TABLES:
        await conn.execute(
            grants.delete_all_of, {"tenancy_id": tenancy_id, "permission_id": permission_id}
        )
