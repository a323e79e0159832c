"""Stored images: the records of objects no row may refer to, and the image columns' locks."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import changed, fetch_flag, fetch_value

INSERT_UNATTACHED = """
INSERT INTO unattached_objects (key, project_id) VALUES (%(key)s, %(project_id)s)
ON CONFLICT (key) DO NOTHING
"""


async def insert_unattached(conn: AsyncConnection[Any], key: str, project_id: str) -> None:
    await conn.execute(INSERT_UNATTACHED, {"key": key, "project_id": project_id})


DELETE_UNATTACHED = "DELETE FROM unattached_objects WHERE key = ANY(%(keys)s)"


async def delete_unattached(conn: AsyncConnection[Any], keys: list[str]) -> None:
    if keys:
        await changed(conn, DELETE_UNATTACHED, keys=keys)


SELECT_ORPHANS = """
SELECT key, project_id FROM unattached_objects
WHERE created_at < now() - make_interval(secs => %(age_s)s)
ORDER BY created_at LIMIT %(limit)s
"""


async def select_orphans(
    conn: AsyncConnection[Any], *, age_s: float, limit: int
) -> list[tuple[str, str]]:
    """(key, project id) of the objects recorded longer ago than ``age_s``, oldest first."""
    cur = await conn.execute(SELECT_ORPHANS, {"age_s": age_s, "limit": limit})
    return [(row[0], row[1]) for row in await cur.fetchall()]


# Whether any image column of the project holds ``url``: a server may have copied one of our
# URLs into another field, and that field must keep its image. Scans the project's rows of each
# table (by the leading tenancy column), which only a replacement or deletion pays for.
SELECT_IS_REFERENCED = """
SELECT EXISTS (SELECT 1 FROM users u JOIN tenancies t ON t.id = u.tenancy_id
               WHERE t.project_id = %(project_id)s AND u.profile_image_url = %(url)s)
    OR EXISTS (SELECT 1 FROM teams m JOIN tenancies t ON t.id = m.tenancy_id
               WHERE t.project_id = %(project_id)s AND m.profile_image_url = %(url)s)
    OR EXISTS (SELECT 1 FROM team_members m JOIN tenancies t ON t.id = m.tenancy_id
               WHERE t.project_id = %(project_id)s AND m.profile_image_url = %(url)s)
    OR EXISTS (SELECT 1 FROM projects p WHERE p.id = %(project_id)s AND %(url)s IN
               (p.logo_url, p.logo_full_url, p.logo_dark_mode_url, p.logo_full_dark_mode_url))
"""


async def select_is_referenced(conn: AsyncConnection[Any], project_id: str, url: str) -> bool:
    return await fetch_flag(conn, SELECT_IS_REFERENCED, project_id=project_id, url=url)


# The image columns a write is about to replace, locked so that a concurrent write to the same
# row cannot replace them too and leave one of the two new images unreferenced.
LOCK_USER_IMAGE = """
SELECT profile_image_url FROM users
WHERE tenancy_id = %(tenancy_id)s AND id = %(user_id)s FOR UPDATE
"""


async def lock_user_image(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str
) -> str | None:
    return await fetch_value(conn, str, LOCK_USER_IMAGE, tenancy_id=tenancy_id, user_id=user_id)


LOCK_TEAM_IMAGE = """
SELECT profile_image_url FROM teams
WHERE tenancy_id = %(tenancy_id)s AND id = %(team_id)s FOR UPDATE
"""


async def lock_team_image(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, team_id: str
) -> str | None:
    return await fetch_value(conn, str, LOCK_TEAM_IMAGE, tenancy_id=tenancy_id, team_id=team_id)


# Member images of one team or of one user (the other id None), for a write that drops them.
LOCK_MEMBER_IMAGES = """
SELECT profile_image_url FROM team_members
WHERE tenancy_id = %(tenancy_id)s AND profile_image_url IS NOT NULL
  AND (%(team_id)s::uuid IS NULL OR team_id = %(team_id)s::uuid)
  AND (%(user_id)s::uuid IS NULL OR user_id = %(user_id)s::uuid)
FOR UPDATE
"""


async def lock_member_images(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    *,
    team_id: str | None = None,
    user_id: str | None = None,
) -> list[str]:
    cur = await conn.execute(
        LOCK_MEMBER_IMAGES, {"tenancy_id": tenancy_id, "team_id": team_id, "user_id": user_id}
    )
    return [row[0] for row in await cur.fetchall()]
