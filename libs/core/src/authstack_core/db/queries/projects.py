"""Project lookups."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from authstack_core.db.queries.run import changed, fetch_all, fetch_flag, fetch_one
from authstack_core.models.projects import LOGO_FIELDS, AdminProjectRow, ProjectRow

# One round trip per request: the project, its tenancy on the branch, and its live key hashes
# (one pass over the project's key sets), with how long the soonest-expiring of them stays live.
SELECT_PROJECT_FOR_REQUEST = """
SELECT p.id, p.display_name, p.description, p.is_production_mode, p.owner_team_id,
       p.config_override, p.created_at, t.id AS tenancy_id,
       coalesce(t.branch_config_override, '{}') AS branch_config_override,
       coalesce(t.environment_config_override, '{}') AS environment_config_override,
       coalesce(k.pck, '{}') AS publishable_client_key_hashes,
       coalesce(k.ssk, '{}') AS secret_server_key_hashes,
       coalesce(k.sak, '{}') AS super_secret_admin_key_hashes,
       k.keys_valid_for_seconds
FROM projects p
LEFT JOIN tenancies t ON t.project_id = p.id AND t.branch_id = %(branch_id)s
CROSS JOIN LATERAL (
    SELECT array_agg(s.publishable_client_key_hash)
               FILTER (WHERE s.publishable_client_key_hash IS NOT NULL) AS pck,
           array_agg(s.secret_server_key_hash)
               FILTER (WHERE s.secret_server_key_hash IS NOT NULL) AS ssk,
           array_agg(s.super_secret_admin_key_hash)
               FILTER (WHERE s.super_secret_admin_key_hash IS NOT NULL) AS sak,
           extract(epoch FROM min(s.expires_at) - now())::float8 AS keys_valid_for_seconds
    FROM api_key_sets s
    WHERE s.project_id = p.id AND s.manually_revoked_at IS NULL
      AND (s.expires_at IS NULL OR s.expires_at > now())
) k
WHERE p.id = %(project_id)s
"""


async def select_project_for_request(
    conn: AsyncConnection[Any], project_id: str, branch_id: str
) -> ProjectRow | None:
    return await fetch_one(
        conn, ProjectRow, SELECT_PROJECT_FOR_REQUEST, project_id=project_id, branch_id=branch_id
    )


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
    return await fetch_flag(conn, SELECT_IS_TEAM_MEMBER, team_id=team_id, user_id=user_id)


SELECT_USER_EXISTS = (
    "SELECT EXISTS (SELECT 1 FROM users WHERE tenancy_id = %(tenancy_id)s AND id = %(user_id)s)"
)


async def select_user_exists(conn: AsyncConnection[Any], tenancy_id: Any, user_id: str) -> bool:
    return await fetch_flag(conn, SELECT_USER_EXISTS, tenancy_id=tenancy_id, user_id=user_id)


# With the config levels of the main branch (the one the admin project object describes).
_ADMIN_COLUMNS = """
SELECT p.id, p.display_name, p.description, p.is_production_mode, p.owner_team_id,
       p.config_override, p.created_at, p.logo_url, p.logo_full_url, p.logo_dark_mode_url,
       p.logo_full_dark_mode_url, p.is_development_environment, p.onboarding_status,
       coalesce(t.branch_config_override, '{}') AS branch_config_override,
       coalesce(t.environment_config_override, '{}') AS environment_config_override
FROM projects p
LEFT JOIN tenancies t ON t.project_id = p.id AND t.branch_id = 'main'
"""
# Projects owned by any internal team the user is a member of.
SELECT_OWNED_PROJECTS = (
    _ADMIN_COLUMNS
    + """WHERE p.owner_team_id IN (
    SELECT m.team_id FROM team_members m JOIN tenancies t ON t.id = m.tenancy_id
    WHERE t.project_id = 'internal' AND t.branch_id = 'main' AND m.user_id = %(user_id)s)
ORDER BY p.created_at, p.id
"""
)


async def select_owned_projects(conn: AsyncConnection[Any], user_id: str) -> list[AdminProjectRow]:
    return await fetch_all(conn, AdminProjectRow, SELECT_OWNED_PROJECTS, user_id=user_id)


SELECT_PROJECT = _ADMIN_COLUMNS + "WHERE p.id = %(project_id)s"
SELECT_PROJECT_FOR_UPDATE = SELECT_PROJECT + " FOR UPDATE OF p"


async def select_project(conn: AsyncConnection[Any], project_id: str) -> AdminProjectRow | None:
    return await fetch_one(conn, AdminProjectRow, SELECT_PROJECT, project_id=project_id)


async def select_project_for_update(
    conn: AsyncConnection[Any], project_id: str
) -> AdminProjectRow | None:
    """The project row, locked until the transaction ends (read-modify-write of its config)."""
    return await fetch_one(conn, AdminProjectRow, SELECT_PROJECT_FOR_UPDATE, project_id=project_id)


INSERT_PROJECT = """
INSERT INTO projects (id, display_name, owner_team_id, is_development_environment)
VALUES (%(id)s, %(display_name)s, %(owner_team_id)s, %(is_development_environment)s)
"""
INSERT_TENANCY = """
INSERT INTO tenancies (id, project_id, branch_id, environment_config_override)
VALUES (%(id)s, %(project_id)s, 'main', %(environment_config_override)s)
"""


async def insert_project(
    conn: AsyncConnection[Any],
    project_id: str,
    *,
    display_name: str,
    owner_team_id: str,
    is_development_environment: bool,
    environment_config_override: dict[str, Any],
) -> None:
    """Insert a project and its main-branch tenancy, whose environment level holds the config
    the project starts with. The other plain fields keep their defaults (see update_project)."""
    await conn.execute(
        INSERT_PROJECT,
        {
            "id": project_id,
            "display_name": display_name,
            "owner_team_id": owner_team_id,
            "is_development_environment": is_development_environment,
        },
    )
    await conn.execute(
        INSERT_TENANCY,
        {
            "id": uuid.uuid4(),
            "project_id": project_id,
            "environment_config_override": Jsonb(environment_config_override),
        },
    )


UPDATE_PROJECT = """
UPDATE projects
SET display_name = %(display_name)s, description = %(description)s,
    is_production_mode = %(is_production_mode)s, logo_url = %(logo_url)s,
    logo_full_url = %(logo_full_url)s, logo_dark_mode_url = %(logo_dark_mode_url)s,
    logo_full_dark_mode_url = %(logo_full_dark_mode_url)s,
    onboarding_status = %(onboarding_status)s, updated_at = now()
WHERE id = %(project_id)s
"""


async def update_project(conn: AsyncConnection[Any], row: AdminProjectRow) -> None:
    """Write the plain fields of the project (its config is written level by level)."""
    await conn.execute(
        UPDATE_PROJECT,
        {
            "project_id": row.id,
            "display_name": row.display_name,
            "description": row.description,
            "is_production_mode": row.is_production_mode,
            **{name: getattr(row, name) for name in LOGO_FIELDS},
            "onboarding_status": row.onboarding_status,
        },
    )


UPDATE_OWNER_TEAM = """
UPDATE projects SET owner_team_id = %(team_id)s, updated_at = now() WHERE id = %(project_id)s
"""


async def update_owner_team(conn: AsyncConnection[Any], project_id: str, team_id: str) -> None:
    await conn.execute(UPDATE_OWNER_TEAM, {"project_id": project_id, "team_id": team_id})


DELETE_PROJECT = "DELETE FROM projects WHERE id = %(project_id)s"


async def delete_project(conn: AsyncConnection[Any], project_id: str) -> bool:
    """Delete a project; tenancies, key sets, users and codes go with it (ON DELETE CASCADE)."""
    return await changed(conn, DELETE_PROJECT, project_id=project_id)


COUNT_USERS = "SELECT count(*) FROM users WHERE tenancy_id = %(tenancy_id)s"


async def count_users(conn: AsyncConnection[Any], tenancy_id: uuid.UUID) -> int:
    cur = await conn.execute(COUNT_USERS, {"tenancy_id": tenancy_id})
    row = await cur.fetchone()
    return int(row[0]) if row else 0
