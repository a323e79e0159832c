"""Notification preferences SQL: a user's choices, and the one-time record of a used unsubscribe
link."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import fetch_flag, fetch_value

SELECT_PREFERENCES = """
SELECT notification_category_id, enabled FROM notification_preferences
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s
"""


async def select_preferences(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str | uuid.UUID
) -> dict[uuid.UUID, bool]:
    """The categories the user chose for, and the choice (absent: the category's default)."""
    cur = await conn.execute(SELECT_PREFERENCES, {"tenancy_id": tenancy_id, "user_id": user_id})
    return {row[0]: row[1] for row in await cur.fetchall()}


UPSERT_PREFERENCE = """
INSERT INTO notification_preferences (tenancy_id, user_id, notification_category_id, enabled)
SELECT %(tenancy_id)s, %(user_id)s, %(category_id)s, %(enabled)s
WHERE EXISTS (SELECT 1 FROM users WHERE tenancy_id = %(tenancy_id)s AND id = %(user_id)s)
ON CONFLICT (tenancy_id, user_id, notification_category_id)
DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()
RETURNING enabled
"""


async def upsert_preference(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    user_id: str | uuid.UUID,
    category_id: uuid.UUID,
    *,
    enabled: bool,
) -> bool:
    """Store the user's choice; False when the user does not exist (nothing is written)."""
    stored = await fetch_value(
        conn,
        bool,
        UPSERT_PREFERENCE,
        tenancy_id=tenancy_id,
        user_id=user_id,
        category_id=category_id,
        enabled=enabled,
    )
    return stored is not None


SELECT_LINK_USED = """
SELECT EXISTS (SELECT 1 FROM email_unsubscribe_uses
               WHERE tenancy_id = %(tenancy_id)s AND link_id = %(link_id)s)
"""


async def select_link_used(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, link_id: uuid.UUID
) -> bool:
    return await fetch_flag(conn, SELECT_LINK_USED, tenancy_id=tenancy_id, link_id=link_id)


# The first use wins: a concurrent second one waits on the key, then inserts nothing.
INSERT_LINK_USE = """
INSERT INTO email_unsubscribe_uses (tenancy_id, link_id, user_id)
SELECT %(tenancy_id)s, %(link_id)s, %(user_id)s
WHERE EXISTS (SELECT 1 FROM users WHERE tenancy_id = %(tenancy_id)s AND id = %(user_id)s)
ON CONFLICT (tenancy_id, link_id) DO NOTHING
RETURNING link_id
"""


async def insert_link_use(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, link_id: uuid.UUID, user_id: uuid.UUID
) -> bool:
    """Record the link as used; False if it was used before or its user is gone."""
    used = await fetch_value(
        conn, uuid.UUID, INSERT_LINK_USE, tenancy_id=tenancy_id, link_id=link_id, user_id=user_id
    )
    return used is not None


SELECT_PROJECT_DISPLAY_NAME = """
SELECT p.display_name FROM tenancies t JOIN projects p ON p.id = t.project_id
WHERE t.id = %(tenancy_id)s
"""


async def select_project_display_name(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID
) -> str | None:
    """The display name of the tenancy's project; None when the tenancy is gone."""
    return await fetch_value(conn, str, SELECT_PROJECT_DISPLAY_NAME, tenancy_id=tenancy_id)
