"""Refresh-token (session) SQL. Tokens are looked up by their SHA-256 only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from authstack_core.db.queries.run import changed, fetch_all, fetch_one, fetch_value
from authstack_core.db.queries.users import PRIMARY_EMAIL_AND_SELECTED_TEAM
from authstack_core.models.sessions import SessionRow, TokenClaimsRow

INSERT_REFRESH_TOKEN = """
INSERT INTO refresh_tokens (tenancy_id, id, user_id, token_hash, expires_at, is_impersonation)
VALUES (%(tenancy_id)s, %(id)s, %(user_id)s, %(token_hash)s, %(expires_at)s, %(is_impersonation)s)
"""


async def insert_refresh_token(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    session_id: uuid.UUID,
    user_id: str | uuid.UUID,
    token_hash: bytes,
    expires_at: datetime | None,
    *,
    is_impersonation: bool,
) -> None:
    await conn.execute(
        INSERT_REFRESH_TOKEN,
        {
            "tenancy_id": tenancy_id,
            "id": session_id,
            "user_id": user_id,
            "token_hash": token_hash,
            "expires_at": expires_at,
            "is_impersonation": is_impersonation,
        },
    )


_CLAIMS_SELECT = """
SELECT rt.id::text AS refresh_token_id, u.id::text AS user_id, u.display_name,
       cc.value AS primary_email, coalesce(cc.is_verified, false) AS primary_email_verified,
       tm.team_id::text AS selected_team_id, u.signed_up_at, u.is_anonymous,
       u.restricted_by_admin, u.requires_totp_mfa, rt.is_impersonation
"""

# Marks the session and its user active and returns the token claims in one round trip.
# (Concatenation of constant fragments only; every value is a bound parameter.)
REFRESH = (
    """
WITH rt AS (
    SELECT id, user_id, tenancy_id, last_active_at, is_impersonation FROM refresh_tokens
    WHERE tenancy_id = %(tenancy_id)s AND token_hash = %(token_hash)s
      AND (expires_at IS NULL OR expires_at > now())
), touched AS (
    UPDATE refresh_tokens r SET last_active_at = now(),
           last_active_ip_info = coalesce(%(ip_info)s, r.last_active_ip_info)
    FROM rt WHERE r.tenancy_id = rt.tenancy_id AND r.id = rt.id
      AND (rt.last_active_at < now() - interval '60 seconds' OR %(ip_info)s::jsonb IS NOT NULL)
    RETURNING r.user_id, r.tenancy_id
), touched_user AS (
    UPDATE users SET last_active_at = now()
    FROM touched WHERE users.tenancy_id = touched.tenancy_id AND users.id = touched.user_id
)"""
    + _CLAIMS_SELECT
    + "FROM rt JOIN users u ON u.tenancy_id = rt.tenancy_id AND u.id = rt.user_id"
    + PRIMARY_EMAIL_AND_SELECTED_TEAM
)


async def refresh(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    token_hash: bytes,
    ip_info: dict[str, Any] | None,
) -> TokenClaimsRow | None:
    """Claims for a live refresh token, touching its activity; None when invalid or expired."""
    return await fetch_one(
        conn,
        TokenClaimsRow,
        REFRESH,
        tenancy_id=tenancy_id,
        token_hash=token_hash,
        ip_info=Jsonb(ip_info) if ip_info else None,
    )


SELECT_CLAIMS_FOR_SESSION = (
    _CLAIMS_SELECT
    + """FROM refresh_tokens rt
JOIN users u ON u.tenancy_id = rt.tenancy_id AND u.id = rt.user_id"""
    + PRIMARY_EMAIL_AND_SELECTED_TEAM
    + "WHERE rt.tenancy_id = %(tenancy_id)s AND rt.id = %(session_id)s"
)


async def select_claims_for_session(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, session_id: uuid.UUID
) -> TokenClaimsRow | None:
    return await fetch_one(
        conn,
        TokenClaimsRow,
        SELECT_CLAIMS_FOR_SESSION,
        tenancy_id=tenancy_id,
        session_id=session_id,
    )


SELECT_SESSION_BY_HASH = """
SELECT id::text FROM refresh_tokens
WHERE tenancy_id = %(tenancy_id)s AND token_hash = %(token_hash)s
"""


async def select_session_id_by_hash(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, token_hash: bytes
) -> str | None:
    return await fetch_value(
        conn, str, SELECT_SESSION_BY_HASH, tenancy_id=tenancy_id, token_hash=token_hash
    )


SELECT_SESSIONS = """
SELECT id::text, user_id::text, created_at, last_active_at, is_impersonation, last_active_ip_info
FROM refresh_tokens
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s
  AND (expires_at IS NULL OR expires_at > now())
  AND (%(include_impersonation)s OR NOT is_impersonation)
ORDER BY created_at DESC, id
"""


async def select_sessions(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, *, include_impersonation: bool
) -> list[SessionRow]:
    return await fetch_all(
        conn,
        SessionRow,
        SELECT_SESSIONS,
        tenancy_id=tenancy_id,
        user_id=user_id,
        include_impersonation=include_impersonation,
    )


SELECT_SESSION_OWNER = """
SELECT user_id::text FROM refresh_tokens WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s
"""
DELETE_SESSION = "DELETE FROM refresh_tokens WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s"


async def select_session_owner(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, session_id: str
) -> str | None:
    return await fetch_value(conn, str, SELECT_SESSION_OWNER, tenancy_id=tenancy_id, id=session_id)


async def delete_session(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, session_id: str
) -> bool:
    return await changed(conn, DELETE_SESSION, tenancy_id=tenancy_id, id=session_id)


DELETE_USER_SESSIONS_EXCEPT = """
DELETE FROM refresh_tokens
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s
  AND (%(keep_id)s::uuid IS NULL OR id <> %(keep_id)s::uuid)
"""


async def delete_user_sessions(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, *, keep_id: str | None = None
) -> int:
    """Revoke every session of a user except ``keep_id``; returns how many were revoked."""
    cur = await conn.execute(
        DELETE_USER_SESSIONS_EXCEPT,
        {"tenancy_id": tenancy_id, "user_id": user_id, "keep_id": keep_id},
    )
    return cur.rowcount
