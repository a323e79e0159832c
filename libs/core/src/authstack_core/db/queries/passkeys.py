"""Passkey SQL: one WebAuthn credential per user (``passkey_auth_methods``), and the user flag
``passkey_auth_enabled`` that mirrors whether the user has one."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import changed, fetch_one
from authstack_core.models.passkeys import StoredPasskey

SELECT_BY_CREDENTIAL = """
SELECT user_id::text AS user_id, credential_id, public_key, counter
FROM passkey_auth_methods
WHERE tenancy_id = %(tenancy_id)s AND credential_id = %(credential_id)s
"""


async def select_by_credential(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, credential_id: str
) -> StoredPasskey | None:
    """The tenancy's passkey with this credential id (base64url), or None."""
    return await fetch_one(
        conn,
        StoredPasskey,
        SELECT_BY_CREDENTIAL,
        tenancy_id=tenancy_id,
        credential_id=credential_id,
    )


# One per user: registering again replaces the user's passkey (and resets its counter to what the
# new credential reported).
UPSERT_PASSKEY = """
INSERT INTO passkey_auth_methods
    (tenancy_id, user_id, credential_id, public_key, user_handle, transports, counter)
VALUES (%(tenancy_id)s, %(user_id)s, %(credential_id)s, %(public_key)s, %(user_handle)s,
        %(transports)s, %(counter)s)
ON CONFLICT (tenancy_id, user_id) DO UPDATE SET
    credential_id = EXCLUDED.credential_id,
    public_key = EXCLUDED.public_key,
    user_handle = EXCLUDED.user_handle,
    transports = EXCLUDED.transports,
    counter = EXCLUDED.counter,
    created_at = now(),
    updated_at = now()
"""
SET_USER_FLAG = """
UPDATE users SET passkey_auth_enabled = %(enabled)s
WHERE tenancy_id = %(tenancy_id)s AND id = %(user_id)s
"""


async def upsert_passkey(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    user_id: str,
    *,
    credential_id: str,
    public_key: bytes,
    user_handle: str,
    transports: list[str],
    counter: int,
) -> None:
    """Store the user's passkey (replacing one it had) and set the user's flag."""
    await conn.execute(
        UPSERT_PASSKEY,
        {
            "tenancy_id": tenancy_id,
            "user_id": user_id,
            "credential_id": credential_id,
            "public_key": public_key,
            "user_handle": user_handle,
            "transports": transports,
            "counter": counter,
        },
    )
    await conn.execute(
        SET_USER_FLAG, {"tenancy_id": tenancy_id, "user_id": user_id, "enabled": True}
    )


DELETE_PASSKEY = """
DELETE FROM passkey_auth_methods WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s
"""


async def delete_passkey(conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str) -> bool:
    """Remove the user's passkey and clear the user's flag; False when it had none."""
    removed = await changed(conn, DELETE_PASSKEY, tenancy_id=tenancy_id, user_id=user_id)
    await conn.execute(
        SET_USER_FLAG, {"tenancy_id": tenancy_id, "user_id": user_id, "enabled": False}
    )
    return removed


# Conditional, so that two sign-ins racing with the same assertion cannot both pass: the second
# waits for the first's row lock, then finds the counter already moved (or the credential
# replaced). A counter of 0 that stays 0 is an authenticator that keeps no counter (allowed, as
# WebAuthn §6.1.1 says); any other value must grow.
ADVANCE_COUNTER = """
UPDATE passkey_auth_methods SET counter = %(new)s, updated_at = now()
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s
  AND credential_id = %(credential_id)s AND counter = %(old)s
  AND (%(new)s > %(old)s OR (%(new)s = 0 AND %(old)s = 0))
"""


async def advance_counter(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    passkey: StoredPasskey,
    new_counter: int,
) -> bool:
    """Record the signature counter of a verified assertion; False when it did not advance from
    the value the assertion was checked against."""
    return await changed(
        conn,
        ADVANCE_COUNTER,
        tenancy_id=tenancy_id,
        user_id=passkey.user_id,
        credential_id=passkey.credential_id,
        old=passkey.counter,
        new=new_counter,
    )
