"""Email OTP and magic-link sign-in: one code serves both (contract §5.1).

The email shows the code's first six characters (upper case) and a link carrying the whole code;
the API hands the rest (the nonce) to the client, which submits ``lower(otp) + nonce``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

from authstack_core.db.queries import email_verification as email_q
from authstack_core.db.queries import users as users_q
from authstack_core.domain import email_outbox, mfa, sign_up_rules, users, verification
from authstack_core.domain.context import Deps
from authstack_core.domain.sessions import SignIn
from authstack_core.domain.verification import CodeType
from authstack_core.errors import (
    AccountCreatedMeanwhile,
    OtpSignInNotEnabled,
    SignUpNotEnabled,
    UserEmailAlreadyExists,
)
from authstack_core.models.projects import TenantProject
from authstack_core.models.sign_up_rules import SignUpContext
from authstack_core.models.users import NewUser
from authstack_core.models.verification import VerificationCodeRow


def _require_otp(project: TenantProject) -> None:
    if not project.config.otp_sign_in:
        raise OtpSignInNotEnabled()


async def send_sign_in_code(
    deps: Deps, project: TenantProject, *, email: str, callback_url: str
) -> str:
    """Email a magic link and OTP; return the nonce for the client.

    ``callback_url`` must already have passed the trusted-domain check. Raise 403 when OTP is
    off, and USER_EMAIL_ALREADY_EXISTS when the address belongs to an account that has not
    verified it (signing in by email would take that account over; the contract names this
    answer). Otherwise the answer is the same for a new address and an existing account, even
    when sign-up is off: the mail goes out either way and SIGN_UP_NOT_ENABLED comes from
    ``sign_in``, to whoever holds the mailbox, rather than from here, to anyone who asks.
    Answers no sooner than ``verification.SEND_ANSWER_FLOOR_SECONDS``, as send-reset-code does.
    """
    _require_otp(project)
    async with verification.answering_no_sooner():
        return await _send_sign_in_code(deps, project, email=email, callback_url=callback_url)


async def _send_sign_in_code(
    deps: Deps, project: TenantProject, *, email: str, callback_url: str
) -> str:
    tenancy_id = project.tenancy_id
    async with deps.pool.connection() as conn, conn.transaction():
        owner = await users_q.select_auth_email_owner(conn, tenancy_id, email)
        if owner is not None and not owner.is_verified:
            raise UserEmailAlreadyExists(email=email, would_work_if_email_was_verified=True)
        # An existing account is mailed at its stored address, not at the spelling typed here.
        email = owner.email if owner is not None else email
        code = await verification.create_code(
            conn,
            project_id=project.id,
            type=CodeType.ONE_TIME_PASSWORD,
            data={"email": email},
            method={"type": "email", "email": email},
            expires_in=timedelta(seconds=deps.settings.sign_in_code_lifetime),
            redirect_url=callback_url,
        )
        outbox_id = await email_outbox.queue_email(
            conn,
            deps,
            tenancy_id=tenancy_id,
            template="magic_link",
            to_email=email,
            to_user_id=owner.user_id if owner else None,
            variables={
                "magicLink": verification.link_with_code(callback_url, code),
                "otp": verification.otp_of(code),
            },
        )
    await email_outbox.enqueue_emails(deps, [outbox_id])
    return verification.nonce_of(code)


async def sign_in(
    deps: Deps, project: TenantProject, code: str, *, country_code: str | None = None
) -> SignIn:
    """Use the code: sign the address's account in, or create it (from ``country_code``) when
    sign-up is allowed.

    The address becomes verified (the code reached it). Verification-code errors as
    ``verification.use_code``; SIGN_UP_NOT_ENABLED and SIGN_UP_REJECTED (a sign-up rule) leave
    the code unused. For a user with TOTP the code is spent but
    MULTI_FACTOR_AUTHENTICATION_REQUIRED is raised instead of a session (see ``mfa``).
    """
    _require_otp(project)
    tenancy_id = project.tenancy_id
    rules = sign_up_rules.Gate(deps, project)

    async def sign_in_or_up(
        conn: AsyncConnection[Any], row: VerificationCodeRow
    ) -> SignIn | mfa.MfaRequired:
        email = str(row.data["email"])
        owner = await users_q.select_auth_email_owner(conn, tenancy_id, email)
        if owner is not None:
            user_id: str | uuid.UUID = owner.user_id
            await email_q.mark_user_email_verified(conn, tenancy_id, owner.user_id, email)
            is_new = False
        else:
            if not project.config.allow_sign_up:
                raise SignUpNotEnabled()
            verdict = rules.admit(
                SignUpContext.of(email=email, auth_method="otp", country_code=country_code)
            )
            user_id = await users.insert_user_in(
                conn,
                deps,
                project,
                verdict.restrict(
                    NewUser(
                        primary_email=email,
                        primary_email_verified=True,
                        primary_email_auth_enabled=True,
                        otp_auth_enabled=True,
                        country_code=country_code,
                    )
                ),
            )
            is_new = True
        # The OTP is spent and the address verified even when TOTP is still to come: the code
        # did reach the address, and an attacker who has it still lacks the second factor.
        result = await mfa.session_or_mfa_in(
            conn, deps, project, user_id, first_factor="otp", is_new_user=is_new
        )
        return result if isinstance(result, mfa.MfaRequired) else SignIn(result, is_new)

    try:
        outcome = await verification.use_code(
            deps.pool,
            project_id=project.id,
            type=CodeType.ONE_TIME_PASSWORD,
            code=code,
            then=sign_in_or_up,
        )
    except UniqueViolation:  # the same address signed up by another route meanwhile
        raise AccountCreatedMeanwhile() from None
    finally:
        await rules.record()  # after the code's transaction, which a rejection rolls back
    if isinstance(outcome, mfa.MfaRequired):
        raise outcome.error()
    return outcome


async def check(deps: Deps, project: TenantProject, code: str) -> None:
    """Raise the verification-code error if ``code`` could not be used now."""
    await verification.check_code(
        deps.pool, project_id=project.id, type=CodeType.ONE_TIME_PASSWORD, code=code
    )
