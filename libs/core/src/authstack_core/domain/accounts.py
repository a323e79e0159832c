"""Sign-up and sign-in with the API's own credentials: password sign-up (also upgrading an
anonymous user), anonymous sign-up and password sign-in (which may end in MFA-required)."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

from authstack_core.db.queries import email_verification as email_q
from authstack_core.db.queries import teams as teams_q
from authstack_core.db.queries import users as q
from authstack_core.domain import email_outbox, email_verification, mfa, sign_up_rules, users
from authstack_core.domain.context import Deps
from authstack_core.domain.sessions import IssuedSession, create_session_in
from authstack_core.domain.users import check_password_rules
from authstack_core.errors import (
    EmailPasswordMismatch,
    PasswordAuthenticationNotEnabled,
    SignUpNotEnabled,
    UserEmailAlreadyExists,
)
from authstack_core.models.projects import TenantProject
from authstack_core.models.sign_up_rules import SignUpContext
from authstack_core.models.users import NewUser, UserColumns


async def _is_anonymous(conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: str) -> bool:
    row = await q.select_user(conn, tenancy_id, user_id)
    return row is not None and row.is_anonymous


async def sign_up_with_password(
    deps: Deps,
    project: TenantProject,
    *,
    email: str,
    password: str,
    anonymous_user_id: str | None = None,
    verification_callback_url: str | None = None,
    country_code: str | None = None,
) -> IssuedSession:
    """Create a password user (or upgrade the signed-in anonymous one) and sign it in.

    With ``verification_callback_url`` (already checked against the trusted domains), a
    verification email is queued in the same transaction and sent after commit. A new user
    records ``country_code``, the country the sign-up came from.
    """
    config = project.config
    if not config.password_sign_in:
        raise PasswordAuthenticationNotEnabled()
    if not config.allow_sign_up:
        raise SignUpNotEnabled()
    check_password_rules(password, config)
    signing_up = SignUpContext.of(email=email, auth_method="password", country_code=country_code)
    rules = await sign_up_rules.check_sign_up(deps, project, signing_up)
    password_hash = await deps.passwords.hash(password)
    tenancy_id = project.tenancy_id
    try:
        async with deps.pool.connection() as conn, conn.transaction():
            if anonymous_user_id is not None and not await _is_anonymous(
                conn, tenancy_id, anonymous_user_id
            ):
                anonymous_user_id = None  # the token outlived its user: a plain sign-up
            if anonymous_user_id is not None:
                await users.ensure_email_free(conn, tenancy_id, email, except_user=None)
                await q.update_user_columns(
                    conn, tenancy_id, anonymous_user_id, UserColumns(is_anonymous=False)
                )
                await sign_up_rules.restrict_upgraded_in(conn, project, anonymous_user_id, rules)
                await q.set_primary_email(
                    conn, tenancy_id, anonymous_user_id, email, verified=False, used_for_auth=True
                )
                await q.set_password_hash(conn, tenancy_id, anonymous_user_id, password_hash)
                upgraded = await q.select_user(conn, tenancy_id, anonymous_user_id)
                assert upgraded is not None
                await teams_q.rename_user_teams_named(
                    conn,
                    tenancy_id,
                    anonymous_user_id,
                    users.ANONYMOUS_TEAM_NAME,
                    users.personal_team_name(upgraded.display_name, email),
                )
                await users.record_user(conn, project, "user.updated", anonymous_user_id)
                user_id: str | uuid.UUID = anonymous_user_id
            else:
                user_id = await users.insert_user_in(
                    conn,
                    deps,
                    project,
                    rules.restrict(
                        NewUser(
                            primary_email=email,
                            primary_email_auth_enabled=True,
                            password_hash=password_hash,
                            country_code=country_code,
                        )
                    ),
                )
            session = await create_session_in(conn, deps, project, user_id)
            outbox_ids = []
            if verification_callback_url is not None:
                channel = await email_q.select_primary_channel(conn, tenancy_id, str(user_id))
                assert channel is not None
                outbox_ids.append(
                    await email_verification.queue_verification_email(
                        conn,
                        deps,
                        project,
                        user_id=user_id,
                        channel_id=channel.id,
                        email=email,
                        callback_url=verification_callback_url,
                    )
                )
    except UniqueViolation as exc:  # a concurrent sign-up with the same email won the race
        if users.is_email_conflict(exc):
            raise UserEmailAlreadyExists(
                email=email, would_work_if_email_was_verified=False
            ) from None
        raise
    await email_outbox.enqueue_emails(deps, outbox_ids)
    return session


async def sign_up_anonymously(
    deps: Deps, project: TenantProject, *, country_code: str | None = None
) -> IssuedSession:
    """Create an anonymous user (from ``country_code``) and sign it in. Works even where sign-up
    is off: the user can only become a full account through a sign-up, which checks that."""
    new = NewUser(is_anonymous=True, country_code=country_code)
    async with deps.pool.connection() as conn, conn.transaction():
        user_id = await users.insert_user_in(conn, deps, project, new)
        return await create_session_in(conn, deps, project, user_id)


async def sign_in_with_password(
    deps: Deps, project: TenantProject, *, email: str, password: str
) -> IssuedSession:
    """Check the password in constant-ish time whatever the email; raise EMAIL_PASSWORD_MISMATCH.

    For a user with TOTP, raise MULTI_FACTOR_AUTHENTICATION_REQUIRED (with an attempt code for
    ``/auth/mfa/sign-in``) instead of issuing a session.
    """
    if not project.config.password_sign_in:
        raise PasswordAuthenticationNotEnabled()
    tenancy_id = project.tenancy_id
    async with deps.pool.connection() as conn:
        found = await q.select_password_login(conn, tenancy_id, email)
    # Always run bcrypt: against the stored hash, or a dummy one when there is no such account.
    ok = await deps.passwords.verify(password, found[1] if found else None)
    if not ok or found is None:
        raise EmailPasswordMismatch()
    user_id, stored = found
    assert stored is not None  # verify() says no when there is no hash
    upgraded = None
    if deps.passwords.needs_rehash(password, stored):
        # An old format (plain bcrypt, or an imported argon2id / scrypt / PBKDF2 hash) becomes a
        # current one now that the password is known to be right.
        upgraded = await deps.passwords.hash(password)
    async with deps.pool.connection() as conn, conn.transaction():
        if upgraded is not None:
            await q.replace_password_hash(conn, tenancy_id, user_id, stored, upgraded)
        result = await mfa.session_or_mfa_in(conn, deps, project, user_id, first_factor="password")
    if isinstance(result, mfa.MfaRequired):
        raise result.error()
    return result
