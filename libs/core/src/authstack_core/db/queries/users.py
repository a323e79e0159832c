"""User, contact-channel and password SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

from psycopg import AsyncConnection, sql

from authstack_core.db.queries.pages import Keyset, contains_pattern
from authstack_core.db.queries.patch import METADATA_COLUMNS, profile_params, update_columns
from authstack_core.db.queries.run import changed, fetch_all, fetch_flag, fetch_one, fetch_value
from authstack_core.models.users import NewUser, UserColumns, UserRow

# The user ``u``'s primary email ``cc`` and selected membership ``tm`` (at most one of each).
PRIMARY_EMAIL_AND_SELECTED_TEAM = """
LEFT JOIN contact_channels cc
       ON cc.tenancy_id = u.tenancy_id AND cc.user_id = u.id AND cc.type = 'email' AND cc.is_primary
LEFT JOIN team_members tm ON tm.tenancy_id = u.tenancy_id AND tm.user_id = u.id AND tm.is_selected
"""

USER_SELECT = (
    """
SELECT u.id::text AS id, u.display_name, u.profile_image_url, u.client_metadata,
       u.client_read_only_metadata, u.server_metadata, u.requires_totp_mfa, u.otp_auth_enabled,
       u.passkey_auth_enabled, u.is_anonymous, u.restricted_by_admin, u.restricted_by_admin_reason,
       u.restricted_by_admin_private_details, u.country_code, u.risk_score_bot,
       u.risk_score_free_trial_abuse, u.signed_up_at, u.last_active_at,
       cc.value AS primary_email, coalesce(cc.is_verified, false) AS primary_email_verified,
       coalesce(cc.used_for_auth, false) AS primary_email_auth_enabled,
       (pw.user_id IS NOT NULL) AS has_password,
       t.id::text AS team_id, t.display_name AS team_display_name,
       t.profile_image_url AS team_profile_image_url, t.client_metadata AS team_client_metadata,
       t.client_read_only_metadata AS team_client_read_only_metadata,
       t.server_metadata AS team_server_metadata, t.created_at AS team_created_at,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', oa.provider_config_id,
                                                     'account_id', oa.provider_account_id,
                                                     'email', oa.email)
                                  ORDER BY oa.created_at, oa.id)
                 FROM oauth_accounts oa
                 WHERE oa.tenancy_id = u.tenancy_id AND oa.user_id = u.id),
                '[]'::jsonb) AS oauth_providers
FROM users u"""
    + PRIMARY_EMAIL_AND_SELECTED_TEAM
    + """LEFT JOIN password_auth_methods pw ON pw.tenancy_id = u.tenancy_id AND pw.user_id = u.id
LEFT JOIN teams t ON t.tenancy_id = tm.tenancy_id AND t.id = tm.team_id
"""
)

SELECT_USER = USER_SELECT + "WHERE u.tenancy_id = %(tenancy_id)s AND u.id = %(user_id)s"


async def select_user(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str
) -> UserRow | None:
    return await fetch_one(conn, UserRow, SELECT_USER, tenancy_id=tenancy_id, user_id=user_id)


SELECT_USERS_BY_IDS = USER_SELECT + "WHERE u.tenancy_id = %(tenancy_id)s AND u.id = ANY(%(ids)s)"


async def select_users_by_ids(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_ids: list[str]
) -> dict[str, UserRow]:
    """The tenancy's users among ``user_ids``, by id (unknown ids are simply absent)."""
    ids = [uuid.UUID(i) for i in user_ids]
    rows = await fetch_all(conn, UserRow, SELECT_USERS_BY_IDS, tenancy_id=tenancy_id, ids=ids)
    return {row.id: row for row in rows}


# Restricted = anonymous, restricted by an admin, or unverified where verification is required.
_LIST_WHERE = """
WHERE u.tenancy_id = %(tenancy_id)s
  AND (%(team_id)s::uuid IS NULL OR EXISTS (
        SELECT 1 FROM team_members m
        WHERE m.tenancy_id = u.tenancy_id AND m.user_id = u.id AND m.team_id = %(team_id)s::uuid))
  AND (%(include_anonymous)s OR NOT u.is_anonymous)
  AND (NOT %(only_anonymous)s OR u.is_anonymous)
  AND (%(include_restricted)s OR u.is_anonymous OR NOT (u.restricted_by_admin
       OR (%(require_verification)s AND NOT coalesce(cc.is_verified, false))))
  AND (%(ids)s::uuid[] IS NULL OR u.id = ANY(%(ids)s::uuid[]))
  AND (%(query)s::text IS NULL
       OR u.id::text = lower(%(query)s::text)
       OR u.display_name ILIKE %(pattern)s
       OR EXISTS (SELECT 1 FROM contact_channels c2
                  WHERE c2.tenancy_id = u.tenancy_id AND c2.user_id = u.id
                    AND c2.value ILIKE %(pattern)s))
"""
_USER_PAGES = Keyset(
    USER_SELECT + _LIST_WHERE, sql.Identifier("u", "signed_up_at"), sql.Identifier("u", "id")
)
SELECT_SIGNED_UP_AT = (
    "SELECT signed_up_at FROM users WHERE tenancy_id = %(tenancy_id)s AND id = %(user_id)s"
)


async def select_signed_up_at(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str
) -> datetime | None:
    return await fetch_value(
        conn, datetime, SELECT_SIGNED_UP_AT, tenancy_id=tenancy_id, user_id=user_id
    )


# Phase one of a search: the ids of users whose email or display name contains the text (both
# served by trigram indexes), or whose id is the text. Bounded, so a query matching most users
# falls back to walking the list in order, which stops early when matches are dense.
SEARCH_CAP = 1000
SELECT_SEARCH_HITS = """
SELECT c.user_id FROM contact_channels c
WHERE c.tenancy_id = %(tenancy_id)s AND c.value ILIKE %(pattern)s
UNION ALL
SELECT u.id FROM users u WHERE u.tenancy_id = %(tenancy_id)s AND u.display_name ILIKE %(pattern)s
UNION ALL
SELECT u.id FROM users u WHERE u.tenancy_id = %(tenancy_id)s AND u.id = %(query_uuid)s::uuid
LIMIT %(cap)s
"""


async def _search_hits(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, query: str
) -> list[uuid.UUID] | None:
    """Matching user ids, or None when there are more than SEARCH_CAP of them."""
    try:
        query_uuid: uuid.UUID | None = uuid.UUID(query)
    except ValueError:
        query_uuid = None
    cur = await conn.execute(
        SELECT_SEARCH_HITS,
        {
            "tenancy_id": tenancy_id,
            "pattern": contains_pattern(query),
            "query_uuid": query_uuid,
            "cap": SEARCH_CAP + 1,
        },
    )
    ids = {row[0] for row in await cur.fetchall()}
    return list(ids) if len(ids) <= SEARCH_CAP else None


async def select_users(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    *,
    limit: int,
    desc: bool,
    cursor: tuple[datetime, str] | None,
    team_id: str | None,
    query: str | None,
    include_anonymous: bool,
    only_anonymous: bool,
    include_restricted: bool,
    require_verification: bool,
) -> list[UserRow]:
    """Up to ``limit`` users from ``cursor`` (inclusive) in sign-up order."""
    ids = await _search_hits(conn, tenancy_id, query) if query is not None else None
    if ids is not None:
        query = None  # the id set already is the search result
    params = {
        "ids": ids,
        "tenancy_id": tenancy_id,
        "team_id": team_id,
        "query": query,
        "pattern": contains_pattern(query),
        "include_anonymous": include_anonymous,
        "only_anonymous": only_anonymous,
        "include_restricted": include_restricted,
        "require_verification": require_verification,
    }
    return await _USER_PAGES.fetch(conn, UserRow, desc=desc, cursor=cursor, limit=limit, **params)


SELECT_PASSWORD_LOGIN = """
SELECT u.id::text, pw.password_hash
FROM contact_channels c
JOIN users u ON u.tenancy_id = c.tenancy_id AND u.id = c.user_id
LEFT JOIN password_auth_methods pw ON pw.tenancy_id = u.tenancy_id AND pw.user_id = u.id
WHERE c.tenancy_id = %(tenancy_id)s AND c.type = 'email' AND c.used_for_auth
  AND lower(c.value COLLATE "C") = lower(%(email)s::text COLLATE "C")
"""


async def select_password_login(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, email: str
) -> tuple[str, str | None] | None:
    """(user id, password hash or None) of the account signing in with this email."""
    cur = await conn.execute(SELECT_PASSWORD_LOGIN, {"tenancy_id": tenancy_id, "email": email})
    row = await cur.fetchone()
    return (row[0], row[1]) if row else None


SELECT_PASSWORD_HASH = """
SELECT password_hash FROM password_auth_methods
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s
"""


async def select_password_hash(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str
) -> str | None:
    return await fetch_value(
        conn, str, SELECT_PASSWORD_HASH, tenancy_id=tenancy_id, user_id=user_id
    )


SELECT_AUTH_EMAIL_OWNER = """
SELECT c.user_id::text, c.is_verified, c.value FROM contact_channels c
WHERE c.tenancy_id = %(tenancy_id)s AND c.type = 'email' AND c.used_for_auth
  AND lower(c.value COLLATE "C") = lower(%(email)s::text COLLATE "C")
"""


class AuthEmailOwner(NamedTuple):
    user_id: str
    is_verified: bool
    # The address as stored: mail goes here, never to the spelling a request typed.
    email: str


async def select_auth_email_owner(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, email: str
) -> AuthEmailOwner | None:
    """Whoever signs in with this email, if anyone (compared by ``email_key``)."""
    cur = await conn.execute(SELECT_AUTH_EMAIL_OWNER, {"tenancy_id": tenancy_id, "email": email})
    row = await cur.fetchone()
    return AuthEmailOwner(row[0], row[1], row[2]) if row else None


INSERT_USER = """
INSERT INTO users (tenancy_id, id, display_name, profile_image_url, client_metadata,
    client_read_only_metadata, server_metadata, otp_auth_enabled, is_anonymous,
    restricted_by_admin, restricted_by_admin_reason, restricted_by_admin_private_details,
    country_code, risk_score_bot, risk_score_free_trial_abuse, totp_secret, requires_totp_mfa)
VALUES (%(tenancy_id)s, %(id)s, %(display_name)s, %(profile_image_url)s, %(client_metadata)s,
    %(client_read_only_metadata)s, %(server_metadata)s, %(otp_auth_enabled)s, %(is_anonymous)s,
    %(restricted_by_admin)s, %(restricted_by_admin_reason)s,
    %(restricted_by_admin_private_details)s, %(country_code)s,
    %(risk_score_bot)s, %(risk_score_free_trial_abuse)s, %(totp_secret)s, %(requires_totp_mfa)s)
"""


async def insert_user(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: uuid.UUID, new: NewUser
) -> None:
    await conn.execute(
        INSERT_USER,
        {
            "tenancy_id": tenancy_id,
            "id": user_id,
            **profile_params(new),
            "otp_auth_enabled": new.otp_auth_enabled,
            "is_anonymous": new.is_anonymous,
            "restricted_by_admin": new.restricted_by_admin,
            "restricted_by_admin_reason": new.restricted_by_admin_reason,
            "restricted_by_admin_private_details": new.restricted_by_admin_private_details,
            "country_code": new.country_code,
            "risk_score_bot": new.risk_score_bot,
            "risk_score_free_trial_abuse": new.risk_score_free_trial_abuse,
            "totp_secret": new.totp_secret,
            "requires_totp_mfa": new.totp_secret is not None,
        },
    )


async def update_user_columns(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, columns: UserColumns
) -> None:
    """Set the columns of ``columns`` that are not UNSET."""
    await update_columns(conn, "users", tenancy_id, user_id, columns, json_columns=METADATA_COLUMNS)


DELETE_USER = "DELETE FROM users WHERE tenancy_id = %(tenancy_id)s AND id = %(user_id)s"


async def delete_user(conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str) -> bool:
    return await changed(conn, DELETE_USER, tenancy_id=tenancy_id, user_id=user_id)


UPSERT_PRIMARY_EMAIL = """
INSERT INTO contact_channels (tenancy_id, id, user_id, type, value, is_primary, is_verified,
                              used_for_auth)
VALUES (%(tenancy_id)s, %(id)s, %(user_id)s, 'email', %(email)s, true, %(verified)s, %(auth)s)
ON CONFLICT (tenancy_id, user_id, type, value)
DO UPDATE SET is_primary = true, is_verified = EXCLUDED.is_verified,
              used_for_auth = EXCLUDED.used_for_auth
"""
# Changing the primary email replaces the old address (as upstream's upsert on the primary
# channel does): left behind, it would keep signing in and keep its address taken.
DROP_OLD_PRIMARY_EMAIL = """
DELETE FROM contact_channels
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND type = 'email' AND is_primary
  AND value <> %(email)s
"""
DELETE_PRIMARY_EMAIL = """
DELETE FROM contact_channels
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND type = 'email' AND is_primary
"""
UPDATE_PRIMARY_EMAIL_FLAGS = """
UPDATE contact_channels
SET is_verified = coalesce(%(verified)s, is_verified),
    used_for_auth = coalesce(%(auth)s, used_for_auth)
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND type = 'email' AND is_primary
"""


async def set_primary_email(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    user_id: str | uuid.UUID,
    email: str,
    *,
    verified: bool,
    used_for_auth: bool,
) -> None:
    """Make ``email`` the user's primary email (replacing the previous primary)."""
    params = {"tenancy_id": tenancy_id, "user_id": user_id, "email": email}
    await conn.execute(DROP_OLD_PRIMARY_EMAIL, params)
    await conn.execute(
        UPSERT_PRIMARY_EMAIL,
        {**params, "id": uuid.uuid4(), "verified": verified, "auth": used_for_auth},
    )


async def delete_primary_email(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str
) -> None:
    await conn.execute(DELETE_PRIMARY_EMAIL, {"tenancy_id": tenancy_id, "user_id": user_id})


async def update_primary_email_flags(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    user_id: str,
    *,
    verified: bool | None,
    used_for_auth: bool | None,
) -> None:
    await conn.execute(
        UPDATE_PRIMARY_EMAIL_FLAGS,
        {"tenancy_id": tenancy_id, "user_id": user_id, "verified": verified, "auth": used_for_auth},
    )


UPSERT_PASSWORD = """
INSERT INTO password_auth_methods (tenancy_id, user_id, password_hash)
VALUES (%(tenancy_id)s, %(user_id)s, %(password_hash)s)
ON CONFLICT (tenancy_id, user_id)
DO UPDATE SET password_hash = EXCLUDED.password_hash, updated_at = now()
"""
DELETE_PASSWORD = """
DELETE FROM password_auth_methods WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s
"""


async def set_password_hash(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    user_id: str | uuid.UUID,
    password_hash: str | None,
) -> None:
    params = {"tenancy_id": tenancy_id, "user_id": user_id}
    if password_hash is None:
        await conn.execute(DELETE_PASSWORD, params)
    else:
        await conn.execute(UPSERT_PASSWORD, {**params, "password_hash": password_hash})


# Compare-and-set: the upgrade of an old hash at sign-in must not overwrite a password that was
# changed between the check and this write.
REPLACE_PASSWORD_HASH = """
UPDATE password_auth_methods SET password_hash = %(new_hash)s, updated_at = now()
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND password_hash = %(old_hash)s
"""


async def replace_password_hash(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    user_id: str,
    old_hash: str,
    new_hash: str,
) -> bool:
    """Store ``new_hash`` if the stored hash is still ``old_hash``; False when it changed."""
    return await changed(
        conn,
        REPLACE_PASSWORD_HASH,
        tenancy_id=tenancy_id,
        user_id=user_id,
        old_hash=old_hash,
        new_hash=new_hash,
    )


SELECT_IS_MEMBER = """
SELECT EXISTS (
    SELECT 1 FROM team_members
    WHERE tenancy_id = %(tenancy_id)s AND team_id = %(team_id)s AND user_id = %(user_id)s
)
"""
CLEAR_SELECTED_TEAM = """
UPDATE team_members SET is_selected = false
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND is_selected
"""
SET_SELECTED_TEAM = """
UPDATE team_members SET is_selected = true
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND team_id = %(team_id)s
"""


async def select_is_member(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, team_id: str, user_id: str
) -> bool:
    return await fetch_flag(
        conn, SELECT_IS_MEMBER, tenancy_id=tenancy_id, team_id=team_id, user_id=user_id
    )


async def set_selected_team(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, team_id: str | None
) -> None:
    params = {"tenancy_id": tenancy_id, "user_id": user_id, "team_id": team_id}
    await conn.execute(CLEAR_SELECTED_TEAM, params)
    if team_id is not None:
        await conn.execute(SET_SELECTED_TEAM, params)
