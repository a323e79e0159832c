"""TOTP multi-factor SQL: the user's (sealed) secret and the last time step that signed in."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import changed, fetch_value

SELECT_TOTP_SECRET = """
SELECT totp_secret FROM users WHERE tenancy_id = %(tenancy_id)s AND id = %(user_id)s
"""


async def select_totp_secret(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str | uuid.UUID
) -> bytes | None:
    """The user's stored TOTP secret (sealed, or raw if stored before sealing); None when the
    user has none (or does not exist)."""
    return await fetch_value(
        conn, bytes, SELECT_TOTP_SECRET, tenancy_id=tenancy_id, user_id=user_id
    )


# Conditional, so two requests racing with the same code cannot both pass: the second one finds
# the step already spent (its UPDATE waits for the first's row lock, then re-checks the WHERE).
# The secret must still be the one the code was checked against, so a code of a secret replaced
# meanwhile is refused.
SPEND_TOTP_STEP = """
UPDATE users SET totp_last_used_step = %(step)s
WHERE tenancy_id = %(tenancy_id)s AND id = %(user_id)s AND totp_secret = %(secret)s
  AND (totp_last_used_step IS NULL OR totp_last_used_step < %(step)s)
"""


async def spend_totp_step(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, secret: bytes, step: int
) -> bool:
    """Record ``step`` as used; False when it (or a later step) was already used."""
    return await changed(
        conn, SPEND_TOTP_STEP, tenancy_id=tenancy_id, user_id=user_id, secret=secret, step=step
    )


REPLACE_TOTP_SECRET = """
UPDATE users SET totp_secret = %(new)s
WHERE tenancy_id = %(tenancy_id)s AND id = %(user_id)s AND totp_secret = %(old)s
"""


async def replace_totp_secret(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, old: bytes, new: bytes
) -> bool:
    """Store ``new`` (the same secret, sealed) if the stored value is still ``old``."""
    return await changed(
        conn, REPLACE_TOTP_SECRET, tenancy_id=tenancy_id, user_id=user_id, old=old, new=new
    )
