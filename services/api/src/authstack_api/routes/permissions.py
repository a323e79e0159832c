"""Team and project permissions: grants, listing (optionally recursive) and the admin
definition endpoints (contract §1.3)."""

from __future__ import annotations

import re

from litestar import Response, delete, get, patch, post

from authstack_api.auth import AdminAuth, AnyAuth, Auth, HttpRequest, ServerAuth, user_id_param
from authstack_api.ids import check_uuid, parse_bool
from authstack_api.responses import SUCCESS, json_response
from authstack_api.schemas import (
    EmptyBody,
    PermissionDefinitionCreate,
    PermissionDefinitionUpdate,
)
from authstack_core.domain import permissions
from authstack_core.domain.context import Deps
from authstack_core.errors import CannotGetOwnUserWithoutUser, SchemaError, StatusError
from authstack_core.models.permissions import PERMISSION_ID, Scope

_LIST_QUERY = frozenset({"team_id", "user_id", "permission_id", "recursive"})


def _permission_id(value: str) -> str:
    if len(value) > 256 or not PERMISSION_ID.match(value):
        raise SchemaError(
            message="permission_id may hold only a-z, 0-9, '_', ':' and a leading '$'"
        )
    return value


def _listed_user(auth: Auth, user_id: str | None) -> str | None:
    """The user a listing is for; a client may only list its own (``user_id=me``)."""
    target = user_id_param(auth, user_id) if user_id is not None else None
    if auth.type == "client":
        if auth.user is None:
            raise CannotGetOwnUserWithoutUser()
        if target != auth.user.user_id:
            raise StatusError(403, "A client can only list its own permissions: send user_id=me.")
    return target


# --- team permissions ---------------------------------------------------------------------------


@get("/api/v1/team-permissions", opt={"query": _LIST_QUERY})
async def list_team_permissions(
    auth: AnyAuth,
    deps: Deps,
    team_id: str | None = None,
    user_id: str | None = None,
    permission_id: str | None = None,
    recursive: str | None = None,
) -> Response[bytes]:
    items = await permissions.list_team_permissions(
        deps,
        auth.project,
        team_id=check_uuid(team_id, "team_id") if team_id is not None else None,
        user_id=_listed_user(auth, user_id),
        permission_id=_permission_id(permission_id) if permission_id is not None else None,
        recursive=parse_bool(recursive, "recursive"),
    )
    return json_response({"items": items, "is_paginated": False})


_TEAM_GRANT = "/api/v1/team-permissions/{team_id:str}/{user_id:str}/{permission_id:str}"


@post(_TEAM_GRANT, status_code=201)
async def grant_team_permission(
    auth: ServerAuth,
    deps: Deps,
    team_id: str,
    user_id: str,
    permission_id: str,
    data: EmptyBody | None = None,
) -> Response[bytes]:
    item = await permissions.grant_team_permission(
        deps,
        auth.project,
        check_uuid(team_id, "team_id"),
        user_id_param(auth, user_id),
        _permission_id(permission_id),
    )
    return json_response(item, status=201)


@delete(_TEAM_GRANT, status_code=200)
async def revoke_team_permission(
    auth: ServerAuth, deps: Deps, team_id: str, user_id: str, permission_id: str
) -> Response[bytes]:
    await permissions.revoke_team_permission(
        deps,
        auth.project,
        check_uuid(team_id, "team_id"),
        user_id_param(auth, user_id),
        _permission_id(permission_id),
    )
    return json_response(SUCCESS)


# --- project permissions ------------------------------------------------------------------------


@get("/api/v1/project-permissions", opt={"query": _LIST_QUERY - {"team_id"}})
async def list_project_permissions(
    auth: AnyAuth,
    deps: Deps,
    user_id: str | None = None,
    permission_id: str | None = None,
    recursive: str | None = None,
) -> Response[bytes]:
    items = await permissions.list_project_permissions(
        deps,
        auth.project,
        user_id=_listed_user(auth, user_id),
        permission_id=_permission_id(permission_id) if permission_id is not None else None,
        recursive=parse_bool(recursive, "recursive"),
    )
    return json_response({"items": items, "is_paginated": False})


_PROJECT_GRANT = "/api/v1/project-permissions/{user_id:str}/{permission_id:str}"


@post(_PROJECT_GRANT, status_code=201)
async def grant_project_permission(
    auth: ServerAuth,
    deps: Deps,
    user_id: str,
    permission_id: str,
    data: EmptyBody | None = None,
) -> Response[bytes]:
    item = await permissions.grant_project_permission(
        deps,
        auth.project,
        user_id_param(auth, user_id),
        _permission_id(permission_id),
    )
    return json_response(item, status=201)


@delete(_PROJECT_GRANT, status_code=200)
async def revoke_project_permission(
    auth: ServerAuth, deps: Deps, user_id: str, permission_id: str
) -> Response[bytes]:
    await permissions.revoke_project_permission(
        deps, auth.project, user_id_param(auth, user_id), _permission_id(permission_id)
    )
    return json_response(SUCCESS)


# --- definitions (admin) -----------------------------------------------------------------------

_SCOPE_OF_PATH = re.compile(r"/api/v1/(team|project)-permission-definitions")


def _scope(request: HttpRequest) -> Scope:
    match = _SCOPE_OF_PATH.match(request.url.path)
    assert match is not None, "only mounted under the two definition paths"
    return "team" if match.group(1) == "team" else "project"


async def _list_definitions(auth: AdminAuth, request: HttpRequest) -> Response[bytes]:
    items = [d.json() for d in permissions.list_definitions(auth.project, _scope(request))]
    return json_response({"items": items, "is_paginated": False})


async def _create_definition(
    auth: AdminAuth, deps: Deps, request: HttpRequest, data: PermissionDefinitionCreate
) -> Response[bytes]:
    created = await permissions.create_definition(
        deps,
        auth.project,
        _scope(request),
        permission_id=data.id,
        description=data.description,
        contained_permission_ids=data.contained_permission_ids or [],
    )
    return json_response(created.json(), status=201)


async def _update_definition(
    auth: AdminAuth,
    deps: Deps,
    request: HttpRequest,
    permission_id: str,
    data: PermissionDefinitionUpdate,
) -> Response[bytes]:
    updated = await permissions.update_definition(
        deps,
        auth.project,
        _scope(request),
        _permission_id(permission_id),
        new_id=data.id,
        description=data.description,
        contained_permission_ids=data.contained_permission_ids,
    )
    return json_response(updated.json())


async def _delete_definition(
    auth: AdminAuth, deps: Deps, request: HttpRequest, permission_id: str
) -> Response[bytes]:
    await permissions.delete_definition(
        deps, auth.project, _scope(request), _permission_id(permission_id)
    )
    return json_response(SUCCESS)


list_team_definitions = get("/api/v1/team-permission-definitions")(_list_definitions)
list_project_definitions = get("/api/v1/project-permission-definitions")(_list_definitions)
create_team_definition = post("/api/v1/team-permission-definitions", status_code=201)(
    _create_definition
)
create_project_definition = post("/api/v1/project-permission-definitions", status_code=201)(
    _create_definition
)
update_team_definition = patch("/api/v1/team-permission-definitions/{permission_id:str}")(
    _update_definition
)
update_project_definition = patch("/api/v1/project-permission-definitions/{permission_id:str}")(
    _update_definition
)
delete_team_definition = delete(
    "/api/v1/team-permission-definitions/{permission_id:str}", status_code=200
)(_delete_definition)
delete_project_definition = delete(
    "/api/v1/project-permission-definitions/{permission_id:str}", status_code=200
)(_delete_definition)
