"""Contact-channel (email) verification: send a code by email, then verify with it."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries import email_verification as q
from authstack_core.domain import email_outbox, verification
from authstack_core.domain.context import Deps
from authstack_core.domain.verification import CodeType
from authstack_core.email_address import email_key
from authstack_core.errors import (
    ContactChannelNotFound,
    EmailAlreadyVerified,
    EmailIsNotPrimaryEmail,
    EmailNoLongerOnAccount,
)
from authstack_core.models.projects import TenantProject
from authstack_core.models.verification import VerificationCodeRow


async def queue_verification_email(
    conn: AsyncConnection[Any],
    deps: Deps,
    project: TenantProject,
    *,
    user_id: str | uuid.UUID,
    channel_id: str | uuid.UUID,
    email: str,
    callback_url: str,
) -> uuid.UUID:
    """Create the code and its email in the caller's transaction; returns the outbox id.

    ``callback_url`` must already have passed the trusted-domain check.
    """
    code = await verification.create_code(
        conn,
        project_id=project.id,
        type=CodeType.CONTACT_CHANNEL_VERIFICATION,
        data={"user_id": str(user_id), "channel_id": str(channel_id), "email": email},
        method={"email": email},
        redirect_url=callback_url,
    )
    return await email_outbox.queue_email(
        conn,
        deps,
        tenancy_id=project.tenancy_id,
        template="email_verification",
        to_user_id=user_id,
        to_email=email,
        variables={"emailVerificationLink": verification.link_with_code(callback_url, code)},
    )


async def send_verification_code(
    deps: Deps,
    project: TenantProject,
    *,
    user_id: str,
    channel_id: str | None,
    email: str | None = None,
    callback_url: str,
) -> None:
    """Email a verification link for a channel (by id, or the primary one matching ``email``).

    Raise 404 for an unknown channel, EMAIL_IS_NOT_PRIMARY_EMAIL, EMAIL_ALREADY_VERIFIED.
    """
    tenancy_id = project.tenancy_id
    async with deps.pool.connection() as conn, conn.transaction():
        if channel_id is not None:
            channel = await q.select_channel(conn, tenancy_id, user_id, channel_id)
        else:
            channel = await q.select_primary_channel(conn, tenancy_id, user_id)
            if channel is None or email is None or email_key(channel.value) != email_key(email):
                raise EmailIsNotPrimaryEmail(
                    email=email, primary_email=channel.value if channel else None
                )
        if channel is None:
            raise ContactChannelNotFound()
        if channel.is_verified:
            raise EmailAlreadyVerified()
        outbox_id = await queue_verification_email(
            conn,
            deps,
            project,
            user_id=user_id,
            channel_id=channel.id,
            email=channel.value,
            callback_url=callback_url,
        )
    await email_outbox.enqueue_emails(deps, [outbox_id])


async def verify(deps: Deps, project: TenantProject, code: str) -> None:
    """Use a verification code: the channel it was sent to becomes verified.

    Verification-code errors as ``verification.use_code``; 400 if the channel no longer holds
    the address the code was sent to (the code then stays unused).
    """
    tenancy_id = project.tenancy_id

    async def mark(conn: AsyncConnection[Any], row: VerificationCodeRow) -> None:
        data = row.data
        if not await q.mark_channel_verified(
            conn, tenancy_id, data["user_id"], data["channel_id"], data["email"]
        ):
            raise EmailNoLongerOnAccount()

    await verification.use_code(
        deps.pool,
        project_id=project.id,
        type=CodeType.CONTACT_CHANNEL_VERIFICATION,
        code=code,
        then=mark,
    )


async def check(deps: Deps, project: TenantProject, code: str) -> None:
    """Raise the verification-code error if ``code`` could not be used now."""
    await verification.check_code(
        deps.pool, project_id=project.id, type=CodeType.CONTACT_CHANNEL_VERIFICATION, code=code
    )
