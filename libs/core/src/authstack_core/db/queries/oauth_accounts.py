"""Linked-account SQL: the ``/oauth-providers`` and ``/connected-accounts`` reads and writes, and
the provider tokens a connected account's access token is taken or refreshed from.

Every statement is scoped to its tenancy; an account is also looked up under its user, so that
one user's id never reaches another's account.
"""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import changed, fetch_all, fetch_flag, fetch_one
from authstack_core.models.oauth import NewOAuthAccount, OAuthAccountRow, StoredProviderToken

_SELECT = """
SELECT id, user_id, provider_config_id, provider_account_id, email, allow_sign_in,
    allow_connected_accounts
FROM oauth_accounts
"""

SELECT_ACCOUNTS = (
    _SELECT
    + """WHERE tenancy_id = %(tenancy_id)s
  AND (%(user_id)s::uuid IS NULL OR user_id = %(user_id)s::uuid)
ORDER BY created_at, id
"""
)


async def select_accounts(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str | None
) -> list[OAuthAccountRow]:
    """The tenancy's linked accounts (only ``user_id``'s when given), oldest first."""
    return await fetch_all(
        conn, OAuthAccountRow, SELECT_ACCOUNTS, tenancy_id=tenancy_id, user_id=user_id
    )


SELECT_ACCOUNT = (
    _SELECT
    + """WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND id = %(id)s
FOR UPDATE
"""
)


async def select_account_for_update(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str, account_id: str
) -> OAuthAccountRow | None:
    """The user's linked account ``account_id``, locked until the transaction ends."""
    return await fetch_one(
        conn, OAuthAccountRow, SELECT_ACCOUNT, tenancy_id=tenancy_id, user_id=user_id, id=account_id
    )


SELECT_CONNECTED = (
    _SELECT
    + """WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s AND allow_connected_accounts
  AND (%(provider_config_id)s::text IS NULL OR provider_config_id = %(provider_config_id)s::text)
  AND (%(provider_account_id)s::text IS NULL
       OR provider_account_id = %(provider_account_id)s::text)
ORDER BY created_at, id
"""
)


async def select_connected(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    user_id: str,
    *,
    provider_config_id: str | None = None,
    provider_account_id: str | None = None,
) -> list[OAuthAccountRow]:
    """The user's accounts that grant API access, of one provider (and account) when named."""
    return await fetch_all(
        conn,
        OAuthAccountRow,
        SELECT_CONNECTED,
        tenancy_id=tenancy_id,
        user_id=user_id,
        provider_config_id=provider_config_id,
        provider_account_id=provider_account_id,
    )


# Upstream's rules for a linked account (None: the account being changed, which is excluded):
# one sign-in account per provider and user; one row per provider, user and account; and a
# provider account signs in one user only.
SELECT_SIGN_IN_OF_TYPE_EXISTS = """
SELECT EXISTS (SELECT 1 FROM oauth_accounts
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s
  AND provider_config_id = %(provider_config_id)s AND allow_sign_in
  AND id IS DISTINCT FROM %(except_id)s::uuid)
"""
SELECT_SAME_ACCOUNT_EXISTS = """
SELECT EXISTS (SELECT 1 FROM oauth_accounts
WHERE tenancy_id = %(tenancy_id)s AND user_id = %(user_id)s
  AND provider_config_id = %(provider_config_id)s
  AND provider_account_id = %(provider_account_id)s
  AND id IS DISTINCT FROM %(except_id)s::uuid)
"""
SELECT_ACCOUNT_SIGNS_IN_EXISTS = """
SELECT EXISTS (SELECT 1 FROM oauth_accounts
WHERE tenancy_id = %(tenancy_id)s AND provider_config_id = %(provider_config_id)s
  AND provider_account_id = %(provider_account_id)s AND allow_sign_in
  AND id IS DISTINCT FROM %(except_id)s::uuid)
"""
RULES = {
    "sign_in_of_type": SELECT_SIGN_IN_OF_TYPE_EXISTS,
    "same_account": SELECT_SAME_ACCOUNT_EXISTS,
    "account_signs_in": SELECT_ACCOUNT_SIGNS_IN_EXISTS,
}


async def rule_broken(
    conn: AsyncConnection[Any],
    rule: str,
    tenancy_id: uuid.UUID,
    *,
    user_id: str,
    provider_config_id: str,
    provider_account_id: str,
    except_id: uuid.UUID | None,
) -> bool:
    """Whether another account than ``except_id`` already holds what ``rule`` (a key of RULES)
    allows only once."""
    return await fetch_flag(
        conn,
        RULES[rule],
        tenancy_id=tenancy_id,
        user_id=user_id,
        provider_config_id=provider_config_id,
        provider_account_id=provider_account_id,
        except_id=except_id,
    )


INSERT_ACCOUNT = """
INSERT INTO oauth_accounts (tenancy_id, id, user_id, provider_config_id, provider_account_id,
    email, allow_sign_in, allow_connected_accounts)
VALUES (%(tenancy_id)s, %(id)s, %(user_id)s, %(provider_config_id)s, %(provider_account_id)s,
    %(email)s, %(allow_sign_in)s, %(allow_connected_accounts)s)
"""


async def insert_account(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    account_id: uuid.UUID,
    user_id: str | uuid.UUID,
    new: NewOAuthAccount,
) -> None:
    await conn.execute(
        INSERT_ACCOUNT,
        {
            "tenancy_id": tenancy_id,
            "id": account_id,
            "user_id": user_id,
            "provider_config_id": new.provider_config_id,
            "provider_account_id": new.provider_account_id,
            "email": new.email,
            "allow_sign_in": new.allow_sign_in,
            "allow_connected_accounts": new.allow_connected_accounts,
        },
    )


UPDATE_ACCOUNT = """
UPDATE oauth_accounts
SET allow_sign_in = %(allow_sign_in)s, allow_connected_accounts = %(allow_connected_accounts)s,
    email = %(email)s, provider_account_id = %(provider_account_id)s, updated_at = now()
WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s
"""


async def update_account(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, account: OAuthAccountRow
) -> None:
    """Store ``account``'s flags, email and provider account id as they now are."""
    await conn.execute(
        UPDATE_ACCOUNT,
        {
            "tenancy_id": tenancy_id,
            "id": account.id,
            "allow_sign_in": account.allow_sign_in,
            "allow_connected_accounts": account.allow_connected_accounts,
            "email": account.email,
            "provider_account_id": account.provider_account_id,
        },
    )


DELETE_ACCOUNT = "DELETE FROM oauth_accounts WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s"


async def delete_account(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, account_id: uuid.UUID
) -> bool:
    """Unlink the account (its provider tokens go with it)."""
    return await changed(conn, DELETE_ACCOUNT, tenancy_id=tenancy_id, id=account_id)


# Access tokens live at least 5 more minutes (upstream's margin): the caller gets time to use one.
SELECT_USABLE_TOKENS = """
SELECT id, oauth_account_id, token_sealed, scopes FROM oauth_provider_tokens
WHERE tenancy_id = %(tenancy_id)s AND oauth_account_id = ANY(%(account_ids)s) AND is_valid
  AND kind = %(kind)s AND (kind = 'refresh' OR expires_at > now() + interval '5 minutes')
  AND scopes @> %(scopes)s
ORDER BY created_at DESC, id
"""


async def select_usable_tokens(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    account_ids: list[uuid.UUID],
    *,
    kind: str,
    scopes: list[str],
) -> list[StoredProviderToken]:
    """The accounts' valid tokens of ``kind`` granting every one of ``scopes``, newest first."""
    return await fetch_all(
        conn,
        StoredProviderToken,
        SELECT_USABLE_TOKENS,
        tenancy_id=tenancy_id,
        account_ids=account_ids,
        kind=kind,
        scopes=scopes,
    )


INVALIDATE_TOKEN = """
UPDATE oauth_provider_tokens SET is_valid = false
WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s
"""


async def invalidate_token(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, token_id: uuid.UUID
) -> bool:
    """Never hand out (or refresh with) this token again: the provider refused it."""
    return await changed(conn, INVALIDATE_TOKEN, tenancy_id=tenancy_id, id=token_id)
