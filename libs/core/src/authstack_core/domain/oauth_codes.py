"""The authorization codes the OAuth callback hands the app, and their redemption at the token
endpoint (contract §3, authorization-code grant).

A code is random (45 base32 characters), stored as its SHA-256, lives 5 minutes, and is bound to
its project, the app's ``redirect_uri`` and its S256 PKCE challenge. Redeeming it deletes it in
the transaction that issues the session, so a code works once.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN
from psycopg import AsyncConnection

from authstack_core.crypto.codes import random_code, sha256_bytes
from authstack_core.db.queries import oauth as q
from authstack_core.domain import mfa
from authstack_core.domain.context import Deps
from authstack_core.domain.sessions import IssuedSession
from authstack_core.errors import InvalidAuthorizationCode, OAuthRedirectUriMismatch
from authstack_core.models.oauth import AuthorizationCodeRow, OuterInfoRow
from authstack_core.models.projects import TenantProject
from authstack_core.urls import parse_web_url

CODE_LIFETIME = timedelta(minutes=5)  # node-oauth2-server's default, which upstream keeps
MAX_CODE_LENGTH = 256


def redirect_uri_key(redirect_uri: str) -> str | None:
    """How a redirect URI is compared: its browser serialisation without the fragment."""
    url = parse_web_url(redirect_uri.split("#", 1)[0])
    return url.href if url is not None else None


async def issue_code_in(
    conn: AsyncConnection[Any],
    project: TenantProject,
    info: OuterInfoRow,
    user_id: str,
    *,
    is_new_user: bool,
) -> str:
    """A new code for ``user_id``, bound to the flow's redirect URI and PKCE challenge."""
    code = random_code(45)
    await q.delete_stale_authorization_codes(conn, project.tenancy_id)
    await q.insert_authorization_code(
        conn,
        project.tenancy_id,
        sha256_bytes(code),
        AuthorizationCodeRow(
            user_id=uuid.UUID(user_id),
            redirect_uri=info.redirect_uri,
            code_challenge=info.code_challenge,
            is_new_user=is_new_user,
            after_callback_redirect_url=info.after_callback_redirect_url,
            expires_at=datetime.now(UTC) + CODE_LIFETIME,
        ),
    )
    return code


@dataclass(frozen=True, slots=True)
class CodeSignIn:
    """A session from an OAuth sign-in, with what the app asked to be told back."""

    session: IssuedSession
    is_new_user: bool
    after_callback_redirect_url: str | None

    def json(self) -> dict[str, Any]:
        """The token response's own fields (and upstream's deprecated camelCase twins)."""
        return {
            "access_token": self.session.access_token,
            "refresh_token": self.session.refresh_token,
            "is_new_user": self.is_new_user,
            "newUser": self.is_new_user,
            "after_callback_redirect_url": self.after_callback_redirect_url,
            "afterCallbackRedirectUrl": self.after_callback_redirect_url,
        }


def _verifier_matches(code_verifier: str | None, challenge: str) -> bool:
    if code_verifier is None or not CODE_VERIFIER_PATTERN.match(code_verifier):
        return False
    computed: str = create_s256_code_challenge(code_verifier)
    return hmac.compare_digest(computed.encode(), challenge.encode())


async def redeem(
    deps: Deps,
    project: TenantProject,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str | None,
) -> CodeSignIn:
    """Spend ``code`` and sign its user in (or ask for the second factor).

    Raise INVALID_AUTHORIZATION_CODE for a code that is unknown in this project, expired, already
    used, or whose PKCE verifier is missing or wrong; OAuthRedirectUriMismatch when
    ``redirect_uri`` is not the one the code was issued for (neither spends the code); and
    MULTI_FACTOR_AUTHENTICATION_REQUIRED (spending it) for a user with TOTP.
    """
    if len(code) > MAX_CODE_LENGTH:
        raise InvalidAuthorizationCode()
    code_hash = sha256_bytes(code.lower())
    async with deps.pool.connection() as conn, conn.transaction():
        row = await q.select_authorization_code_for_update(conn, project.tenancy_id, code_hash)
        if row is None:
            raise InvalidAuthorizationCode()
        if redirect_uri_key(redirect_uri) != row.redirect_uri:
            raise OAuthRedirectUriMismatch()
        if not _verifier_matches(code_verifier, row.code_challenge):
            raise InvalidAuthorizationCode()
        await q.delete_authorization_code(conn, project.tenancy_id, code_hash)
        result = await mfa.session_or_mfa_in(
            conn, deps, project, row.user_id, first_factor="oauth", is_new_user=row.is_new_user
        )
    if isinstance(result, mfa.MfaRequired):
        raise result.error()
    return CodeSignIn(result, row.is_new_user, row.after_callback_redirect_url)
