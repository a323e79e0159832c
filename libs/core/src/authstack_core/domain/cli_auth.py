"""CLI sign-in: a CLI starts an attempt and polls it; a signed-in browser completes it with the
login code; the first poll after that takes a session of the CLI's own, and no later one does.

No refresh token is ever stored for the CLI: `complete` records the user, and the poll that
takes the attempt (one conditional UPDATE) mints a fresh session in the same transaction. So the
CLI's session is its own (listed and revoked apart from the browser's), and a database read
gives nobody a token. The codes are stored as SHA-256 only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from authstack_core.crypto.codes import random_code, sha256_bytes
from authstack_core.db.queries import cli_auth as q
from authstack_core.db.queries import sessions as session_queries
from authstack_core.domain import sessions
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    CliAnonRefreshTokenInvalid,
    CliAnonRefreshTokenNotAnonymous,
    CliLoginCodeInvalid,
    CliNoAnonymousSession,
    CliRefreshTokenInvalid,
    InvalidPollingCode,
    RestrictedUserNotAllowed,
)
from authstack_core.models.projects import TenantProject

DEFAULT_LIFETIME = timedelta(hours=2)
MAX_LIFETIME = timedelta(hours=24)
# An expired attempt still answers "expired" for this long; then the cron step deletes it and a
# poll gets INVALID_POLLING_CODE.
PURGE_GRACE = timedelta(hours=1)
PURGE_BATCH = 1000

PollStatus = Literal["waiting", "success", "expired", "used"]


def _iso_millis(at: datetime) -> str:
    """The instant as JavaScript's ``toISOString`` writes it (UTC, milliseconds, ``Z``)."""
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class StartedAttempt:
    polling_code: str
    login_code: str
    expires_at: datetime

    def json(self) -> dict[str, str]:
        return {
            "polling_code": self.polling_code,
            "login_code": self.login_code,
            "expires_at": _iso_millis(self.expires_at),
        }


@dataclass(frozen=True, slots=True)
class PollResult:
    status: PollStatus
    refresh_token: str | None = None

    def json(self) -> dict[str, Any]:
        if self.refresh_token is None:
            return {"status": self.status}
        return {"status": self.status, "refresh_token": self.refresh_token}


async def start(
    deps: Deps,
    project: TenantProject,
    *,
    lifetime: timedelta,
    anon_refresh_token: str | None,
) -> StartedAttempt:
    """A new attempt living ``lifetime`` (at most MAX_LIFETIME; the caller checks).

    ``anon_refresh_token``: the CLI's anonymous session, which the browser may then claim. Raise
    CliAnonRefreshTokenInvalid when it is not a live session of this project, and
    CliAnonRefreshTokenNotAnonymous when its user is not anonymous.
    """
    polling_code, login_code = random_code(), random_code()
    async with deps.pool.connection() as conn, conn.transaction():
        anon_session_id = None
        if anon_refresh_token is not None:
            session = await q.select_live_session(
                conn, project.tenancy_id, sha256_bytes(anon_refresh_token)
            )
            if session is None:
                raise CliAnonRefreshTokenInvalid()
            if not session.is_anonymous:
                raise CliAnonRefreshTokenNotAnonymous()
            anon_session_id = session.session_id
        expires_at = await q.insert_attempt(
            conn,
            project.tenancy_id,
            polling_code_hash=sha256_bytes(polling_code),
            login_code_hash=sha256_bytes(login_code),
            anon_refresh_token_id=anon_session_id,
            lifetime=lifetime,
        )
    return StartedAttempt(polling_code, login_code, expires_at)


async def poll(deps: Deps, project: TenantProject, polling_code: str) -> PollResult:
    """``success`` with a new session's refresh token the first time a completed attempt is
    polled; ``used`` after that; else ``expired`` or ``waiting``. Raise InvalidPollingCode for a
    code that is not one of this project's attempts."""
    code_hash = sha256_bytes(polling_code)
    async with deps.pool.connection() as conn, conn.transaction():
        user_id = await q.take_completed(conn, project.tenancy_id, code_hash)
        if user_id is not None:
            issued = await sessions.create_session_in(conn, deps, project, user_id)
            return PollResult("success", issued.refresh_token)
        state = await q.select_state(conn, project.tenancy_id, code_hash)
    if state is None:
        raise InvalidPollingCode()
    if state.expired:
        return PollResult("expired")
    return PollResult("used" if state.used else "waiting")


async def check(
    deps: Deps, project: TenantProject, login_code: str
) -> Literal["anonymous", "none"]:
    """Whether the pending attempt of ``login_code`` carries an anonymous session to claim.
    Raise CliLoginCodeInvalid for an unknown, expired or completed one."""
    async with deps.pool.connection() as conn:
        pending = await q.select_pending(conn, project.tenancy_id, sha256_bytes(login_code))
    if pending is None:
        raise CliLoginCodeInvalid()
    return "anonymous" if pending.has_anonymous_session else "none"


async def claim_anonymous_session(
    deps: Deps, project: TenantProject, login_code: str
) -> sessions.IssuedSession:
    """A new session of the CLI's anonymous user, for the browser (once per attempt).

    Raise CliLoginCodeInvalid for an attempt that is not pending, CliNoAnonymousSession when it
    has no live anonymous session (none, already claimed, ended, or its user signed up)."""
    code_hash = sha256_bytes(login_code)
    async with deps.pool.connection() as conn, conn.transaction():
        user_id = await q.claim_anonymous_session(conn, project.tenancy_id, code_hash)
        if user_id is not None:
            return await sessions.create_session_in(conn, deps, project, user_id)
        pending = await q.select_pending(conn, project.tenancy_id, code_hash)
    raise CliNoAnonymousSession() if pending is not None else CliLoginCodeInvalid()


async def complete(
    deps: Deps, project: TenantProject, login_code: str, *, user_id: str, refresh_token: str
) -> None:
    """Sign the CLI in as ``user_id`` (the browser's signed-in user), whose live session
    ``refresh_token`` must be. An anonymous session the CLI brought is dropped, not merged.

    Raise CliLoginCodeInvalid unless the attempt is pending, CliRefreshTokenInvalid for a
    refresh token that is not a live session of ``user_id``, RestrictedUserNotAllowed for a
    restricted (or anonymous) user.
    """
    code_hash = sha256_bytes(login_code)
    async with deps.pool.connection() as conn, conn.transaction():
        if await q.select_pending(conn, project.tenancy_id, code_hash) is None:
            raise CliLoginCodeInvalid()
        session = await q.select_live_session(conn, project.tenancy_id, sha256_bytes(refresh_token))
        if session is None or session.user_id != user_id:
            raise CliRefreshTokenInvalid()
        claims = await session_queries.select_claims_for_session(
            conn, project.tenancy_id, session.session_id
        )
        if claims is None:
            raise CliRefreshTokenInvalid()
        reason = claims.restricted_reason(
            require_email_verification=project.config.require_email_verification
        )
        if reason is not None:
            raise RestrictedUserNotAllowed(restricted_reason=reason)
        # Conditional: of two browsers racing with one login code, only one signs the CLI in.
        if not await q.complete(conn, project.tenancy_id, code_hash, user_id):
            raise CliLoginCodeInvalid()


async def purge_expired(deps: Deps) -> int:
    """Delete up to PURGE_BATCH attempts of any project that expired PURGE_GRACE ago or more
    (the cron step calls this); returns how many went."""
    async with deps.pool.connection() as conn, conn.transaction():
        return await q.delete_expired(conn, grace=PURGE_GRACE, limit=PURGE_BATCH)
