"""SQL of the code-based email flows: the channel a code is for, and marking emails verified."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import changed, fetch_one


@dataclass(slots=True)
class ChannelRow:
    id: uuid.UUID
    user_id: uuid.UUID
    value: str
    is_verified: bool
    is_primary: bool


_CHANNEL = """
SELECT id, user_id, value, is_verified, is_primary FROM contact_channels
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND type = 'email'
"""
SELECT_CHANNEL = _CHANNEL + "AND id = %(id)s"
SELECT_PRIMARY_CHANNEL = _CHANNEL + "AND is_primary"


async def select_channel(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, channel_id: str
) -> ChannelRow | None:
    return await fetch_one(
        conn, ChannelRow, SELECT_CHANNEL, tenancy_id=tenancy_id, user_id=user_id, id=channel_id
    )


async def select_primary_channel(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str
) -> ChannelRow | None:
    return await fetch_one(
        conn, ChannelRow, SELECT_PRIMARY_CHANNEL, tenancy_id=tenancy_id, user_id=user_id
    )


# Only while the channel still holds the address the code was sent to: a code mailed to an old
# address must not verify the new one.
MARK_CHANNEL_VERIFIED = """
UPDATE contact_channels SET is_verified = true
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND id = %(id)s AND type = 'email'
  AND value = %(email)s
"""


async def mark_channel_verified(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, channel_id: str, email: str
) -> bool:
    """False when the channel is gone or no longer holds ``email``."""
    return await changed(
        conn,
        MARK_CHANNEL_VERIFIED,
        tenancy_id=tenancy_id,
        user_id=user_id,
        id=channel_id,
        email=email,
    )


# Receiving a code at an address proves the user controls it.
MARK_USER_EMAIL_VERIFIED = """
UPDATE contact_channels SET is_verified = true
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND type = 'email'
  AND lower(value COLLATE "C") = lower(%(email)s::text COLLATE "C")
"""


async def mark_user_email_verified(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, email: str
) -> None:
    await conn.execute(
        MARK_USER_EMAIL_VERIFIED, {"tenancy_id": tenancy_id, "user_id": user_id, "email": email}
    )
