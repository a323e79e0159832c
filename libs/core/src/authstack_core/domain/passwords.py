"""Password reset by emailed code, password change and first password (contract §1.2, §5.1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import ForeignKeyViolation

from authstack_core.crypto.codes import sha256_bytes
from authstack_core.db.queries import email_verification as email_q
from authstack_core.db.queries import sessions as session_q
from authstack_core.db.queries import users as users_q
from authstack_core.domain import email_outbox, verification
from authstack_core.domain.context import Deps
from authstack_core.domain.users import check_password_rules
from authstack_core.domain.verification import CodeType
from authstack_core.errors import (
    PasswordAuthenticationNotEnabled,
    PasswordConfirmationMismatch,
    UserAlreadyHasPassword,
    UserDoesNotHavePassword,
    UserNotFound,
)
from authstack_core.models.projects import TenantProject
from authstack_core.models.verification import VerificationCodeRow

RESET_SENT_ANSWER = {"success": "maybe, only if user with e-mail exists"}


async def send_reset_code(
    deps: Deps, project: TenantProject, *, email: str, callback_url: str
) -> None:
    """Email a reset link if ``email`` signs an account in; otherwise do nothing, as slowly.

    ``callback_url`` must already have passed the trusted-domain check. Returns normally in
    both cases (enumeration-safe); raise PASSWORD_AUTHENTICATION_NOT_ENABLED if passwords are
    off for the project.
    """
    if not project.config.password_sign_in:
        raise PasswordAuthenticationNotEnabled()
    tenancy_id = project.tenancy_id
    async with verification.answering_no_sooner():
        outbox_id = None
        async with deps.pool.connection() as conn, conn.transaction():
            owner = await users_q.select_auth_email_owner(conn, tenancy_id, email)
            if owner is not None:
                # The link goes to the address on the account, never to the spelling typed
                # here: the two only compare equal under email_key. Only the newest link works:
                # asking again retires the ones already sent.
                await verification.expire_password_reset_codes(
                    conn, project_id=project.id, user_id=owner.user_id
                )
                code = await verification.create_code(
                    conn,
                    project_id=project.id,
                    type=CodeType.PASSWORD_RESET,
                    data={"user_id": owner.user_id, "email": owner.email},
                    method={"email": owner.email},
                    expires_in=timedelta(seconds=deps.settings.password_reset_code_lifetime),
                    redirect_url=callback_url,
                )
                outbox_id = await email_outbox.queue_email(
                    conn,
                    deps,
                    tenancy_id=tenancy_id,
                    template="password_reset",
                    to_user_id=owner.user_id,
                    to_email=owner.email,
                    variables={
                        "passwordResetLink": verification.link_with_code(callback_url, code)
                    },
                )
        if outbox_id is not None:
            await email_outbox.enqueue_emails(deps, [outbox_id])


async def _store_password_in(
    conn: AsyncConnection[Any],
    project: TenantProject,
    user_id: str,
    password_hash: str,
    *,
    keep_refresh_token: str | None,
) -> None:
    """Set the hash, then revoke every session of the user but the one whose refresh token is
    ``keep_refresh_token`` (the caller's own), and every reset link still live."""
    tenancy_id = project.tenancy_id
    keep = None
    if keep_refresh_token:
        keep = await session_q.select_session_id_by_hash(
            conn, tenancy_id, sha256_bytes(keep_refresh_token)
        )
    await users_q.set_password_hash(conn, tenancy_id, user_id, password_hash)
    await session_q.delete_user_sessions(conn, tenancy_id, user_id, keep_id=keep)
    await verification.expire_password_reset_codes(conn, project_id=project.id, user_id=user_id)


async def check_reset_code(deps: Deps, project: TenantProject, code: str) -> None:
    """Raise the verification-code error if ``code`` could not be used now."""
    await verification.check_code(
        deps.pool, project_id=project.id, type=CodeType.PASSWORD_RESET, code=code
    )


async def reset_password(deps: Deps, project: TenantProject, *, code: str, password: str) -> None:
    """Set a new password with a reset code; every session of the user is revoked.

    Raise PASSWORD_TOO_SHORT / _TOO_LONG and the verification-code errors (checked before the
    password is hashed, so a bad code costs no bcrypt).
    """
    check_password_rules(password, project.config)
    await check_reset_code(deps, project, code)
    password_hash = await deps.passwords.hash(password)
    tenancy_id = project.tenancy_id

    async def apply(conn: AsyncConnection[Any], row: VerificationCodeRow) -> None:
        user_id = str(row.data["user_id"])
        if not await users_q.select_user(conn, tenancy_id, user_id):
            raise UserNotFound()
        # Every session ends, and any other reset link dies with this one (used already).
        await _store_password_in(conn, project, user_id, password_hash, keep_refresh_token=None)
        # The link reached the address, which proves the user controls it.
        await email_q.mark_user_email_verified(conn, tenancy_id, user_id, str(row.data["email"]))

    await verification.use_code(
        deps.pool, project_id=project.id, type=CodeType.PASSWORD_RESET, code=code, then=apply
    )


async def update_password(
    deps: Deps,
    project: TenantProject,
    *,
    user_id: str,
    old_password: str,
    new_password: str,
    refresh_token: str | None,
) -> None:
    """Change the password (the old one is required) and revoke every other session.

    The session named by ``refresh_token`` (the caller's own) is kept. Raise
    USER_DOES_NOT_HAVE_PASSWORD, PASSWORD_CONFIRMATION_MISMATCH, PASSWORD_TOO_SHORT / _TOO_LONG.
    """
    check_password_rules(new_password, project.config)
    tenancy_id = project.tenancy_id
    async with deps.pool.connection() as conn:
        current = await users_q.select_password_hash(conn, tenancy_id, user_id)
    if current is None:
        raise UserDoesNotHavePassword()
    if not await deps.passwords.verify(old_password, current):
        raise PasswordConfirmationMismatch()
    new_hash = await deps.passwords.hash(new_password)
    async with deps.pool.connection() as conn, conn.transaction():
        await _store_password_in(conn, project, user_id, new_hash, keep_refresh_token=refresh_token)


async def set_password(
    deps: Deps,
    project: TenantProject,
    *,
    user_id: str,
    password: str,
    refresh_token: str | None,
) -> None:
    """Give a password to a user who has none and revoke every other session; 400 if the user
    already has one.

    As for a change, the session named by ``refresh_token`` (the caller's own) is kept: a new
    way in is a moment to cut off sessions the user may not know about. Raise USER_NOT_FOUND
    when the user is gone (an access token outlives its user by minutes).
    """
    check_password_rules(password, project.config)
    tenancy_id = project.tenancy_id
    async with deps.pool.connection() as conn:
        if await users_q.select_signed_up_at(conn, tenancy_id, user_id) is None:
            raise UserNotFound()
        if await users_q.select_password_hash(conn, tenancy_id, user_id) is not None:
            raise UserAlreadyHasPassword()
    password_hash = await deps.passwords.hash(password)
    try:
        async with deps.pool.connection() as conn, conn.transaction():
            if await users_q.select_password_hash(conn, tenancy_id, user_id) is not None:
                raise UserAlreadyHasPassword("This user already has a password.")
            await _store_password_in(
                conn, project, user_id, password_hash, keep_refresh_token=refresh_token
            )
    except ForeignKeyViolation:  # deleted while the password was being hashed
        raise UserNotFound() from None
