"""Project key set SQL (``api_key_sets``): keys are stored as SHA-256 hashes plus last four."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import fetch_all, fetch_one
from authstack_core.models.key_sets import ApiKeySetRow

_COLUMNS = """
SELECT id, description, expires_at, manually_revoked_at, created_at,
       publishable_client_key_last4, secret_server_key_last4, super_secret_admin_key_last4
FROM api_key_sets
"""
SELECT_KEY_SETS = _COLUMNS + "WHERE project_id = %(project_id)s ORDER BY created_at DESC, id"
SELECT_KEY_SET = _COLUMNS + "WHERE project_id = %(project_id)s AND id = %(id)s"


async def select_key_sets(conn: AsyncConnection[Any], project_id: str) -> list[ApiKeySetRow]:
    return await fetch_all(conn, ApiKeySetRow, SELECT_KEY_SETS, project_id=project_id)


async def select_key_set(
    conn: AsyncConnection[Any], project_id: str, key_set_id: str
) -> ApiKeySetRow | None:
    return await fetch_one(conn, ApiKeySetRow, SELECT_KEY_SET, project_id=project_id, id=key_set_id)


INSERT_KEY_SET = """
INSERT INTO api_key_sets (project_id, id, description, expires_at,
    publishable_client_key_hash, publishable_client_key_last4,
    secret_server_key_hash, secret_server_key_last4,
    super_secret_admin_key_hash, super_secret_admin_key_last4)
VALUES (%(project_id)s, %(id)s, %(description)s, %(expires_at)s,
    %(pck_hash)s, %(pck_last4)s, %(ssk_hash)s, %(ssk_last4)s, %(sak_hash)s, %(sak_last4)s)
"""


async def insert_key_set(
    conn: AsyncConnection[Any],
    project_id: str,
    key_set_id: uuid.UUID,
    *,
    description: str,
    expires_at: datetime,
    hashes: dict[str, tuple[bytes, str] | None],
) -> None:
    """``hashes`` maps pck/ssk/sak to (sha256, last four) or None for a key not in the set."""
    params: dict[str, Any] = {
        "project_id": project_id,
        "id": key_set_id,
        "description": description,
        "expires_at": expires_at,
    }
    for prefix in ("pck", "ssk", "sak"):
        pair = hashes.get(prefix)
        params[f"{prefix}_hash"] = pair[0] if pair else None
        params[f"{prefix}_last4"] = pair[1] if pair else None
    await conn.execute(INSERT_KEY_SET, params)


UPDATE_DESCRIPTION = """
UPDATE api_key_sets SET description = %(description)s
WHERE project_id = %(project_id)s AND id = %(id)s
"""
# Revoking twice keeps the first revocation time.
REVOKE_KEY_SET = """
UPDATE api_key_sets SET manually_revoked_at = coalesce(manually_revoked_at, now())
WHERE project_id = %(project_id)s AND id = %(id)s
"""


async def update_description(
    conn: AsyncConnection[Any], project_id: str, key_set_id: str, description: str
) -> None:
    await conn.execute(
        UPDATE_DESCRIPTION, {"project_id": project_id, "id": key_set_id, "description": description}
    )


async def revoke_key_set(conn: AsyncConnection[Any], project_id: str, key_set_id: str) -> None:
    await conn.execute(REVOKE_KEY_SET, {"project_id": project_id, "id": key_set_id})
