"""Sessions: issuing, refreshing and revoking refresh tokens, and signing access tokens."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from authstack_core.crypto.codes import new_refresh_token, sha256_bytes
from authstack_core.db.queries import sessions as q
from authstack_core.domain import audit_log
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    CannotDeleteCurrentSession,
    RefreshTokenNotFoundOrExpired,
    UserNotFound,
)
from authstack_core.models.audit_log import Actor, Target
from authstack_core.models.projects import TenantProject
from authstack_core.models.sessions import SessionRow, TokenClaimsRow
from authstack_core.models.shapes import millis

DEFAULT_SESSION_LIFETIME = timedelta(days=365)
# An administrator acting as a user gets a short session unless they ask for another lifetime.
DEFAULT_IMPERSONATION_LIFETIME = timedelta(hours=1)
MAX_SESSION_LIFETIME = timedelta(days=367)


@dataclass(frozen=True, slots=True)
class IssuedSession:
    access_token: str
    refresh_token: str
    user_id: str

    def json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SignIn:
    """A session from a sign-in that may have created its user (by OTP; completed by MFA)."""

    session: IssuedSession
    is_new_user: bool

    def json(self) -> dict[str, Any]:
        return {**self.session.json(), "is_new_user": self.is_new_user}


def sign_for(deps: Deps, project: TenantProject, claims: TokenClaimsRow) -> str:
    """A signed access token for ``claims``; every issue is a ``$token-refresh`` event (queued,
    never waited for)."""
    deps.analytics.token_refresh(
        project_id=project.id,
        branch_id="main",
        user_id=claims.user_id,
        refresh_token_id=claims.refresh_token_id,
        is_anonymous=claims.is_anonymous,
    )
    return deps.tokens.sign_access_token(
        project_id=project.id,
        branch_id="main",
        user_id=claims.user_id,
        refresh_token_id=claims.refresh_token_id,
        display_name=claims.display_name,
        primary_email=claims.primary_email,
        primary_email_verified=claims.primary_email_verified,
        selected_team_id=claims.selected_team_id,
        signed_up_at_seconds=int(claims.signed_up_at.timestamp()),
        is_anonymous=claims.is_anonymous,
        restricted_reason=claims.restricted_reason(
            require_email_verification=project.config.require_email_verification
        ),
        requires_totp_mfa=claims.requires_totp_mfa,
        is_impersonation=claims.is_impersonation,
    )


async def create_session_in(
    conn: AsyncConnection[Any],
    deps: Deps,
    project: TenantProject,
    user_id: str | uuid.UUID,
    *,
    lifetime: timedelta = DEFAULT_SESSION_LIFETIME,
    is_impersonation: bool = False,
    actor: Actor | None = None,
) -> IssuedSession:
    """Create a session inside the caller's transaction and sign its first access token. An
    impersonation session's start is written to the audit log as ``actor``'s."""
    refresh_token = new_refresh_token()
    session_id = uuid.uuid4()
    expires_at = datetime.now(UTC) + lifetime
    await q.insert_refresh_token(
        conn,
        project.tenancy_id,
        session_id,
        user_id,
        sha256_bytes(refresh_token),
        expires_at,
        is_impersonation=is_impersonation,
    )
    claims = await q.select_claims_for_session(conn, project.tenancy_id, session_id)
    if claims is None:
        raise UserNotFound()
    if is_impersonation:
        await audit_log.record(
            conn,
            project,
            actor,
            "session.impersonation_started",
            Target("user", claims.user_id),
            {"session_id": str(session_id), "expires_at_millis": millis(expires_at)},
        )
    return IssuedSession(sign_for(deps, project, claims), refresh_token, claims.user_id)


async def create_session(
    deps: Deps,
    project: TenantProject,
    user_id: str,
    *,
    lifetime: timedelta | None = None,
    is_impersonation: bool = False,
    actor: Actor | None,
) -> IssuedSession:
    """A session created by the server (``POST /auth/sessions``): 365 days by default, an
    impersonation session 1 hour; an impersonation start is audited as ``actor``'s."""
    if lifetime is None:
        lifetime = DEFAULT_IMPERSONATION_LIFETIME if is_impersonation else DEFAULT_SESSION_LIFETIME
    async with deps.pool.connection() as conn, conn.transaction():
        return await create_session_in(
            conn,
            deps,
            project,
            user_id,
            lifetime=lifetime,
            is_impersonation=is_impersonation,
            actor=actor,
        )


async def refresh_access_token(deps: Deps, project: TenantProject, refresh_token: str) -> str:
    """A new access token for a live refresh token; raise RefreshTokenNotFoundOrExpired."""
    async with deps.pool.connection() as conn:
        # One statement (a CTE), so it is atomic under the pool's autocommit.
        claims = await q.refresh(conn, project.tenancy_id, sha256_bytes(refresh_token), None)
    if claims is None:
        raise RefreshTokenNotFoundOrExpired()
    return sign_for(deps, project, claims)


async def list_sessions(
    deps: Deps, project: TenantProject, user_id: str, *, include_impersonation: bool
) -> list[SessionRow]:
    async with deps.pool.connection() as conn:
        return await q.select_sessions(
            conn, project.tenancy_id, user_id, include_impersonation=include_impersonation
        )


async def session_owner(deps: Deps, project: TenantProject, session_id: str) -> str | None:
    async with deps.pool.connection() as conn:
        return await q.select_session_owner(conn, project.tenancy_id, session_id)


async def revoke_session(
    deps: Deps, project: TenantProject, session_id: str, *, current_session_id: str | None
) -> bool:
    """Delete one session (not the caller's own); False when it did not exist."""
    if current_session_id is not None and session_id == current_session_id:
        raise CannotDeleteCurrentSession()
    async with deps.pool.connection() as conn, conn.transaction():
        return await q.delete_session(conn, project.tenancy_id, session_id)


async def sign_out(deps: Deps, project: TenantProject, session_id: str) -> None:
    """Delete the session an access token names; raise the refresh-token error if already gone."""
    async with deps.pool.connection() as conn, conn.transaction():
        if not await q.delete_session(conn, project.tenancy_id, session_id):
            raise RefreshTokenNotFoundOrExpired()
