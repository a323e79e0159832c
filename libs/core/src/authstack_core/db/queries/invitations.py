"""Team-invitation SQL over the verification_codes table (type TEAM_INVITATION).

The generic code life cycle (create, check, use) is in queries/verification.py; these are the
invitation-specific reads and writes: by id, by team, by recipient.
"""

from __future__ import annotations

import uuid
from typing import Any, LiteralString

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from authstack_core.db.queries.run import changed, fetch_all, fetch_value
from authstack_core.email_address import email_key
from authstack_core.models.invitations import InvitationRow

TEAM_INVITATION = "TEAM_INVITATION"

SELECT_CODE_ID = """
SELECT id FROM verification_codes
WHERE project_id = %(project_id)s AND branch_id = %(branch_id)s AND code_hash = %(code_hash)s
"""


async def select_code_id(
    conn: AsyncConnection[Any], project_id: str, branch_id: str, code_hash: bytes
) -> uuid.UUID | None:
    """The id of the code with this hash (to answer send-code with the invitation's id)."""
    return await fetch_value(
        conn,
        uuid.UUID,
        SELECT_CODE_ID,
        project_id=project_id,
        branch_id=branch_id,
        code_hash=code_hash,
    )


# Live invitations joined with their team in the tenancy; one whose team is gone is left out.
_LIVE = """
SELECT vc.id::text AS id, t.id::text AS team_id, t.display_name AS team_display_name,
       vc.expires_at, vc.method->>'email' AS recipient_email
FROM verification_codes vc
JOIN teams t ON t.tenancy_id = %(tenancy_id)s AND t.id::text = vc.data->>'team_id'
WHERE vc.project_id = %(project_id)s AND vc.branch_id = %(branch_id)s
  AND vc.type = 'TEAM_INVITATION' AND vc.used_at IS NULL AND vc.expires_at > now()
"""
SELECT_TEAM_INVITATIONS = _LIVE + "  AND vc.data @> %(team_filter)s\nORDER BY vc.created_at, vc.id"
SELECT_INVITATIONS_TO = (
    _LIVE
    + """  AND lower((vc.method->>'email') COLLATE "C") = ANY(%(emails)s)
ORDER BY vc.created_at, vc.id"""
)
SELECT_INVITATION_FOR_UPDATE = _LIVE + "  AND vc.id = %(id)s\nFOR UPDATE OF vc"


async def _select_live(
    conn: AsyncConnection[Any],
    statement: LiteralString,
    tenancy_id: uuid.UUID,
    project_id: str,
    branch_id: str,
    **params: Any,
) -> list[InvitationRow]:
    """The live invitations of the branch that ``statement`` (``_LIVE`` and its own condition,
    given ``params``) selects."""
    branch = {"tenancy_id": tenancy_id, "project_id": project_id, "branch_id": branch_id}
    return await fetch_all(conn, InvitationRow, statement, **branch, **params)


async def select_team_invitations(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    project_id: str,
    branch_id: str,
    team_id: str,
) -> list[InvitationRow]:
    return await _select_live(
        conn,
        SELECT_TEAM_INVITATIONS,
        tenancy_id,
        project_id,
        branch_id,
        team_filter=Jsonb({"team_id": team_id}),
    )


async def select_invitations_to(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    project_id: str,
    branch_id: str,
    emails: list[str],
) -> list[InvitationRow]:
    """Live invitations sent to any of ``emails`` (compared by ``email_key``: ASCII case only)."""
    keys = [email_key(e) for e in emails]
    return await _select_live(
        conn, SELECT_INVITATIONS_TO, tenancy_id, project_id, branch_id, emails=keys
    )


async def select_invitation_for_update(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    project_id: str,
    branch_id: str,
    invitation_id: str,
) -> InvitationRow | None:
    """A live invitation by id, row-locked so two accepts cannot both spend it."""
    rows = await _select_live(
        conn, SELECT_INVITATION_FOR_UPDATE, tenancy_id, project_id, branch_id, id=invitation_id
    )
    return rows[0] if rows else None


MARK_USED = """
UPDATE verification_codes SET used_at = now()
WHERE project_id = %(project_id)s AND branch_id = %(branch_id)s AND id = %(id)s
  AND type = 'TEAM_INVITATION'
"""


async def mark_used(
    conn: AsyncConnection[Any], project_id: str, branch_id: str, invitation_id: str
) -> None:
    await conn.execute(
        MARK_USED, {"project_id": project_id, "branch_id": branch_id, "id": invitation_id}
    )


DELETE_TEAM_INVITATION = """
DELETE FROM verification_codes
WHERE project_id = %(project_id)s AND branch_id = %(branch_id)s AND type = 'TEAM_INVITATION'
  AND id = %(id)s AND data @> %(team_filter)s
"""


async def delete_team_invitation(
    conn: AsyncConnection[Any], project_id: str, branch_id: str, team_id: str, invitation_id: str
) -> bool:
    """Revoke one invitation of this team (an invitation of another team is not touched)."""
    return await changed(
        conn,
        DELETE_TEAM_INVITATION,
        project_id=project_id,
        branch_id=branch_id,
        id=invitation_id,
        team_filter=Jsonb({"team_id": team_id}),
    )


DELETE_ALL_OF_TEAM = """
DELETE FROM verification_codes
WHERE project_id = %(project_id)s AND branch_id = %(branch_id)s AND type = 'TEAM_INVITATION'
  AND data @> %(team_filter)s
"""


async def delete_invitations_of_team(
    conn: AsyncConnection[Any], project_id: str, branch_id: str, team_id: str
) -> None:
    await conn.execute(
        DELETE_ALL_OF_TEAM,
        {
            "project_id": project_id,
            "branch_id": branch_id,
            "team_filter": Jsonb({"team_id": team_id}),
        },
    )
