"""CLI sign-in SQL. Both codes are found by their SHA-256 within the tenancy, never by value.

Each step that changes an attempt is one conditional UPDATE, so two requests racing on the same
attempt cannot both pass: the second waits for the first's row lock, then re-checks the WHERE.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import fetch_one, fetch_value
from authstack_core.models.cli_auth import AttemptState, LiveSession, PendingAttempt

INSERT_ATTEMPT = """
INSERT INTO cli_auth_attempts
    (tenancy_id, id, polling_code_hash, login_code_hash, anon_refresh_token_id, expires_at)
VALUES (%(tenancy_id)s, %(id)s, %(polling_code_hash)s, %(login_code_hash)s,
    %(anon_refresh_token_id)s, now() + %(lifetime)s)
RETURNING expires_at
"""


async def insert_attempt(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    *,
    polling_code_hash: bytes,
    login_code_hash: bytes,
    anon_refresh_token_id: uuid.UUID | None,
    lifetime: timedelta,
) -> datetime:
    """Store a new attempt expiring ``lifetime`` from now (the database's clock, which every
    later check reads); returns when it expires."""
    expires_at = await fetch_value(
        conn,
        datetime,
        INSERT_ATTEMPT,
        tenancy_id=tenancy_id,
        id=uuid.uuid4(),
        polling_code_hash=polling_code_hash,
        login_code_hash=login_code_hash,
        anon_refresh_token_id=anon_refresh_token_id,
        lifetime=lifetime,
    )
    if expires_at is None:  # an INSERT ... RETURNING always returns its row
        raise RuntimeError("cli_auth_attempts: the insert returned no row")
    return expires_at


# A refresh token that is live in the tenancy, and its user: the CLI's anonymous session at the
# start, the browser's session at `complete`.
SELECT_LIVE_SESSION = """
SELECT rt.id AS session_id, u.id::text AS user_id, u.is_anonymous
FROM refresh_tokens rt JOIN users u ON u.tenancy_id = rt.tenancy_id AND u.id = rt.user_id
WHERE rt.tenancy_id = %(tenancy_id)s AND rt.token_hash = %(token_hash)s
  AND (rt.expires_at IS NULL OR rt.expires_at > now())
"""


async def select_live_session(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, token_hash: bytes
) -> LiveSession | None:
    return await fetch_one(
        conn, LiveSession, SELECT_LIVE_SESSION, tenancy_id=tenancy_id, token_hash=token_hash
    )


# The attempt a login code opens while it waits for the browser, and whether the CLI's
# anonymous session is still there to be claimed (live, and its user still anonymous).
SELECT_PENDING = """
SELECT a.id, (u.id IS NOT NULL) AS has_anonymous_session
FROM cli_auth_attempts a
LEFT JOIN refresh_tokens rt ON rt.tenancy_id = a.tenancy_id AND rt.id = a.anon_refresh_token_id
    AND (rt.expires_at IS NULL OR rt.expires_at > now())
LEFT JOIN users u ON u.tenancy_id = rt.tenancy_id AND u.id = rt.user_id AND u.is_anonymous
WHERE a.tenancy_id = %(tenancy_id)s AND a.login_code_hash = %(login_code_hash)s
  AND a.user_id IS NULL AND a.expires_at > now()
"""


async def select_pending(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, login_code_hash: bytes
) -> PendingAttempt | None:
    return await fetch_one(
        conn,
        PendingAttempt,
        SELECT_PENDING,
        tenancy_id=tenancy_id,
        login_code_hash=login_code_hash,
    )


# Takes the CLI's anonymous session off a pending attempt (so it is claimed once) and returns
# its user, provided the session is live and the user still anonymous.
CLAIM_ANONYMOUS_SESSION = """
UPDATE cli_auth_attempts a SET anon_refresh_token_id = NULL
FROM refresh_tokens rt JOIN users u ON u.tenancy_id = rt.tenancy_id AND u.id = rt.user_id
WHERE a.tenancy_id = %(tenancy_id)s AND a.login_code_hash = %(login_code_hash)s
  AND a.user_id IS NULL AND a.expires_at > now()
  AND rt.tenancy_id = a.tenancy_id AND rt.id = a.anon_refresh_token_id
  AND (rt.expires_at IS NULL OR rt.expires_at > now()) AND u.is_anonymous
RETURNING u.id::text
"""


async def claim_anonymous_session(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, login_code_hash: bytes
) -> str | None:
    """The anonymous user whose session the browser takes over; None if there is none."""
    return await fetch_value(
        conn,
        str,
        CLAIM_ANONYMOUS_SESSION,
        tenancy_id=tenancy_id,
        login_code_hash=login_code_hash,
    )


COMPLETE = """
UPDATE cli_auth_attempts
SET user_id = %(user_id)s, completed_at = now(), anon_refresh_token_id = NULL
WHERE tenancy_id = %(tenancy_id)s AND login_code_hash = %(login_code_hash)s
  AND user_id IS NULL AND expires_at > now()
RETURNING id
"""


async def complete(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, login_code_hash: bytes, user_id: str
) -> bool:
    """Record ``user_id`` as whom the CLI signs in as; False unless the attempt was pending."""
    found = await fetch_value(
        conn,
        uuid.UUID,
        COMPLETE,
        tenancy_id=tenancy_id,
        login_code_hash=login_code_hash,
        user_id=user_id,
    )
    return found is not None


# The one poll that hands a completed attempt out: it marks the attempt used and gets its user.
TAKE_COMPLETED = """
UPDATE cli_auth_attempts SET used_at = now()
WHERE tenancy_id = %(tenancy_id)s AND polling_code_hash = %(polling_code_hash)s
  AND user_id IS NOT NULL AND used_at IS NULL AND expires_at > now()
RETURNING user_id::text
"""


async def take_completed(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, polling_code_hash: bytes
) -> str | None:
    return await fetch_value(
        conn, str, TAKE_COMPLETED, tenancy_id=tenancy_id, polling_code_hash=polling_code_hash
    )


SELECT_STATE = """
SELECT expires_at <= now() AS expired, used_at IS NOT NULL AS used
FROM cli_auth_attempts
WHERE tenancy_id = %(tenancy_id)s AND polling_code_hash = %(polling_code_hash)s
"""


async def select_state(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, polling_code_hash: bytes
) -> AttemptState | None:
    return await fetch_one(
        conn,
        AttemptState,
        SELECT_STATE,
        tenancy_id=tenancy_id,
        polling_code_hash=polling_code_hash,
    )


# A bounded batch per call, so that one cron step never holds a long delete.
DELETE_EXPIRED = """
DELETE FROM cli_auth_attempts WHERE (tenancy_id, id) IN (
    SELECT tenancy_id, id FROM cli_auth_attempts
    WHERE expires_at < now() - %(grace)s
    LIMIT %(limit)s
)
"""


async def delete_expired(conn: AsyncConnection[Any], *, grace: timedelta, limit: int) -> int:
    """Delete up to ``limit`` attempts (any tenancy) that expired ``grace`` ago or more;
    returns how many went."""
    cur = await conn.execute(DELETE_EXPIRED, {"grace": grace, "limit": limit})
    return cur.rowcount
