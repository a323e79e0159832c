"""Team invitations: a TEAM_INVITATION verification code sent to an e-mail address, accepted by
the code (the e-mailed link) or, by a user holding that verified address, by the invitation id.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from authstack_core.crypto.codes import sha256_bytes
from authstack_core.db.queries import contact_channels as channels_q
from authstack_core.db.queries import invitations as q
from authstack_core.db.queries import users as users_q
from authstack_core.domain import email_outbox, verification
from authstack_core.domain.context import Deps
from authstack_core.domain.permissions import require_team_permission
from authstack_core.domain.teams import add_member_in, require_team_in, require_user_in
from authstack_core.email_address import email_key
from authstack_core.errors import VerificationCodeNotFound
from authstack_core.models.invitations import InvitationRow
from authstack_core.models.projects import TenantProject
from authstack_core.models.teams import TeamRow
from authstack_core.models.verification import VerificationCodeRow
from authstack_core.redirects import require_trusted_redirect

BRANCH = "main"


async def send_invitation(
    deps: Deps,
    project: TenantProject,
    *,
    team_id: str,
    email: str,
    callback_url: str,
    acting_user_id: str | None,
) -> str:
    """Create the invitation code and queue the e-mail carrying its link (``callback_url?code=``)
    in one transaction; return the invitation id. A client needs ``$invite_members``;
    ``callback_url`` must be trusted (REDIRECT_URL_NOT_WHITELISTED); its browser serialisation
    is what the code row and the e-mail carry."""
    callback_url = require_trusted_redirect(project.config, callback_url)
    async with deps.pool.connection() as conn, conn.transaction():
        if acting_user_id is not None:
            await require_team_permission(conn, project, team_id, acting_user_id, "$invite_members")
        team = await require_team_in(conn, project, team_id)
        code = await verification.create_code(
            conn,
            project_id=project.id,
            branch_id=BRANCH,
            type=verification.CodeType.TEAM_INVITATION,
            data={"team_id": team_id},
            method={"email": email},
            redirect_url=callback_url,
        )
        invitation_id = await q.select_code_id(conn, project.id, BRANCH, sha256_bytes(code))
        assert invitation_id is not None
        outbox_id = await email_outbox.queue_email(
            conn,
            deps,
            tenancy_id=project.tenancy_id,
            template="team_invitation",
            to_email=email,
            variables=await _invitation_variables(
                conn, project, team, verification.link_with_code(callback_url, code), acting_user_id
            ),
        )
    await email_outbox.enqueue_emails(deps, [outbox_id])  # after commit; the cron step backs it up
    return str(invitation_id)


async def _invitation_variables(
    conn: AsyncConnection[Any],
    project: TenantProject,
    team: TeamRow,
    link: str,
    inviter_id: str | None,
) -> dict[str, str]:
    variables = {"teamDisplayName": team.display_name, "teamInvitationLink": link}
    if inviter_id is not None:
        inviter = await users_q.select_user(conn, project.tenancy_id, inviter_id)
        if inviter is not None and inviter.display_name:
            variables["inviterDisplayName"] = inviter.display_name
    return variables


async def list_team_invitations(
    deps: Deps, project: TenantProject, team_id: str, *, acting_user_id: str | None
) -> list[InvitationRow]:
    """A client needs ``$read_members`` and ``$invite_members`` in the team."""
    async with deps.pool.connection() as conn:
        if acting_user_id is not None:
            for permission_id in ("$read_members", "$invite_members"):
                await require_team_permission(conn, project, team_id, acting_user_id, permission_id)
        else:
            await require_team_in(conn, project, team_id)
        return await q.select_team_invitations(
            conn, project.tenancy_id, project.id, BRANCH, team_id
        )


async def _verified_emails(
    conn: AsyncConnection[Any], project: TenantProject, user_id: str
) -> list[str]:
    channels = await channels_q.select_channels(
        conn, project.tenancy_id, user_id=user_id, channel_id=None
    )
    return [c.value for c in channels if c.type == "email" and c.is_verified]


async def list_invitations_to_user(
    deps: Deps, project: TenantProject, user_id: str
) -> list[InvitationRow]:
    """Live invitations sent to any of the user's verified e-mail addresses."""
    async with deps.pool.connection() as conn:
        emails = await _verified_emails(conn, project, user_id)
        if not emails:
            return []
        return await q.select_invitations_to(conn, project.tenancy_id, project.id, BRANCH, emails)


async def revoke_invitation(
    deps: Deps,
    project: TenantProject,
    team_id: str,
    invitation_id: str,
    *,
    acting_user_id: str | None,
) -> None:
    """Revoke one of the team's invitations; a client needs ``$remove_members``."""
    async with deps.pool.connection() as conn, conn.transaction():
        if acting_user_id is not None:
            await require_team_permission(conn, project, team_id, acting_user_id, "$remove_members")
        else:
            await require_team_in(conn, project, team_id)
        if not await q.delete_team_invitation(conn, project.id, BRANCH, team_id, invitation_id):
            raise VerificationCodeNotFound()


async def _join(
    conn: AsyncConnection[Any], project: TenantProject, team_id: str, user_id: str
) -> None:
    # A token can outlive its user; joining must then fail cleanly, not on a foreign key.
    await require_user_in(conn, project, user_id)
    await require_team_in(conn, project, team_id)
    if not await users_q.select_is_member(conn, project.tenancy_id, team_id, user_id):
        await add_member_in(conn, project, team_id, user_id, creator=False)


async def accept_with_code(deps: Deps, project: TenantProject, code: str, user_id: str) -> None:
    """Spend the e-mailed code and make the user a member (already being one is fine)."""

    async def join(conn: AsyncConnection[Any], row: VerificationCodeRow) -> None:
        await _join(conn, project, str(row.data["team_id"]), user_id)

    await verification.use_code(
        deps.pool,
        project_id=project.id,
        branch_id=BRANCH,
        type=verification.CodeType.TEAM_INVITATION,
        code=code,
        then=join,
    )


async def check_code(deps: Deps, project: TenantProject, code: str) -> VerificationCodeRow:
    """Raise the verification error the code would give on accept; counts as an attempt.
    Returns the code's row (the code stays unused)."""
    return await verification.check_code(
        deps.pool,
        project_id=project.id,
        branch_id=BRANCH,
        type=verification.CodeType.TEAM_INVITATION,
        code=code,
    )


async def code_details(deps: Deps, project: TenantProject, code: str) -> TeamRow:
    """The team an unused, valid code invites to (the code stays unused)."""
    row = await check_code(deps, project, code)
    async with deps.pool.connection() as conn:
        return await require_team_in(conn, project, str(row.data["team_id"]))


async def accept_by_id(
    deps: Deps, project: TenantProject, invitation_id: str, user_id: str
) -> None:
    """Accept for a user one of whose verified e-mail addresses the invitation was sent to;
    VERIFICATION_CODE_NOT_FOUND otherwise (so ids of others' invitations reveal nothing)."""
    async with deps.pool.connection() as conn, conn.transaction():
        await require_user_in(conn, project, user_id)
        invitation = await q.select_invitation_for_update(
            conn, project.tenancy_id, project.id, BRANCH, invitation_id
        )
        emails = {email_key(e) for e in await _verified_emails(conn, project, user_id)}
        if invitation is None or email_key(invitation.recipient_email) not in emails:
            raise VerificationCodeNotFound()
        await q.mark_used(conn, project.id, BRANCH, invitation_id)
        await _join(conn, project, invitation.team_id, user_id)
