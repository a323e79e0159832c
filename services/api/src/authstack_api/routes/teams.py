"""Teams, team memberships and team member profiles (contract §1.3, §5.4)."""

from __future__ import annotations

from typing import Any

from litestar import Response, delete, get, patch, post
from msgspec import UNSET

from authstack_api.auth import (
    AnyAuth,
    Auth,
    ServerAuth,
    acting_client,
    listed_user,
    resolve_user_id,
    user_id_param,
)
from authstack_api.ids import check_uuid, parse_bool
from authstack_api.paging import SEARCH_PAGE, SearchQuery
from authstack_api.responses import SUCCESS, json_response, list_response
from authstack_api.schemas import (
    ClientTeamCreate,
    ClientTeamUpdate,
    EmptyBody,
    MemberProfileUpdate,
    ServerTeamCreate,
    ServerTeamUpdate,
    changes_as,
    check_client_image,
    convert,
)
from authstack_core.domain import teams
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    CannotGetOwnUserWithoutUser,
    StatusError,
    UserAuthenticationRequired,
)
from authstack_core.models.teams import NewTeam, TeamChanges, membership_json

MAX_PAGE = 1000


# --- teams ---------------------------------------------------------------------------------------


@post("/api/v1/teams", status_code=201)
async def create_team(
    auth: AnyAuth,
    deps: Deps,
    data: dict[str, Any],
    add_current_user: str | None = None,
) -> Response[bytes]:
    body = convert(data, ClientTeamCreate if auth.type == "client" else ServerTeamCreate)
    add_me = parse_bool(add_current_user, "add_current_user")
    if add_me and body.creator_user_id is not None:
        raise StatusError(400, "Send creator_user_id only; add_current_user is deprecated.")
    creator: str | None = None
    if auth.type == "client":
        if auth.user is None:
            raise UserAuthenticationRequired()
        if not auth.project.config.client_team_creation:
            raise StatusError(403, "Client team creation is disabled for this project.")
        check_client_image(body.profile_image_url)
        creator = auth.user.user_id
        if (
            body.creator_user_id is not None
            and resolve_user_id(auth, body.creator_user_id) != creator
        ):
            raise StatusError(
                403, "A client can only create a team with itself as creator_user_id=me."
            )
    elif add_me:
        if auth.user is None:
            raise StatusError(401, "add_current_user needs a signed-in user.")
        creator = auth.user.user_id
    elif body.creator_user_id is not None:
        creator = user_id_param(auth, body.creator_user_id, "creator_user_id")
    new = NewTeam(
        display_name=body.display_name,
        profile_image_url=body.profile_image_url,
        client_metadata=body.client_metadata,
        client_read_only_metadata=getattr(body, "client_read_only_metadata", None),
        server_metadata=getattr(body, "server_metadata", None),
    )
    team = await teams.create_team(deps, auth.project, new, creator_user_id=creator)
    return json_response(team.json(auth.type), status=201)


@get("/api/v1/teams", dependencies=SEARCH_PAGE)
async def list_teams(
    auth: AnyAuth, deps: Deps, page: SearchQuery, user_id: str | None = None
) -> Response[bytes]:
    target = listed_user(auth, user_id, "teams")
    paged = page.checked(order_by="created_at", max_page=MAX_PAGE)
    found = await teams.list_teams(deps, auth.project, user_id=target, **paged)
    return list_response(
        (team.json(auth.type) for team in found.items),
        next_cursor=found.next_cursor if paged["limit"] is not None else UNSET,
    )


@get("/api/v1/teams/{team_id:str}")
async def get_team(auth: AnyAuth, deps: Deps, team_id: str) -> Response[bytes]:
    team = await teams.get_team(
        deps,
        auth.project,
        check_uuid(team_id, "team_id"),
        acting_user_id=acting_client(auth),
    )
    return json_response(team.json(auth.type))


@patch("/api/v1/teams/{team_id:str}")
async def update_team(
    auth: AnyAuth, deps: Deps, team_id: str, data: dict[str, Any]
) -> Response[bytes]:
    changes = changes_as(
        convert(data, ClientTeamUpdate if auth.type == "client" else ServerTeamUpdate), TeamChanges
    )
    if auth.type == "client":
        check_client_image(changes.profile_image_url)
    team = await teams.update_team(
        deps,
        auth.project,
        check_uuid(team_id, "team_id"),
        changes,
        acting_user_id=acting_client(auth),
    )
    return json_response(team.json(auth.type))


@delete("/api/v1/teams/{team_id:str}", status_code=200)
async def delete_team(auth: AnyAuth, deps: Deps, team_id: str) -> Response[bytes]:
    await teams.delete_team(
        deps,
        auth.project,
        check_uuid(team_id, "team_id"),
        acting_user_id=acting_client(auth),
    )
    return json_response(SUCCESS)


# --- memberships ---------------------------------------------------------------------------------


def _membership(auth: Auth, team_id: str, user_id: str) -> tuple[str, str]:
    """The team and the user a membership path names (``me`` resolved), checked to be UUIDs."""
    return check_uuid(team_id, "team_id"), user_id_param(auth, user_id)


@post("/api/v1/team-memberships/{team_id:str}/{user_id:str}", status_code=201)
async def add_member(
    auth: ServerAuth, deps: Deps, team_id: str, user_id: str, data: EmptyBody | None = None
) -> Response[bytes]:
    team, user = _membership(auth, team_id, user_id)
    await teams.add_member(deps, auth.project, team, user)
    return json_response(membership_json(team, user), status=201)


@delete("/api/v1/team-memberships/{team_id:str}/{user_id:str}", status_code=200)
async def remove_member(auth: AnyAuth, deps: Deps, team_id: str, user_id: str) -> Response[bytes]:
    acting = acting_client(auth)
    team, user = _membership(auth, team_id, user_id)
    await teams.remove_member(deps, auth.project, team, user, acting_user_id=acting)
    return json_response(SUCCESS)


# --- member profiles ----------------------------------------------------------------------------


def _profile_reader(auth: Auth) -> str | None:
    """The acting client user of a member-profile request; a client must have one
    (CANNOT_GET_OWN_USER_WITHOUT_USER). None for server and admin access."""
    if auth.type == "client" and auth.user is None:
        raise CannotGetOwnUserWithoutUser()
    return acting_client(auth)


@get("/api/v1/team-member-profiles")
async def list_member_profiles(
    auth: AnyAuth, deps: Deps, team_id: str | None = None, user_id: str | None = None
) -> Response[bytes]:
    acting = _profile_reader(auth)
    profiles = await teams.list_member_profiles(
        deps,
        auth.project,
        team_id=check_uuid(team_id, "team_id") if team_id is not None else None,
        user_id=user_id_param(auth, user_id) if user_id is not None else None,
        acting_user_id=acting,
    )
    return list_response(p.json(auth.type, auth.project.config) for p in profiles)


@get("/api/v1/team-member-profiles/{team_id:str}/{user_id:str}")
async def get_member_profile(
    auth: AnyAuth, deps: Deps, team_id: str, user_id: str
) -> Response[bytes]:
    acting = _profile_reader(auth)
    team, user = _membership(auth, team_id, user_id)
    profile = await teams.get_member_profile(deps, auth.project, team, user, acting_user_id=acting)
    return json_response(profile.json(auth.type, auth.project.config))


@patch("/api/v1/team-member-profiles/{team_id:str}/{user_id:str}")
async def update_member_profile(
    auth: AnyAuth, deps: Deps, team_id: str, user_id: str, data: MemberProfileUpdate
) -> Response[bytes]:
    acting = _profile_reader(auth)
    if auth.type == "client":
        check_client_image(data.profile_image_url)
    team, user = _membership(auth, team_id, user_id)
    profile = await teams.update_member_profile(
        deps, auth.project, team, user, data, acting_user_id=acting
    )
    return json_response(profile.json(auth.type, auth.project.config))
