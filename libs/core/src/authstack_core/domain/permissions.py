"""Permissions: definitions in config, team and project grants, checks, and default grants."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from msgspec import UNSET, UnsetType
from psycopg import AsyncConnection

from authstack_core.db.queries import config as config_q
from authstack_core.db.queries import permissions as q
from authstack_core.db.queries import users as users_q
from authstack_core.domain import config_overrides
from authstack_core.domain.context import Deps
from authstack_core.domain.project_changes import changing_project
from authstack_core.domain.webhooks import record
from authstack_core.errors import (
    ContainedPermissionNotFound,
    CurrentProjectNotFound,
    PermissionIdAlreadyExists,
    PermissionNotFound,
    PermissionScopeMismatch,
    ProjectPermissionRequired,
    SchemaError,
    SystemPermissionReadOnly,
    TeamMembershipNotFound,
    TeamPermissionNotFound,
    TeamPermissionRequired,
    UserNotFound,
)
from authstack_core.models.config import ProjectConfig
from authstack_core.models.permissions import (
    DEFAULT_GROUP_SCOPES,
    PermissionDefinition,
    Scope,
    custom_definitions,
    definitions,
    expand,
    find_cycle,
    override_with,
)
from authstack_core.models.projects import TenantProject


def _definition_in(config: ProjectConfig, scope: Scope, permission_id: str) -> None:
    """Raise unless ``permission_id`` is defined in ``scope`` (saying so if it is in the other)."""
    if permission_id in definitions(config, scope):
        return
    other: Scope = "project" if scope == "team" else "team"
    if permission_id in definitions(config, other):
        raise PermissionScopeMismatch(
            permission_id=permission_id, expected_scope=scope, actual_scope=other
        )
    raise PermissionNotFound(permission_id=permission_id)


async def _current_config(conn: AsyncConnection[Any], project: TenantProject) -> ProjectConfig:
    """The config share-locked: a grant checks its definition against the config as it is at
    commit, so it cannot slip in beside a concurrent deletion of that definition."""
    levels = await config_q.share_levels(conn, project.id, project.tenancy_id)
    if levels is None:
        raise CurrentProjectNotFound(project_id=project.id)
    return levels.config()


# --- checks -------------------------------------------------------------------------------------


async def team_permission_ids(
    conn: AsyncConnection[Any], project: TenantProject, team_id: str, user_id: str
) -> set[str]:
    """Every team permission the member holds in the team, directly or by containment."""
    grants = await q.select_team_grants(conn, project.tenancy_id, team_id=team_id, user_id=user_id)
    defs = definitions(project.config, "team")
    return expand((g[2] for g in grants), defs, recursive=True)


async def require_team_permission(
    conn: AsyncConnection[Any],
    project: TenantProject,
    team_id: str,
    user_id: str,
    permission_id: str,
) -> None:
    """Raise TEAM_MEMBERSHIP_NOT_FOUND for a non-member, TEAM_PERMISSION_REQUIRED for a member
    without ``permission_id`` (directly or contained). Run inside the acting transaction."""
    if not await users_q.select_is_member(conn, project.tenancy_id, team_id, user_id):
        raise TeamMembershipNotFound(team_id=team_id, user_id=user_id)
    if permission_id not in await team_permission_ids(conn, project, team_id, user_id):
        raise TeamPermissionRequired(team_id=team_id, user_id=user_id, permission_id=permission_id)


async def require_project_permission(
    conn: AsyncConnection[Any], project: TenantProject, user_id: str, permission_id: str
) -> None:
    """Raise PROJECT_PERMISSION_REQUIRED unless the user holds ``permission_id`` (or a container
    of it)."""
    grants = await q.select_project_grants(conn, project.tenancy_id, user_id=user_id)
    held = expand((g[1] for g in grants), definitions(project.config, "project"), recursive=True)
    if permission_id not in held:
        raise ProjectPermissionRequired(user_id=user_id, permission_id=permission_id)


# --- default grants (inside the caller's transaction) -------------------------------------------


async def grant_team_defaults_in(
    conn: AsyncConnection[Any], project: TenantProject, team_id: str, user_id: str, *, creator: bool
) -> list[str]:
    """Grant ``rbac.defaultPermissions.teamCreator`` (or ``teamMember``) to a new member and
    record the webhook events; returns the ids granted."""
    group = "teamCreator" if creator else "teamMember"
    defs = definitions(project.config, "team")
    granted = []
    for permission_id in project.config.default_permissions(group):
        if permission_id not in defs:
            continue
        if await q.insert_team_grant(conn, project.tenancy_id, team_id, user_id, permission_id):
            granted.append(permission_id)
            await record(
                conn,
                project,
                "team_permission.created",
                {"id": permission_id, "user_id": str(user_id), "team_id": str(team_id)},
            )
    return granted


async def grant_sign_up_defaults_in(
    conn: AsyncConnection[Any], project: TenantProject, user_id: str
) -> None:
    """Grant ``rbac.defaultPermissions.signUp`` project permissions to a new user."""
    defs = definitions(project.config, "project")
    for permission_id in project.config.default_permissions("signUp"):
        if permission_id in defs and await q.insert_project_grant(
            conn, project.tenancy_id, user_id, permission_id
        ):
            await record(
                conn,
                project,
                "project_permission.created",
                {"id": permission_id, "user_id": str(user_id)},
            )


# --- team grants ----------------------------------------------------------------------------------


async def list_team_permissions(
    deps: Deps,
    project: TenantProject,
    *,
    team_id: str | None,
    user_id: str | None,
    permission_id: str | None,
    recursive: bool,
) -> list[dict[str, str]]:
    """Items ``{id, user_id, team_id}`` sorted by team, user and id; ``recursive`` adds the
    contained permissions."""
    async with deps.pool.connection() as conn:
        grants = await q.select_team_grants(
            conn, project.tenancy_id, team_id=team_id, user_id=user_id
        )
    defs = definitions(project.config, "team")
    direct: dict[tuple[str, str], list[str]] = {}
    for g_team, g_user, g_permission in grants:
        direct.setdefault((g_team, g_user), []).append(g_permission)
    items = [
        {"id": pid, "user_id": member[1], "team_id": member[0]}
        for member, ids in direct.items()
        for pid in expand(ids, defs, recursive=recursive)
        if permission_id is None or pid == permission_id
    ]
    return sorted(items, key=lambda i: (i["team_id"], i["user_id"], i["id"]))


async def _require_member(
    conn: AsyncConnection[Any], project: TenantProject, team_id: str, user_id: str
) -> None:
    tenancy_id = project.tenancy_id
    if await users_q.select_signed_up_at(conn, tenancy_id, user_id) is None:
        raise UserNotFound()
    if not await users_q.select_is_member(conn, tenancy_id, team_id, user_id):
        raise TeamMembershipNotFound(team_id=team_id, user_id=user_id)


async def grant_team_permission(
    deps: Deps, project: TenantProject, team_id: str, user_id: str, permission_id: str
) -> dict[str, str]:
    """Grant a team permission to a member (idempotent); returns ``{id, user_id, team_id}``."""
    item = {"id": permission_id, "user_id": user_id, "team_id": team_id}
    async with deps.pool.connection() as conn, conn.transaction():
        await _require_member(conn, project, team_id, user_id)
        _definition_in(await _current_config(conn, project), "team", permission_id)
        if await q.insert_team_grant(conn, project.tenancy_id, team_id, user_id, permission_id):
            await record(conn, project, "team_permission.created", item)
    return item


async def revoke_team_permission(
    deps: Deps, project: TenantProject, team_id: str, user_id: str, permission_id: str
) -> None:
    """Revoke a direct grant; TEAM_PERMISSION_NOT_FOUND if the member does not hold it directly."""
    async with deps.pool.connection() as conn, conn.transaction():
        await _require_member(conn, project, team_id, user_id)
        if not await q.delete_team_grant(conn, project.tenancy_id, team_id, user_id, permission_id):
            raise TeamPermissionNotFound(
                team_id=team_id, user_id=user_id, permission_id=permission_id
            )
        await record(
            conn,
            project,
            "team_permission.deleted",
            {"id": permission_id, "user_id": user_id, "team_id": team_id},
        )


# --- project grants -------------------------------------------------------------------------------


async def list_project_permissions(
    deps: Deps,
    project: TenantProject,
    *,
    user_id: str | None,
    permission_id: str | None,
    recursive: bool,
) -> list[dict[str, str]]:
    """Items ``{id, user_id}`` sorted by user then id."""
    async with deps.pool.connection() as conn:
        grants = await q.select_project_grants(conn, project.tenancy_id, user_id=user_id)
    defs = definitions(project.config, "project")
    direct: dict[str, list[str]] = {}
    for g_user, g_permission in grants:
        direct.setdefault(g_user, []).append(g_permission)
    items = [
        {"id": pid, "user_id": holder}
        for holder, ids in direct.items()
        for pid in expand(ids, defs, recursive=recursive)
        if permission_id is None or pid == permission_id
    ]
    return sorted(items, key=lambda i: (i["user_id"], i["id"]))


async def grant_project_permission(
    deps: Deps, project: TenantProject, user_id: str, permission_id: str
) -> dict[str, str]:
    item = {"id": permission_id, "user_id": user_id}
    async with deps.pool.connection() as conn, conn.transaction():
        if await users_q.select_signed_up_at(conn, project.tenancy_id, user_id) is None:
            raise UserNotFound()
        _definition_in(await _current_config(conn, project), "project", permission_id)
        if await q.insert_project_grant(conn, project.tenancy_id, user_id, permission_id):
            await record(conn, project, "project_permission.created", item)
    return item


async def revoke_project_permission(
    deps: Deps, project: TenantProject, user_id: str, permission_id: str
) -> None:
    async with deps.pool.connection() as conn, conn.transaction():
        if await users_q.select_signed_up_at(conn, project.tenancy_id, user_id) is None:
            raise UserNotFound()
        if not await q.delete_project_grant(conn, project.tenancy_id, user_id, permission_id):
            raise PermissionNotFound(permission_id=permission_id)
        await record(
            conn, project, "project_permission.deleted", {"id": permission_id, "user_id": user_id}
        )


# --- definitions (config) -------------------------------------------------------------------------


def list_definitions(project: TenantProject, scope: Scope) -> list[PermissionDefinition]:
    return list(definitions(project.config, scope).values())


def _check_contained(
    config: ProjectConfig, scope: Scope, contained: Iterable[str], *, own_id: str
) -> tuple[str, ...]:
    available = definitions(config, scope)
    ids = tuple(sorted(set(contained)))
    for pid in ids:
        if pid not in available and pid != own_id:
            raise ContainedPermissionNotFound(permission_id=pid)
    return ids


def _check_acyclic(custom: dict[str, PermissionDefinition], scope: Scope) -> None:
    cycle = find_cycle({k: v for k, v in custom.items() if v.scope == scope})
    if cycle is not None:
        raise SchemaError(
            message="contained_permission_ids would make a cycle: " + " -> ".join(cycle)
        )


def _custom_or_raise(
    config: ProjectConfig, scope: Scope, permission_id: str
) -> dict[str, PermissionDefinition]:
    if permission_id.startswith("$"):
        raise SystemPermissionReadOnly()
    custom = custom_definitions(config)
    if permission_id not in custom or custom[permission_id].scope != scope:
        _definition_in(config, scope, permission_id)
    return custom


async def _edit_config(
    conn: AsyncConnection[Any], project: TenantProject
) -> tuple[dict[str, Any], ProjectConfig]:
    """The environment level (where definition edits go, as the legacy config's do) and the
    config, locked so that concurrent edits apply one after the other."""
    levels = await config_overrides.lock(conn, project)
    return levels.environment_config_override, levels.config()


async def _write(
    conn: AsyncConnection[Any], project: TenantProject, override: dict[str, Any]
) -> None:
    await config_overrides.write(conn, project, "environment", override)


async def create_definition(
    deps: Deps,
    project: TenantProject,
    scope: Scope,
    *,
    permission_id: str,
    description: str | None,
    contained_permission_ids: list[str],
) -> PermissionDefinition:
    """Add a custom definition; PERMISSION_ID_ALREADY_EXISTS if the id is taken in any scope."""
    async with changing_project(deps, project.id) as conn:
        override, config = await _edit_config(conn, project)
        custom = custom_definitions(config)
        if permission_id in custom:
            raise PermissionIdAlreadyExists(permission_id=permission_id)
        contained = _check_contained(config, scope, contained_permission_ids, own_id="")
        created = PermissionDefinition(permission_id, scope, description, contained)
        custom[permission_id] = created
        await _write(conn, project, override_with(override, custom, {}))
    return created


async def update_definition(
    deps: Deps,
    project: TenantProject,
    scope: Scope,
    permission_id: str,
    *,
    new_id: str | UnsetType = UNSET,
    description: str | None | UnsetType = UNSET,
    contained_permission_ids: list[str] | UnsetType = UNSET,
) -> PermissionDefinition:
    """Change a custom definition (UNSET leaves a field as is). A rename follows through
    containers, default groups and grants; a change that would make containment cyclic is
    refused with SCHEMA_ERROR."""
    async with changing_project(deps, project.id) as conn:
        override, config = await _edit_config(conn, project)
        custom = _custom_or_raise(config, scope, permission_id)
        current = custom[permission_id]
        target_id = permission_id if new_id is UNSET else new_id
        if target_id != permission_id and target_id in custom:
            raise PermissionIdAlreadyExists(permission_id=target_id)
        updated = current
        if description is not UNSET:
            updated = replace(updated, description=description)
        if contained_permission_ids is not UNSET:
            contained = _check_contained(
                config, scope, contained_permission_ids, own_id=permission_id
            )
            updated = replace(updated, contained_permission_ids=contained)
        groups: dict[str, list[str]] = {}
        if target_id != permission_id:
            custom = {
                pid: _renamed_inside(d, permission_id, target_id)
                for pid, d in custom.items()
                if pid != permission_id
            }
            updated = _renamed_inside(replace(updated, id=target_id), permission_id, target_id)
            groups = _groups_renamed(config, permission_id, target_id)
            await q.rename_grants(conn, project.tenancy_id, permission_id, target_id)
        custom[target_id] = updated
        _check_acyclic(custom, scope)
        await _write(conn, project, override_with(override, custom, groups))
    return updated


def _renamed_inside(
    definition: PermissionDefinition, old_id: str, new_id: str | None
) -> PermissionDefinition:
    """``definition`` with ``old_id`` in its contained ids renamed (or dropped if None)."""
    ids = {c for c in definition.contained_permission_ids if c != old_id}
    if new_id is not None and len(ids) < len(definition.contained_permission_ids):
        ids.add(new_id)
    return replace(definition, contained_permission_ids=tuple(sorted(ids)))


def _groups_renamed(config: ProjectConfig, old_id: str, new_id: str | None) -> dict[str, list[str]]:
    """Default-permission groups that mention ``old_id``, with it renamed (or dropped if None)."""
    out: dict[str, list[str]] = {}
    for group in DEFAULT_GROUP_SCOPES:
        ids = config.default_permissions(group)
        if old_id in ids:
            out[group] = [i for i in ids if i != old_id] + ([new_id] if new_id else [])
    return out


async def delete_definition(
    deps: Deps, project: TenantProject, scope: Scope, permission_id: str
) -> None:
    """Remove a custom definition, its place in other definitions and default groups, and every
    grant of it, in one transaction."""
    async with changing_project(deps, project.id) as conn:
        override, config = await _edit_config(conn, project)
        custom = _custom_or_raise(config, scope, permission_id)
        del custom[permission_id]
        custom = {pid: _renamed_inside(d, permission_id, None) for pid, d in custom.items()}
        groups = _groups_renamed(config, permission_id, None)
        await q.delete_grants_of(conn, project.tenancy_id, permission_id)
        await _write(conn, project, override_with(override, custom, groups))
