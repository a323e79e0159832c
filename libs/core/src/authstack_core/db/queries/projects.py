"""Project lookups."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import class_row

from authstack_core.models.projects import ProjectRow

# One round trip per request: the project, its tenancy on the branch, and its live key hashes.
SELECT_PROJECT_FOR_REQUEST = """
SELECT p.id, p.display_name, p.description, p.is_production_mode, p.owner_team_id,
       p.config_override, p.created_at, t.id AS tenancy_id,
       ARRAY(SELECT k.publishable_client_key_hash FROM api_key_sets k WHERE k.project_id = p.id
             AND k.publishable_client_key_hash IS NOT NULL AND k.manually_revoked_at IS NULL
             AND (k.expires_at IS NULL OR k.expires_at > now())) AS publishable_client_key_hashes,
       ARRAY(SELECT k.secret_server_key_hash FROM api_key_sets k WHERE k.project_id = p.id
             AND k.secret_server_key_hash IS NOT NULL AND k.manually_revoked_at IS NULL
             AND (k.expires_at IS NULL OR k.expires_at > now())) AS secret_server_key_hashes,
       ARRAY(SELECT k.super_secret_admin_key_hash FROM api_key_sets k WHERE k.project_id = p.id
             AND k.super_secret_admin_key_hash IS NOT NULL AND k.manually_revoked_at IS NULL
             AND (k.expires_at IS NULL OR k.expires_at > now())) AS super_secret_admin_key_hashes
FROM projects p
LEFT JOIN tenancies t ON t.project_id = p.id AND t.branch_id = %(branch_id)s
WHERE p.id = %(project_id)s
"""


async def select_project_for_request(
    conn: AsyncConnection[Any], project_id: str, branch_id: str
) -> ProjectRow | None:
    async with conn.cursor(row_factory=class_row(ProjectRow)) as cur:
        await cur.execute(
            SELECT_PROJECT_FOR_REQUEST, {"project_id": project_id, "branch_id": branch_id}
        )
        return await cur.fetchone()


SELECT_IS_TEAM_MEMBER = """
SELECT EXISTS (
    SELECT 1 FROM team_members m JOIN tenancies t ON t.id = m.tenancy_id
    WHERE t.project_id = 'internal' AND t.branch_id = 'main'
      AND m.team_id = %(team_id)s AND m.user_id = %(user_id)s
)
"""


async def select_is_internal_team_member(
    conn: AsyncConnection[Any], team_id: str, user_id: str
) -> bool:
    """Whether an internal-project user belongs to the given internal team (a project owner)."""
    cur = await conn.execute(SELECT_IS_TEAM_MEMBER, {"team_id": team_id, "user_id": user_id})
    row = await cur.fetchone()
    return bool(row and row[0])


SELECT_USER_EXISTS = (
    "SELECT EXISTS (SELECT 1 FROM users WHERE tenancy_id = %(tenancy_id)s AND id = %(user_id)s)"
)


async def select_user_exists(conn: AsyncConnection[Any], tenancy_id: Any, user_id: str) -> bool:
    cur = await conn.execute(SELECT_USER_EXISTS, {"tenancy_id": tenancy_id, "user_id": user_id})
    row = await cur.fetchone()
    return bool(row and row[0])
