"""Team, membership and member-profile SQL. Every statement is scoped by tenancy."""

from __future__ import annotations

import uuid
from typing import Any

from msgspec import UNSET
from psycopg import AsyncConnection, sql

from authstack_core.db.queries.pages import Keyset, contains_pattern
from authstack_core.db.queries.patch import METADATA_COLUMNS, profile_params, update_columns
from authstack_core.db.queries.run import changed, fetch_one
from authstack_core.models.teams import MemberProfileChanges, NewTeam, TeamChanges, TeamRow

_SELECT_TEAMS = """
SELECT t.id::text AS id, t.display_name, t.profile_image_url, t.client_metadata,
       t.client_read_only_metadata, t.server_metadata, t.created_at
FROM teams t
"""

INSERT_TEAM = """
INSERT INTO teams (tenancy_id, id, display_name, profile_image_url, client_metadata,
                   client_read_only_metadata, server_metadata)
VALUES (%(tenancy_id)s, %(id)s, %(display_name)s, %(profile_image_url)s, %(client_metadata)s,
        %(client_read_only_metadata)s, %(server_metadata)s)
"""


async def insert_team(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, team_id: uuid.UUID, new: NewTeam
) -> None:
    params = {"tenancy_id": tenancy_id, "id": team_id, **profile_params(new)}
    await conn.execute(INSERT_TEAM, params)


SELECT_TEAM = _SELECT_TEAMS + "WHERE t.tenancy_id = %(tenancy_id)s AND t.id = %(team_id)s"


async def select_team(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, team_id: str | uuid.UUID
) -> TeamRow | None:
    return await fetch_one(conn, TeamRow, SELECT_TEAM, tenancy_id=tenancy_id, team_id=team_id)


_LIST_WHERE = """
WHERE t.tenancy_id = %(tenancy_id)s
  AND (%(user_id)s::uuid IS NULL OR EXISTS (
        SELECT 1 FROM team_members m
        WHERE m.tenancy_id = t.tenancy_id AND m.team_id = t.id AND m.user_id = %(user_id)s::uuid))
  AND (%(query)s::text IS NULL OR t.id::text = lower(%(query)s::text)
       OR t.display_name ILIKE %(pattern)s)
"""
_TEAM_PAGES = Keyset(
    _SELECT_TEAMS + _LIST_WHERE,
    sql.Identifier("t", "created_at"),
    sql.Identifier("t", "id"),
)


async def select_teams(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    *,
    user_id: str | None,
    query: str | None = None,
    desc: bool = False,
    cursor: TeamRow | None = None,
    limit: int | None = None,
) -> list[TeamRow]:
    """Teams of the tenancy (only ``user_id``'s if given) in creation order, from ``cursor``
    (inclusive), at most ``limit``; ``query`` matches the name (case-insensitively) or the id."""
    return await _TEAM_PAGES.fetch(
        conn,
        TeamRow,
        desc=desc,
        cursor=(cursor.created_at, cursor.id) if cursor else None,
        limit=limit,
        tenancy_id=tenancy_id,
        user_id=user_id,
        query=query,
        pattern=contains_pattern(query),
    )


SELECT_USER_TEAM_IDS = """
SELECT team_id::text FROM team_members
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s
ORDER BY created_at, team_id
"""


async def select_user_team_ids(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str
) -> list[str]:
    cur = await conn.execute(SELECT_USER_TEAM_IDS, {"tenancy_id": tenancy_id, "user_id": user_id})
    return [row[0] for row in await cur.fetchall()]


async def update_team_columns(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, team_id: str, changes: TeamChanges
) -> None:
    """Set the columns of ``changes`` that are not UNSET."""
    await update_columns(conn, "teams", tenancy_id, team_id, changes, json_columns=METADATA_COLUMNS)


RENAME_PERSONAL_TEAM = """
UPDATE teams t SET display_name = %(new_name)s
FROM team_members m
WHERE t.tenancy_id = %(tenancy_id)s AND m.tenancy_id = t.tenancy_id AND m.team_id = t.id
  AND m.user_id = %(user_id)s AND t.display_name = %(old_name)s
"""


async def rename_user_teams_named(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, old_name: str, new_name: str
) -> None:
    """Rename the user's teams still called ``old_name`` (an anonymous user's personal team)."""
    await conn.execute(
        RENAME_PERSONAL_TEAM,
        {"tenancy_id": tenancy_id, "user_id": user_id, "old_name": old_name, "new_name": new_name},
    )


DELETE_TEAM = "DELETE FROM teams WHERE tenancy_id = %(tenancy_id)s AND id = %(team_id)s"


async def delete_team(conn: AsyncConnection[Any], tenancy_id: uuid.UUID, team_id: str) -> bool:
    """Delete a team and, by cascade, its memberships, their permissions and the team's keys."""
    return await changed(conn, DELETE_TEAM, tenancy_id=tenancy_id, team_id=team_id)


INSERT_MEMBER = """
INSERT INTO team_members (tenancy_id, team_id, user_id, is_selected)
VALUES (%(tenancy_id)s, %(team_id)s, %(user_id)s, %(selected)s)
ON CONFLICT (tenancy_id, team_id, user_id) DO NOTHING
"""


async def insert_member(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    team_id: str | uuid.UUID,
    user_id: str | uuid.UUID,
    *,
    selected: bool,
) -> bool:
    """Add a membership; False if it already existed."""
    return await changed(
        conn,
        INSERT_MEMBER,
        tenancy_id=tenancy_id,
        team_id=team_id,
        user_id=user_id,
        selected=selected,
    )


DELETE_MEMBER = """
DELETE FROM team_members
WHERE tenancy_id = %(tenancy_id)s AND team_id = %(team_id)s AND user_id = %(user_id)s
"""


async def delete_member(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, team_id: str, user_id: str
) -> bool:
    """Remove a membership and, by cascade, the member's team permissions."""
    return await changed(
        conn, DELETE_MEMBER, tenancy_id=tenancy_id, team_id=team_id, user_id=user_id
    )


SELECT_MEMBERS = """
SELECT m.team_id::text, m.user_id::text, m.display_name, m.profile_image_url
FROM team_members m
WHERE m.tenancy_id = %(tenancy_id)s
  AND (%(team_id)s::uuid IS NULL OR m.team_id = %(team_id)s::uuid)
  AND (%(user_id)s::uuid IS NULL OR m.user_id = %(user_id)s::uuid)
ORDER BY m.created_at, m.team_id, m.user_id
"""


async def select_members(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    *,
    team_id: str | None,
    user_id: str | None,
) -> list[tuple[str, str, str | None, str | None]]:
    """(team id, user id, profile display name, profile image) of matching memberships."""
    cur = await conn.execute(
        SELECT_MEMBERS, {"tenancy_id": tenancy_id, "team_id": team_id, "user_id": user_id}
    )
    return [(r[0], r[1], r[2], r[3]) for r in await cur.fetchall()]


UPDATE_MEMBER_PROFILE = """
UPDATE team_members
SET display_name = CASE WHEN %(set_name)s THEN %(display_name)s ELSE display_name END,
    profile_image_url = CASE WHEN %(set_image)s THEN %(profile_image_url)s
                             ELSE profile_image_url END
WHERE tenancy_id = %(tenancy_id)s AND team_id = %(team_id)s AND user_id = %(user_id)s
"""


async def update_member_profile(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    team_id: str,
    user_id: str,
    changes: MemberProfileChanges,
) -> None:
    """Set ``display_name`` and/or ``profile_image_url`` of a membership (None clears one)."""
    await conn.execute(
        UPDATE_MEMBER_PROFILE,
        {
            "tenancy_id": tenancy_id,
            "team_id": team_id,
            "user_id": user_id,
            "set_name": changes.display_name is not UNSET,
            "display_name": None if changes.display_name is UNSET else changes.display_name,
            "set_image": changes.profile_image_url is not UNSET,
            "profile_image_url": (
                None if changes.profile_image_url is UNSET else changes.profile_image_url
            ),
        },
    )
