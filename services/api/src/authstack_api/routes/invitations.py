"""Team invitations (contract §1.3): send, list, revoke, and accept by code or by id."""

from __future__ import annotations

from litestar import Response, delete, get, post

from authstack_api.auth import (
    AnyAuth,
    HttpRequest,
    SignedIn,
    UserAuth,
    acting_client,
    user_id_param,
)
from authstack_api.ids import check_uuid
from authstack_api.limits import Limit, limit
from authstack_api.responses import SUCCESS, json_response, list_response
from authstack_api.schemas import InvitationCodeBody, SendInvitationBody
from authstack_core.domain import invitations
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    CannotGetOwnUserWithoutUser,
    RestrictedUserNotAllowed,
    StatusError,
    TeamInvitationRestrictedUserNotAllowed,
)


@post("/api/v1/team-invitations/send-code", status_code=200)
async def send_code(
    auth: AnyAuth, deps: Deps, request: HttpRequest, data: SendInvitationBody
) -> Response[bytes]:
    # A member's invitations carry the team's name to any address: capped per inviting member
    # (client access; a backend with the server key is trusted) as well as per recipient.
    await limit(
        request,
        "invitation_send",
        recipient=data.email,
        account=auth.user_id if auth.type == "client" else None,
    )
    invitation_id = await invitations.send_invitation(
        deps,
        auth.project,
        team_id=check_uuid(data.team_id, "team_id"),
        email=data.email,
        callback_url=data.callback_url,
        acting_user_id=acting_client(auth),
    )
    return json_response({"success": True, "id": invitation_id})


@get("/api/v1/team-invitations")
async def list_invitations(
    auth: AnyAuth, deps: Deps, team_id: str | None = None, user_id: str | None = None
) -> Response[bytes]:
    if (team_id is None) == (user_id is None):
        raise StatusError(400, "Send exactly one of team_id and user_id.")
    if user_id is not None:
        target = user_id_param(auth, user_id)
        if auth.type == "client" and target != auth.user_id:
            raise CannotGetOwnUserWithoutUser()
        rows = await invitations.list_invitations_to_user(deps, auth.project, target)
    else:
        assert team_id is not None
        rows = await invitations.list_team_invitations(
            deps, auth.project, check_uuid(team_id, "team_id"), acting_user_id=acting_client(auth)
        )
    return list_response(r.json() for r in rows)


def _required(value: str | None, refusal: str) -> str:
    """A query parameter the route cannot do without: a plain-text 400 when it is missing."""
    if value is None:
        raise StatusError(400, refusal)
    return value


@delete("/api/v1/team-invitations/{invitation_id:str}", status_code=200)
async def revoke_invitation(
    auth: AnyAuth, deps: Deps, invitation_id: str, team_id: str | None = None
) -> Response[bytes]:
    team = check_uuid(
        _required(team_id, "team_id is required to revoke a team invitation."), "team_id"
    )
    await invitations.revoke_invitation(
        deps,
        auth.project,
        team,
        check_uuid(invitation_id, "id"),
        acting_user_id=acting_client(auth),
    )
    return json_response(SUCCESS)


def _check_unrestricted(auth: SignedIn) -> None:
    if auth.user.is_restricted:
        raise RestrictedUserNotAllowed(restricted_reason=auth.user.restricted_reason)


_CODE_CHECK = {"limit": Limit("code_check")}


@post("/api/v1/team-invitations/accept", status_code=200, opt=_CODE_CHECK)
async def accept(auth: UserAuth, deps: Deps, data: InvitationCodeBody) -> Response[bytes]:
    _check_unrestricted(auth)
    await invitations.accept_with_code(deps, auth.project, data.code, auth.user.user_id)
    return json_response({})


@post("/api/v1/team-invitations/accept/check-code", status_code=200, opt=_CODE_CHECK)
async def check_code(auth: AnyAuth, deps: Deps, data: InvitationCodeBody) -> Response[bytes]:
    await invitations.check_code(deps, auth.project, data.code)
    return json_response({"is_code_valid": True})


@post("/api/v1/team-invitations/accept/details", status_code=200, opt=_CODE_CHECK)
async def details(auth: UserAuth, deps: Deps, data: InvitationCodeBody) -> Response[bytes]:
    _check_unrestricted(auth)
    team = await invitations.code_details(deps, auth.project, data.code)
    return json_response({"team_id": team.id, "team_display_name": team.display_name})


@post("/api/v1/team-invitations/{invitation_id:str}/accept", status_code=200)
async def accept_by_id(
    auth: AnyAuth, deps: Deps, invitation_id: str, user_id: str | None = None
) -> Response[bytes]:
    required = _required(user_id, "user_id is required (user_id=me for the signed-in user).")
    target = user_id_param(auth, required)
    if auth.type == "client":
        if target != auth.user_id:
            raise CannotGetOwnUserWithoutUser()
        assert auth.user is not None
        if auth.user.is_restricted:
            raise TeamInvitationRestrictedUserNotAllowed(
                restricted_reason=auth.user.restricted_reason
            )
    await invitations.accept_by_id(deps, auth.project, check_uuid(invitation_id, "id"), target)
    return json_response({})
