"""OAuth SQL: flow state, authorization codes, linked accounts and their sealed provider tokens.

Flow states and codes are found by the SHA-256 of the secret the browser carries, never by the
secret itself. Everything but the flow state (which the callback finds before it knows the
project) is looked up within its tenancy.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

from psycopg import AsyncConnection

from authstack_core.db.queries.run import changed, fetch_one, fetch_value
from authstack_core.models.oauth import AuthorizationCodeRow, OAuthAccountRow, OuterInfoRow

INSERT_OUTER_INFO = """
INSERT INTO oauth_outer_infos (inner_state_hash, tenancy_id, project_id, branch_id,
    provider_config_id, flow_type, user_id, redirect_uri, outer_state, code_challenge,
    error_redirect_url, after_callback_redirect_url, provider_scope, inner_code_verifier, nonce,
    cookie_required, expires_at)
VALUES (%(inner_state_hash)s, %(tenancy_id)s, %(project_id)s, %(branch_id)s,
    %(provider_config_id)s, %(flow_type)s, %(user_id)s, %(redirect_uri)s, %(outer_state)s,
    %(code_challenge)s, %(error_redirect_url)s, %(after_callback_redirect_url)s,
    %(provider_scope)s, %(inner_code_verifier)s, %(nonce)s, %(cookie_required)s, %(expires_at)s)
"""


async def insert_outer_info(
    conn: AsyncConnection[Any], inner_state_hash: bytes, info: OuterInfoRow
) -> None:
    await conn.execute(INSERT_OUTER_INFO, {**asdict(info), "inner_state_hash": inner_state_hash})


# A few at a time, so that no request pays for a long backlog.
DELETE_STALE_OUTER_INFOS = """
DELETE FROM oauth_outer_infos WHERE inner_state_hash IN (
    SELECT inner_state_hash FROM oauth_outer_infos
    WHERE tenancy_id = %(tenancy_id)s AND expires_at < now() - interval '1 hour'
    LIMIT 100
)
"""


async def delete_stale_outer_infos(conn: AsyncConnection[Any], tenancy_id: uuid.UUID) -> None:
    """Forget up to 100 of the tenancy's flows that ended an hour ago or more."""
    await conn.execute(DELETE_STALE_OUTER_INFOS, {"tenancy_id": tenancy_id})


# Taken, not read: a callback replayed with the same state finds nothing.
TAKE_OUTER_INFO = """
DELETE FROM oauth_outer_infos WHERE inner_state_hash = %(inner_state_hash)s
RETURNING tenancy_id, project_id, branch_id, provider_config_id, flow_type, user_id,
    redirect_uri, outer_state, code_challenge, error_redirect_url, after_callback_redirect_url,
    provider_scope, inner_code_verifier, nonce, cookie_required, expires_at
"""


async def take_outer_info(
    conn: AsyncConnection[Any], inner_state_hash: bytes
) -> OuterInfoRow | None:
    """Delete and return the flow whose inner state hashes to ``inner_state_hash`` (even an
    expired one: the caller tells the user it timed out)."""
    return await fetch_one(conn, OuterInfoRow, TAKE_OUTER_INFO, inner_state_hash=inner_state_hash)


INSERT_AUTHORIZATION_CODE = """
INSERT INTO oauth_authorization_codes (code_hash, tenancy_id, user_id, redirect_uri,
    code_challenge, is_new_user, after_callback_redirect_url, expires_at)
VALUES (%(code_hash)s, %(tenancy_id)s, %(user_id)s, %(redirect_uri)s, %(code_challenge)s,
    %(is_new_user)s, %(after_callback_redirect_url)s, %(expires_at)s)
"""


async def insert_authorization_code(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, code_hash: bytes, code: AuthorizationCodeRow
) -> None:
    await conn.execute(
        INSERT_AUTHORIZATION_CODE,
        {**asdict(code), "code_hash": code_hash, "tenancy_id": tenancy_id},
    )


DELETE_STALE_AUTHORIZATION_CODES = """
DELETE FROM oauth_authorization_codes WHERE code_hash IN (
    SELECT code_hash FROM oauth_authorization_codes
    WHERE tenancy_id = %(tenancy_id)s AND expires_at < now() - interval '1 hour'
    LIMIT 100
)
"""


async def delete_stale_authorization_codes(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID
) -> None:
    """Forget up to 100 of the tenancy's codes that expired an hour ago or more."""
    await conn.execute(DELETE_STALE_AUTHORIZATION_CODES, {"tenancy_id": tenancy_id})


SELECT_AUTHORIZATION_CODE_FOR_UPDATE = """
SELECT user_id, redirect_uri, code_challenge, is_new_user, after_callback_redirect_url, expires_at
FROM oauth_authorization_codes
WHERE tenancy_id = %(tenancy_id)s AND code_hash = %(code_hash)s AND expires_at > now()
FOR UPDATE
"""


async def select_authorization_code_for_update(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, code_hash: bytes
) -> AuthorizationCodeRow | None:
    """The live code of this tenancy, locked until the transaction ends (then it is deleted)."""
    return await fetch_one(
        conn,
        AuthorizationCodeRow,
        SELECT_AUTHORIZATION_CODE_FOR_UPDATE,
        tenancy_id=tenancy_id,
        code_hash=code_hash,
    )


DELETE_AUTHORIZATION_CODE = """
DELETE FROM oauth_authorization_codes
WHERE tenancy_id = %(tenancy_id)s AND code_hash = %(code_hash)s
"""


async def delete_authorization_code(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, code_hash: bytes
) -> bool:
    return await changed(
        conn, DELETE_AUTHORIZATION_CODE, tenancy_id=tenancy_id, code_hash=code_hash
    )


SELECT_SIGN_IN_ACCOUNT = """
SELECT id, user_id, provider_config_id, provider_account_id, email, allow_sign_in,
    allow_connected_accounts
FROM oauth_accounts
WHERE tenancy_id = %(tenancy_id)s AND provider_config_id = %(provider_config_id)s
  AND provider_account_id = %(provider_account_id)s AND allow_sign_in
FOR UPDATE
"""


async def select_sign_in_account(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    provider_config_id: str,
    provider_account_id: str,
) -> OAuthAccountRow | None:
    """The account of this provider that signs someone in (at most one), locked."""
    return await fetch_one(
        conn,
        OAuthAccountRow,
        SELECT_SIGN_IN_ACCOUNT,
        tenancy_id=tenancy_id,
        provider_config_id=provider_config_id,
        provider_account_id=provider_account_id,
    )


# Linking an account the user already has refreshes its email and keeps its id.
UPSERT_ACCOUNT = """
INSERT INTO oauth_accounts (tenancy_id, id, user_id, provider_config_id, provider_account_id,
    email)
VALUES (%(tenancy_id)s, %(id)s, %(user_id)s, %(provider_config_id)s, %(provider_account_id)s,
    %(email)s)
ON CONFLICT (tenancy_id, user_id, provider_config_id, provider_account_id)
DO UPDATE SET email = EXCLUDED.email, updated_at = now()
RETURNING id
"""


async def upsert_account(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    user_id: str | uuid.UUID,
    provider_config_id: str,
    provider_account_id: str,
    email: str | None,
) -> uuid.UUID:
    """Link the provider account to the user; its row id (the existing one if already linked)."""
    account_id = await fetch_value(
        conn,
        uuid.UUID,
        UPSERT_ACCOUNT,
        tenancy_id=tenancy_id,
        id=uuid.uuid4(),
        user_id=user_id,
        provider_config_id=provider_config_id,
        provider_account_id=provider_account_id,
        email=email,
    )
    assert account_id is not None  # INSERT ... RETURNING always returns the row
    return account_id


INSERT_PROVIDER_TOKEN = """
INSERT INTO oauth_provider_tokens (tenancy_id, id, oauth_account_id, kind, token_sealed, scopes,
    expires_at)
VALUES (%(tenancy_id)s, %(id)s, %(oauth_account_id)s, %(kind)s, %(token_sealed)s, %(scopes)s,
    %(expires_at)s)
"""


async def insert_provider_token(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    token_id: uuid.UUID,
    oauth_account_id: uuid.UUID,
    *,
    kind: Literal["access", "refresh"],
    token_sealed: bytes,
    scopes: list[str],
    expires_at: datetime | None,
) -> None:
    await conn.execute(
        INSERT_PROVIDER_TOKEN,
        {
            "tenancy_id": tenancy_id,
            "id": token_id,
            "oauth_account_id": oauth_account_id,
            "kind": kind,
            "token_sealed": token_sealed,
            "scopes": scopes,
            "expires_at": expires_at,
        },
    )
