"""Projects as their administrators manage them: list, create, read, update, delete."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from msgspec import UNSET

from authstack_core.db.queries import projects as q
from authstack_core.db.queries import users as user_q
from authstack_core.domain import audit_log, config_overrides
from authstack_core.domain.config_overrides import refuse_internal_smtp_host
from authstack_core.domain.context import Deps
from authstack_core.domain.images import ImageWrites
from authstack_core.domain.permissions import require_team_permission
from authstack_core.domain.project_changes import changing_project
from authstack_core.errors import (
    CurrentProjectNotFound,
    InternalProjectUndeletable,
    InvalidEmailTheme,
    ProjectNotFound,
    ProjectWithoutOwnerTeam,
    TeamMembershipNotFound,
)
from authstack_core.models.audit_log import Actor, Target
from authstack_core.models.config import NEW_PROJECT_OVERRIDE, ProjectConfig
from authstack_core.models.config_format import merge_overrides
from authstack_core.models.config_schema import changed_paths
from authstack_core.models.projects import (
    LOGO_FIELDS,
    AdminProjectRow,
    ProjectChanges,
    TenantProject,
    legacy_config_changes,
)
from authstack_core.settings import Settings

INTERNAL_PROJECT_ID = "internal"


def _check_email_theme(config: ProjectConfig, legacy: dict[str, Any]) -> None:
    theme = legacy.get("email_theme")
    if theme is not None and theme not in config.email_theme_ids:
        raise InvalidEmailTheme()


def _check_email_server(settings: Settings, legacy: dict[str, Any]) -> None:
    email = legacy.get("email_config")
    if email and email.get("type") == "standard" and email.get("host"):
        refuse_internal_smtp_host(settings, str(email["host"]), "config.email_config.host")


async def list_owned_projects(deps: Deps, user_id: str) -> list[AdminProjectRow]:
    """Projects owned by the internal teams ``user_id`` (an internal-project user) belongs to."""
    async with deps.pool.connection() as conn:
        return await q.select_owned_projects(conn, user_id)


async def create_project(
    deps: Deps,
    user_id: str,
    *,
    owner_team_id: str,
    details: ProjectChanges,
    is_development_environment: bool,
    legacy: dict[str, Any],
) -> AdminProjectRow:
    """Create a project owned by an internal team the user is a member of, with the plain fields
    of ``details`` (its display name is required) and the legacy config.

    Raises TEAM_MEMBERSHIP_NOT_FOUND when the user is not in ``owner_team_id``. New projects
    start with their config on the environment level. They refuse localhost redirects unless the
    legacy config asks for them (``allow_localhost``):
    upstream allows them by default, but then any page on the victim's own machine, or a
    ``*.localhost`` name, can receive a reset or sign-in code. SCHEMA_ERROR for an SMTP host on
    an internal network (see ``outbound``); a plain 400 for an email theme no project has.
    """
    _check_email_server(deps.settings, legacy)
    override = merge_overrides(NEW_PROJECT_OVERRIDE, legacy_config_changes(legacy))
    _check_email_theme(ProjectConfig.from_override(override), legacy)
    assert isinstance(details.display_name, str)
    project_id = str(uuid.uuid4())
    images = ImageWrites(deps, project_id)
    await images.take_fields(details, LOGO_FIELDS)
    async with images, deps.pool.connection() as conn, conn.transaction():
        if not await q.select_is_internal_team_member(conn, owner_team_id, user_id):
            raise TeamMembershipNotFound(team_id=owner_team_id, user_id=user_id)
        await q.insert_project(
            conn,
            project_id,
            display_name=details.display_name,
            owner_team_id=owner_team_id,
            is_development_environment=is_development_environment,
            environment_config_override=override,
        )
        row = await q.select_project_for_update(conn, project_id)
        assert row is not None
        row = details.applied_to(row)
        await q.update_project(conn, row)
        await images.attach_in(conn, dropped=())
    return row


async def get_project(deps: Deps, project: TenantProject) -> AdminProjectRow:
    """The admin object of the request's project (CURRENT_PROJECT_NOT_FOUND if it went)."""
    async with deps.pool.connection() as conn:
        row = await q.select_project(conn, project.id)
    if row is None:
        raise CurrentProjectNotFound(project_id=project.id)
    return row


async def update_project(
    deps: Deps,
    project: TenantProject,
    changes: ProjectChanges,
    legacy: dict[str, Any] | None,
    *,
    actor: Actor | None,
) -> AdminProjectRow:
    """Apply a validated PATCH (plain fields in ``changes``, the legacy config's JSON in
    ``legacy``, which is written to the environment level as upstream does).

    The row is locked while its config is rewritten, so concurrent edits do not lose each other;
    requests read the project afresh, so the change applies from the next request on. Audited
    as ``project.updated`` with the names of the fields sent and of the config keys changed.
    SCHEMA_ERROR for an SMTP host on an internal network (see ``outbound``); a plain 400 for an
    ``email_theme`` that is neither built in nor one of the project's themes.
    """
    if legacy:
        _check_email_server(deps.settings, legacy)
        _check_email_theme(project.config, legacy)
    images = ImageWrites(deps, project.id)
    await images.take_fields(changes, LOGO_FIELDS)
    async with images, changing_project(deps, project.id) as conn:
        row = await q.select_project_for_update(conn, project.id)
        if row is None:
            raise CurrentProjectNotFound(project_id=project.id)
        levels = await config_overrides.lock(conn, project)
        environment = levels.environment_config_override
        changed_keys: list[str] = []
        if legacy:
            environment = merge_overrides(environment, legacy_config_changes(legacy))
            await config_overrides.write(conn, project, "environment", environment)
            after = levels.with_level("environment", environment)
            changed_keys = changed_paths(levels.config().raw, after.raw)
        updated = changes.applied_to(
            replace(
                row,
                config_override=levels.config_override,
                branch_config_override=levels.branch_config_override,
                environment_config_override=environment,
            )
        )
        await q.update_project(conn, updated)
        replaced = [getattr(row, n) for n in LOGO_FIELDS if getattr(changes, n) is not UNSET]
        await images.attach_in(conn, dropped=replaced)
        sent = [n for n in ProjectChanges.__struct_fields__ if getattr(changes, n) is not UNSET]
        await audit_log.record(
            conn,
            project,
            actor,
            "project.updated",
            Target("project", project.id),
            {
                **audit_log.listed("fields", sent + (["config"] if legacy else [])),
                **audit_log.listed("changed_keys", changed_keys),
            },
        )
    return updated


async def transfer_project(
    deps: Deps, internal: TenantProject, user_id: str, project_id: str, new_team_id: str
) -> None:
    """Give ``project_id`` to another internal team. The acting internal user must hold
    ``team_admin`` in the current owner team and belong to the new one."""
    async with changing_project(deps, project_id) as conn:
        row = await q.select_project_for_update(conn, project_id)
        if row is None:
            raise ProjectNotFound(project_id=project_id)
        if row.owner_team_id is None:
            raise ProjectWithoutOwnerTeam()
        owner = str(row.owner_team_id)
        await require_team_permission(conn, internal, owner, user_id, "team_admin")
        if not await user_q.select_is_member(conn, internal.tenancy_id, new_team_id, user_id):
            raise TeamMembershipNotFound(team_id=new_team_id, user_id=user_id)
        await q.update_owner_team(conn, project_id, new_team_id)


async def delete_project(deps: Deps, project_id: str) -> None:
    """Delete a project and everything in it. The internal project cannot be deleted."""
    if project_id == INTERNAL_PROJECT_ID:
        raise InternalProjectUndeletable()
    async with changing_project(deps, project_id) as conn:
        if not await q.delete_project(conn, project_id):
            raise CurrentProjectNotFound(project_id=project_id)
