"""Contact channel SQL. Sign-in uniqueness is enforced by contact_channels_auth_value_idx."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import changed, fetch_all, fetch_flag, fetch_one, fetch_value
from authstack_core.models.contact_channels import ContactChannelRow

_COLUMNS = """
SELECT user_id::text, id::text, type, value, is_primary, is_verified, used_for_auth, created_at
FROM contact_channels
"""

SELECT_CHANNELS = (
    _COLUMNS
    + """WHERE tenancy_id = %(tenancy_id)s
  AND (%(user_id)s::uuid IS NULL OR user_id = %(user_id)s::uuid)
  AND (%(channel_id)s::uuid IS NULL OR id = %(channel_id)s::uuid)
ORDER BY created_at, id"""
)


async def select_channels(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    *,
    user_id: str | None,
    channel_id: str | None,
) -> list[ContactChannelRow]:
    return await fetch_all(
        conn,
        ContactChannelRow,
        SELECT_CHANNELS,
        tenancy_id=tenancy_id,
        user_id=user_id,
        channel_id=channel_id,
    )


SELECT_CHANNEL = (
    _COLUMNS + "WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND id = %(channel_id)s"
)


async def select_channel(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, channel_id: str
) -> ContactChannelRow | None:
    return await fetch_one(
        conn,
        ContactChannelRow,
        SELECT_CHANNEL,
        tenancy_id=tenancy_id,
        user_id=user_id,
        channel_id=channel_id,
    )


SELECT_USER_HAS_VALUE = """
SELECT EXISTS (
    SELECT 1 FROM contact_channels
    WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND type = %(type)s
      AND lower(value COLLATE "C") = lower(%(value)s::text COLLATE "C")
      AND (%(except_id)s::uuid IS NULL OR id <> %(except_id)s::uuid)
)
"""


async def select_user_has_value(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    user_id: str,
    channel_type: str,
    value: str,
    *,
    except_id: str | None,
) -> bool:
    """Whether the user already has another channel with this value (case-insensitively)."""
    return await fetch_flag(
        conn,
        SELECT_USER_HAS_VALUE,
        tenancy_id=tenancy_id,
        user_id=user_id,
        type=channel_type,
        value=value,
        except_id=except_id,
    )


SELECT_AUTH_OWNER = """
SELECT id::text FROM contact_channels
WHERE tenancy_id = %(tenancy_id)s AND type = %(type)s AND used_for_auth
  AND lower(value COLLATE "C") = lower(%(value)s::text COLLATE "C")
"""


async def select_auth_channel_id(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, channel_type: str, value: str
) -> str | None:
    """The channel that signs in with this value in the tenancy, if any."""
    return await fetch_value(
        conn, str, SELECT_AUTH_OWNER, tenancy_id=tenancy_id, type=channel_type, value=value
    )


INSERT_CHANNEL = """
INSERT INTO contact_channels (tenancy_id, id, user_id, type, value, is_primary, is_verified,
                              used_for_auth)
VALUES (%(tenancy_id)s, %(id)s, %(user_id)s, %(type)s, %(value)s, false, %(is_verified)s,
        %(used_for_auth)s)
"""


async def insert_channel(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    channel_id: uuid.UUID,
    user_id: str,
    *,
    channel_type: str,
    value: str,
    is_verified: bool,
    used_for_auth: bool,
) -> None:
    """Insert a non-primary channel (make it primary with set_primary)."""
    await conn.execute(
        INSERT_CHANNEL,
        {
            "tenancy_id": tenancy_id,
            "id": channel_id,
            "user_id": user_id,
            "type": channel_type,
            "value": value,
            "is_verified": is_verified,
            "used_for_auth": used_for_auth,
        },
    )


DEMOTE_PRIMARY = """
UPDATE contact_channels SET is_primary = false
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND type = %(type)s AND is_primary
"""
PROMOTE = """
UPDATE contact_channels SET is_primary = true
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND id = %(channel_id)s
"""


async def set_primary(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    user_id: str,
    channel_type: str,
    channel_id: str | uuid.UUID,
) -> None:
    """Make this the user's one primary channel of its type (the previous one is demoted)."""
    params = {
        "tenancy_id": tenancy_id,
        "user_id": user_id,
        "type": channel_type,
        "channel_id": channel_id,
    }
    await conn.execute(DEMOTE_PRIMARY, params)
    await conn.execute(PROMOTE, params)


UPDATE_CHANNEL = """
UPDATE contact_channels
SET value = coalesce(%(value)s, value),
    type = coalesce(%(type)s, type),
    is_verified = coalesce(%(is_verified)s, is_verified),
    used_for_auth = coalesce(%(used_for_auth)s, used_for_auth),
    is_primary = CASE WHEN %(demote)s THEN false ELSE is_primary END
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND id = %(channel_id)s
"""


async def update_channel(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    user_id: str,
    channel_id: str,
    *,
    value: str | None,
    channel_type: str | None,
    is_verified: bool | None,
    used_for_auth: bool | None,
    demote: bool,
) -> None:
    """Change the given fields (None keeps one); ``demote`` clears the primary flag."""
    await conn.execute(
        UPDATE_CHANNEL,
        {
            "tenancy_id": tenancy_id,
            "user_id": user_id,
            "channel_id": channel_id,
            "value": value,
            "type": channel_type,
            "is_verified": is_verified,
            "used_for_auth": used_for_auth,
            "demote": demote,
        },
    )


DELETE_CHANNEL = """
DELETE FROM contact_channels
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND id = %(channel_id)s
"""


async def delete_channel(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, channel_id: str
) -> bool:
    return await changed(
        conn, DELETE_CHANNEL, tenancy_id=tenancy_id, user_id=user_id, channel_id=channel_id
    )
