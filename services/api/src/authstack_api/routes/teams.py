"""Teams, team memberships and team member profiles (contract §1.3, §5.4)."""

from __future__ import annotations

from typing import Any

from litestar import Response, delete, get, patch, post
from msgspec import UnsetType

from authstack_api.auth import (
    AnyAuth,
    HttpRequest,
    ServerAuth,
    acting_client,
    resolve_user_id,
    user_id_param,
)
from authstack_api.ids import check_uuid, parse_bool
from authstack_api.responses import SUCCESS, json_response
from authstack_api.schemas import (
    ClientTeamCreate,
    ClientTeamUpdate,
    EmptyBody,
    MemberProfileUpdate,
    ServerTeamCreate,
    ServerTeamUpdate,
    changes_as,
    convert,
)
from authstack_core.domain import teams
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    CannotGetOwnUserWithoutUser,
    SchemaError,
    StatusError,
    UserAuthenticationRequired,
)
from authstack_core.models.teams import NewTeam, TeamChanges, membership_json

MAX_PAGE = 1000


def _check_client_image(url: str | None | UnsetType) -> None:
    if isinstance(url, str) and not url.startswith("data:image/"):
        raise StatusError(400, "A client must send profile_image_url as a base64 data URL image.")


# --- teams ---------------------------------------------------------------------------------------


@post("/api/v1/teams", status_code=201, opt={"query": frozenset({"add_current_user"})})
async def create_team(
    auth: AnyAuth,
    deps: Deps,
    request: HttpRequest,
    data: dict[str, Any],
    add_current_user: str | None = None,
) -> Response[bytes]:
    where = f"POST {request.url.path}"
    body = convert(data, ClientTeamCreate if auth.type == "client" else ServerTeamCreate, where)
    add_me = parse_bool(add_current_user, "add_current_user")
    if add_me and body.creator_user_id is not None:
        raise StatusError(400, "Send creator_user_id only; add_current_user is deprecated.")
    creator: str | None = None
    if auth.type == "client":
        if auth.user is None:
            raise UserAuthenticationRequired()
        if not auth.project.config.client_team_creation:
            raise StatusError(403, "Client team creation is disabled for this project.")
        _check_client_image(body.profile_image_url)
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


_LIST_QUERY = frozenset({"user_id", "order_by", "desc", "cursor", "limit", "query"})


@get("/api/v1/teams", opt={"query": _LIST_QUERY})
async def list_teams(
    auth: AnyAuth,
    deps: Deps,
    request: HttpRequest,
    user_id: str | None = None,
    order_by: str | None = None,
    desc: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Response[bytes]:
    query: str | None = request.query_params.get("query")  # `query` is reserved by Litestar
    target = user_id_param(auth, user_id) if user_id is not None else None
    if auth.type == "client":
        if auth.user is None:
            raise CannotGetOwnUserWithoutUser()
        if target != auth.user.user_id:
            raise StatusError(403, "A client can only list its own teams: send user_id=me.")
    if order_by not in (None, "created_at"):
        raise SchemaError(message="order_by must be created_at")
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        raise SchemaError(message=f"limit must be between 1 and {MAX_PAGE}")
    if query is not None and len(query) > 256:
        raise SchemaError(message="query must be at most 256 characters")
    page = await teams.list_teams(
        deps,
        auth.project,
        user_id=target,
        query=query or None,
        desc=parse_bool(desc, "desc"),
        cursor=check_uuid(cursor, "cursor") if cursor is not None else None,
        limit=limit,
    )
    out: dict[str, Any] = {
        "items": [team.json(auth.type) for team in page.items],
        "is_paginated": limit is not None,
    }
    if limit is not None:
        out["pagination"] = {"next_cursor": page.next_cursor}
    return json_response(out)


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
    auth: AnyAuth, deps: Deps, request: HttpRequest, team_id: str, data: dict[str, Any]
) -> Response[bytes]:
    where = f"PATCH {request.url.path}"
    changes = changes_as(
        convert(data, ClientTeamUpdate if auth.type == "client" else ServerTeamUpdate, where),
        TeamChanges,
    )
    if auth.type == "client":
        _check_client_image(changes.profile_image_url)
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


@post("/api/v1/team-memberships/{team_id:str}/{user_id:str}", status_code=201)
async def add_member(
    auth: ServerAuth, deps: Deps, team_id: str, user_id: str, data: EmptyBody | None = None
) -> Response[bytes]:
    team = check_uuid(team_id, "team_id")
    user = user_id_param(auth, user_id)
    await teams.add_member(deps, auth.project, team, user)
    return json_response(membership_json(team, user), status=201)


@delete("/api/v1/team-memberships/{team_id:str}/{user_id:str}", status_code=200)
async def remove_member(auth: AnyAuth, deps: Deps, team_id: str, user_id: str) -> Response[bytes]:
    acting = acting_client(auth)
    await teams.remove_member(
        deps,
        auth.project,
        check_uuid(team_id, "team_id"),
        user_id_param(auth, user_id),
        acting_user_id=acting,
    )
    return json_response(SUCCESS)


# --- member profiles ----------------------------------------------------------------------------


@get("/api/v1/team-member-profiles", opt={"query": frozenset({"team_id", "user_id"})})
async def list_member_profiles(
    auth: AnyAuth, deps: Deps, team_id: str | None = None, user_id: str | None = None
) -> Response[bytes]:
    if auth.type == "client" and auth.user is None:
        raise CannotGetOwnUserWithoutUser()
    profiles = await teams.list_member_profiles(
        deps,
        auth.project,
        team_id=check_uuid(team_id, "team_id") if team_id is not None else None,
        user_id=user_id_param(auth, user_id) if user_id is not None else None,
        acting_user_id=acting_client(auth),
    )
    return json_response(
        {"items": [p.json(auth.type, auth.project.config) for p in profiles], "is_paginated": False}
    )


@get("/api/v1/team-member-profiles/{team_id:str}/{user_id:str}")
async def get_member_profile(
    auth: AnyAuth, deps: Deps, team_id: str, user_id: str
) -> Response[bytes]:
    if auth.type == "client" and auth.user is None:
        raise CannotGetOwnUserWithoutUser()
    profile = await teams.get_member_profile(
        deps,
        auth.project,
        check_uuid(team_id, "team_id"),
        user_id_param(auth, user_id),
        acting_user_id=acting_client(auth),
    )
    return json_response(profile.json(auth.type, auth.project.config))


@patch("/api/v1/team-member-profiles/{team_id:str}/{user_id:str}")
async def update_member_profile(
    auth: AnyAuth, deps: Deps, team_id: str, user_id: str, data: MemberProfileUpdate
) -> Response[bytes]:
    if auth.type == "client" and auth.user is None:
        raise CannotGetOwnUserWithoutUser()
    if auth.type == "client":
        _check_client_image(data.profile_image_url)
    profile = await teams.update_member_profile(
        deps,
        auth.project,
        check_uuid(team_id, "team_id"),
        user_id_param(auth, user_id),
        data,
        acting_user_id=acting_client(auth),
    )
    return json_response(profile.json(auth.type, auth.project.config))
