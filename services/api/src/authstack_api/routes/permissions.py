"""Team and project permissions: grants, listing (optionally recursive) and the admin
definition endpoints (contract §1.3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from litestar import Response, delete, get, patch, post
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler

from authstack_api.auth import AdminAuth, AnyAuth, Auth, ServerAuth, listed_user, user_id_param
from authstack_api.ids import check_uuid, parse_bool
from authstack_api.responses import SUCCESS, json_response, list_response
from authstack_api.schemas import (
    EmptyBody,
    PermissionDefinitionCreate,
    PermissionDefinitionUpdate,
)
from authstack_core.domain import permissions
from authstack_core.domain.context import Deps
from authstack_core.errors import SchemaError
from authstack_core.models.permissions import PERMISSION_ID, Scope


def _permission_id(value: str) -> str:
    if len(value) > 256 or not PERMISSION_ID.match(value):
        raise SchemaError(
            message="permission_id may hold only a-z, 0-9, '_', ':' and a leading '$'"
        )
    return value


def _grantee(auth: Auth, user_id: str, permission_id: str) -> tuple[str, str]:
    """The user (``me`` resolved) and the permission a grant's path names, both checked."""
    return user_id_param(auth, user_id), _permission_id(permission_id)


class _Filters(TypedDict):
    user_id: str | None
    permission_id: str | None
    recursive: bool


@dataclass(frozen=True, slots=True)
class GrantFilter:
    """The query both grant listings filter by (a dependency; checked after authentication)."""

    user_id: str | None = None
    permission_id: str | None = None
    recursive: str | None = None

    def checked(self, auth: Auth) -> _Filters:
        """The filters as the domain takes them; a client may list only its own grants."""
        return {
            "user_id": listed_user(auth, self.user_id, "permissions"),
            "permission_id": (
                _permission_id(self.permission_id) if self.permission_id is not None else None
            ),
            "recursive": parse_bool(self.recursive, "recursive"),
        }


_FILTER = {"where": Provide(GrantFilter, sync_to_thread=False)}


# --- team permissions ---------------------------------------------------------------------------


@get("/api/v1/team-permissions", dependencies=_FILTER)
async def list_team_permissions(
    auth: AnyAuth, deps: Deps, where: GrantFilter, team_id: str | None = None
) -> Response[bytes]:
    team = check_uuid(team_id, "team_id") if team_id is not None else None
    return list_response(
        await permissions.list_team_permissions(
            deps, auth.project, team_id=team, **where.checked(auth)
        )
    )


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
    team = check_uuid(team_id, "team_id")
    user, permission = _grantee(auth, user_id, permission_id)
    item = await permissions.grant_team_permission(deps, auth.project, team, user, permission)
    return json_response(item, status=201)


@delete(_TEAM_GRANT, status_code=200)
async def revoke_team_permission(
    auth: ServerAuth, deps: Deps, team_id: str, user_id: str, permission_id: str
) -> Response[bytes]:
    team = check_uuid(team_id, "team_id")
    user, permission = _grantee(auth, user_id, permission_id)
    await permissions.revoke_team_permission(deps, auth.project, team, user, permission)
    return json_response(SUCCESS)


# --- project permissions ------------------------------------------------------------------------


@get("/api/v1/project-permissions", dependencies=_FILTER)
async def list_project_permissions(
    auth: AnyAuth, deps: Deps, where: GrantFilter
) -> Response[bytes]:
    return list_response(
        await permissions.list_project_permissions(deps, auth.project, **where.checked(auth))
    )


_PROJECT_GRANT = "/api/v1/project-permissions/{user_id:str}/{permission_id:str}"


@post(_PROJECT_GRANT, status_code=201)
async def grant_project_permission(
    auth: ServerAuth,
    deps: Deps,
    user_id: str,
    permission_id: str,
    data: EmptyBody | None = None,
) -> Response[bytes]:
    user, permission = _grantee(auth, user_id, permission_id)
    item = await permissions.grant_project_permission(deps, auth.project, user, permission)
    return json_response(item, status=201)


@delete(_PROJECT_GRANT, status_code=200)
async def revoke_project_permission(
    auth: ServerAuth, deps: Deps, user_id: str, permission_id: str
) -> Response[bytes]:
    user, permission = _grantee(auth, user_id, permission_id)
    await permissions.revoke_project_permission(deps, auth.project, user, permission)
    return json_response(SUCCESS)


# --- definitions (admin) -----------------------------------------------------------------------


def _definition_routes(scope: Scope) -> list[HTTPRouteHandler]:
    """The admin routes that list, create, update and delete the definitions of one scope."""
    path = f"/api/v1/{scope}-permission-definitions"
    one = path + "/{permission_id:str}"

    @get(path)
    async def list_definitions(auth: AdminAuth) -> Response[bytes]:
        return list_response(d.json() for d in permissions.list_definitions(auth.project, scope))

    @post(path, status_code=201)
    async def create_definition(
        auth: AdminAuth, deps: Deps, data: PermissionDefinitionCreate
    ) -> Response[bytes]:
        created = await permissions.create_definition(
            deps,
            auth.project,
            scope,
            permission_id=data.id,
            description=data.description,
            contained_permission_ids=data.contained_permission_ids or [],
        )
        return json_response(created.json(), status=201)

    @patch(one)
    async def update_definition(
        auth: AdminAuth, deps: Deps, permission_id: str, data: PermissionDefinitionUpdate
    ) -> Response[bytes]:
        updated = await permissions.update_definition(
            deps,
            auth.project,
            scope,
            _permission_id(permission_id),
            new_id=data.id,
            description=data.description,
            contained_permission_ids=data.contained_permission_ids,
        )
        return json_response(updated.json())

    @delete(one, status_code=200)
    async def delete_definition(auth: AdminAuth, deps: Deps, permission_id: str) -> Response[bytes]:
        await permissions.delete_definition(
            deps, auth.project, scope, _permission_id(permission_id)
        )
        return json_response(SUCCESS)

    return [list_definitions, create_definition, update_definition, delete_definition]


team_definition_routes = _definition_routes("team")
project_definition_routes = _definition_routes("project")
