"""Permission grant SQL (team and project scope) and the locked config read/write that
definition edits need. Definitions themselves live in the project's config override."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

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


INSERT_TEAM_GRANT = """
INSERT INTO team_member_permissions (tenancy_id, team_id, user_id, permission_id)
VALUES (%(tenancy_id)s, %(team_id)s, %(user_id)s, %(permission_id)s)
ON CONFLICT DO NOTHING
"""


async def insert_team_grant(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    team_id: str | uuid.UUID,
    user_id: str | uuid.UUID,
    permission_id: str,
) -> bool:
    """Grant directly (the membership must exist); False if it was already granted."""
    return await changed(
        conn,
        INSERT_TEAM_GRANT,
        tenancy_id=tenancy_id,
        team_id=team_id,
        user_id=user_id,
        permission_id=permission_id,
    )


DELETE_TEAM_GRANT = """
DELETE FROM team_member_permissions
WHERE tenancy_id = %(tenancy_id)s AND team_id = %(team_id)s AND user_id = %(user_id)s
  AND permission_id = %(permission_id)s
"""


async def delete_team_grant(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    team_id: str,
    user_id: str,
    permission_id: str,
) -> bool:
    return await changed(
        conn,
        DELETE_TEAM_GRANT,
        tenancy_id=tenancy_id,
        team_id=team_id,
        user_id=user_id,
        permission_id=permission_id,
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


INSERT_PROJECT_GRANT = """
INSERT INTO project_user_permissions (tenancy_id, user_id, permission_id)
VALUES (%(tenancy_id)s, %(user_id)s, %(permission_id)s)
ON CONFLICT DO NOTHING
"""


async def insert_project_grant(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str | uuid.UUID, permission_id: str
) -> bool:
    return await changed(
        conn,
        INSERT_PROJECT_GRANT,
        tenancy_id=tenancy_id,
        user_id=user_id,
        permission_id=permission_id,
    )


DELETE_PROJECT_GRANT = """
DELETE FROM project_user_permissions
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND permission_id = %(permission_id)s
"""


async def delete_project_grant(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, permission_id: str
) -> bool:
    return await changed(
        conn,
        DELETE_PROJECT_GRANT,
        tenancy_id=tenancy_id,
        user_id=user_id,
        permission_id=permission_id,
    )


RENAME_TEAM_GRANTS = """
UPDATE team_member_permissions SET permission_id = %(new_id)s
WHERE tenancy_id = %(tenancy_id)s AND permission_id = %(old_id)s
"""
RENAME_PROJECT_GRANTS = """
UPDATE project_user_permissions SET permission_id = %(new_id)s
WHERE tenancy_id = %(tenancy_id)s AND permission_id = %(old_id)s
"""


async def rename_grants(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, old_id: str, new_id: str
) -> None:
    """Follow a definition's rename in every grant of the tenancy (the new id is unused)."""
    params = {"tenancy_id": tenancy_id, "old_id": old_id, "new_id": new_id}
    await conn.execute(RENAME_TEAM_GRANTS, params)
    await conn.execute(RENAME_PROJECT_GRANTS, params)


DELETE_TEAM_GRANTS_OF = """
DELETE FROM team_member_permissions
WHERE tenancy_id = %(tenancy_id)s AND permission_id = %(permission_id)s
"""
DELETE_PROJECT_GRANTS_OF = """
DELETE FROM project_user_permissions
WHERE tenancy_id = %(tenancy_id)s AND permission_id = %(permission_id)s
"""


async def delete_grants_of(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, permission_id: str
) -> None:
    """Drop every grant of a definition that is being deleted."""
    params = {"tenancy_id": tenancy_id, "permission_id": permission_id}
    await conn.execute(DELETE_TEAM_GRANTS_OF, params)
    await conn.execute(DELETE_PROJECT_GRANTS_OF, params)
