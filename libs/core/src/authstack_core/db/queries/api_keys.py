"""User and team API key SQL. Keys are found by the SHA-256 of their full value only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import fetch_all, fetch_one
from authstack_core.models.api_keys import ApiKeyRow

_COLUMNS = """
SELECT id::text, user_id::text, team_id::text, description, is_public, last_four, expires_at,
       manually_revoked_at, created_at
FROM project_api_keys
"""

INSERT_KEY = """
INSERT INTO project_api_keys (tenancy_id, id, user_id, team_id, description, is_public, key_hash,
                              last_four, expires_at)
VALUES (%(tenancy_id)s, %(id)s, %(user_id)s, %(team_id)s, %(description)s, %(is_public)s,
        %(key_hash)s, %(last_four)s, %(expires_at)s)
"""


async def insert_key(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    key_id: uuid.UUID,
    *,
    user_id: str | None,
    team_id: str | None,
    description: str,
    is_public: bool,
    key_hash: bytes,
    last_four: str,
    expires_at: datetime | None,
) -> None:
    await conn.execute(
        INSERT_KEY,
        {
            "tenancy_id": tenancy_id,
            "id": key_id,
            "user_id": user_id,
            "team_id": team_id,
            "description": description,
            "is_public": is_public,
            "key_hash": key_hash,
            "last_four": last_four,
            "expires_at": expires_at,
        },
    )


SELECT_KEY = _COLUMNS + "WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s"


async def select_key(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, key_id: str
) -> ApiKeyRow | None:
    return await fetch_one(conn, ApiKeyRow, SELECT_KEY, tenancy_id=tenancy_id, id=key_id)


SELECT_KEY_BY_HASH = _COLUMNS + "WHERE tenancy_id = %(tenancy_id)s AND key_hash = %(key_hash)s"


async def select_key_by_hash(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, key_hash: bytes
) -> ApiKeyRow | None:
    return await fetch_one(
        conn, ApiKeyRow, SELECT_KEY_BY_HASH, tenancy_id=tenancy_id, key_hash=key_hash
    )


SELECT_KEYS = (
    _COLUMNS
    + """WHERE tenancy_id = %(tenancy_id)s
  AND (%(user_id)s::uuid IS NULL OR user_id = %(user_id)s::uuid)
  AND (%(team_id)s::uuid IS NULL OR team_id = %(team_id)s::uuid)
  AND ((%(key_type)s = 'user' AND user_id IS NOT NULL)
       OR (%(key_type)s = 'team' AND team_id IS NOT NULL))
ORDER BY created_at DESC, id"""
)


async def select_keys(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    *,
    key_type: str,
    user_id: str | None,
    team_id: str | None,
) -> list[ApiKeyRow]:
    """Keys of one type, newest first, optionally only one owner's."""
    return await fetch_all(
        conn,
        ApiKeyRow,
        SELECT_KEYS,
        tenancy_id=tenancy_id,
        key_type=key_type,
        user_id=user_id,
        team_id=team_id,
    )


UPDATE_KEY = """
UPDATE project_api_keys
SET description = coalesce(%(description)s, description),
    expires_at = CASE WHEN %(set_expiry)s THEN %(expires_at)s ELSE expires_at END,
    manually_revoked_at = CASE WHEN %(revoke)s THEN coalesce(manually_revoked_at, now())
                               ELSE manually_revoked_at END
WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s
"""


async def update_key(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    key_id: str,
    *,
    description: str | None,
    set_expiry: bool,
    expires_at: datetime | None,
    revoke: bool,
) -> None:
    """Change the description, the expiry (if ``set_expiry``) and/or revoke (a revocation keeps
    its first timestamp)."""
    await conn.execute(
        UPDATE_KEY,
        {
            "tenancy_id": tenancy_id,
            "id": key_id,
            "description": description,
            "set_expiry": set_expiry,
            "expires_at": expires_at,
            "revoke": revoke,
        },
    )
