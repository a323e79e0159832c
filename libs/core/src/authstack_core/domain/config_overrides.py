"""The config override API (contract §1.5, §10): replace, merge into or reset one level of a
project's config, and track where its branch level came from.

Requests read the project and its levels afresh, so every change applies from the next request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from psycopg import AsyncConnection

from authstack_core.db.queries import config as q
from authstack_core.domain import audit_log, external_db_secrets
from authstack_core.domain.context import Deps
from authstack_core.domain.project_changes import changing_project
from authstack_core.errors import (
    BranchConfigSourceRequired,
    CurrentProjectNotFound,
    InvalidConfigJson,
    SchemaError,
)
from authstack_core.models.audit_log import Actor, Target
from authstack_core.models.config import ProjectConfig
from authstack_core.models.config_format import merge_overrides, reset_keys
from authstack_core.models.config_schema import (
    UNLINKED,
    ConfigLevels,
    Level,
    changed_paths,
    override_problems,
)
from authstack_core.models.projects import TenantProject
from authstack_core.outbound import OutboundAddressError, check_host
from authstack_core.settings import Settings


def refuse_internal_smtp_host(settings: Settings, host: str, field: str) -> None:
    """SCHEMA_ERROR for a project SMTP host that is obviously internal (loopback, private,
    link-local, ...) unless the operator allows private networks. A host *name* is checked again,
    resolved, each time the worker connects (DNS can change after this)."""
    try:
        check_host(host, allow_private=settings.outbound_allow_private_networks)
    except OutboundAddressError as exc:
        raise SchemaError(
            message=f"{field}: {exc}. A project's SMTP server must be on a public network (the "
            "operator may allow private networks with STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS)."
        ) from None


def _check_email_server(settings: Settings, before: ProjectConfig, after: ProjectConfig) -> None:
    server, old = after.email_server, before.email_server
    if server.is_shared or not server.host:
        return
    if not old.is_shared and old.host == server.host:
        return  # already in use: accepted when it was saved
    refuse_internal_smtp_host(settings, server.host, "emails.server.host")


def parse_override(level: Level, text: str) -> dict[str, Any]:
    """The override a config string holds, checked against the schema of ``level``.

    ``Invalid config JSON`` (400) when it is not JSON; SCHEMA_ERROR listing every problem when it
    is not an object, or names a key the level cannot hold, or a value of the wrong type.
    """
    try:
        value: object = msgspec.json.decode(text)
    except msgspec.DecodeError:
        raise InvalidConfigJson() from None
    problems = (
        override_problems(level, value)
        if isinstance(value, dict)
        else ["The config override must be a JSON object."]
    )
    if problems or not isinstance(value, dict):
        raise SchemaError(
            message=f"Invalid config override for the {level} level:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )
    return value


async def lock(conn: AsyncConnection[Any], project: TenantProject) -> ConfigLevels:
    """The project's config levels, locked for a read-modify-write until the transaction ends."""
    levels = await q.lock_levels(conn, project.id, project.tenancy_id)
    if levels is None:
        raise CurrentProjectNotFound(project_id=project.id)
    return levels


async def write(
    conn: AsyncConnection[Any], project: TenantProject, level: Level, override: dict[str, Any]
) -> None:
    """Store ``override`` as the whole of ``level`` (after ``lock``)."""
    await q.write_level(conn, project.id, project.tenancy_id, level, override)


async def _edit(
    deps: Deps,
    project: TenantProject,
    level: Level,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    actor: Actor | None,
    operation: str,
    source: dict[str, Any] | None = None,
) -> None:
    async with changing_project(deps, project.id) as conn:
        levels = await lock(conn, project)
        before = levels.config()
        override = external_db_secrets.seal_override(
            deps.settings.server_secret, project.id, change(levels.of(level)), before.raw
        )
        after = levels.with_level(level, override)
        _check_email_server(deps.settings, before, after)
        await write(conn, project, level, override)
        if source is not None:
            await q.write_source(conn, project.id, project.tenancy_id, source)
        await audit_log.record(
            conn,
            project,
            actor,
            "project.config_updated",
            Target("project", project.id),
            {
                "level": level,
                "operation": operation,
                **audit_log.listed("changed_keys", changed_paths(before.raw, after.raw)),
            },
        )


async def replace_level(
    deps: Deps,
    project: TenantProject,
    level: Level,
    config_string: str,
    source: dict[str, Any] | None,
    *,
    actor: Actor | None,
) -> None:
    """Make ``config_string`` the whole of ``level``; a branch also records its ``source``
    (required there: the source is what the branch level was pushed from). Audited, as the
    other edits, with the names of the rendered keys that changed."""
    override = parse_override(level, config_string)
    if level == "branch" and source is None:
        raise BranchConfigSourceRequired()
    await _edit(
        deps,
        project,
        level,
        lambda _: override,
        actor=actor,
        operation="replace",
        source=source if level == "branch" else None,
    )


async def merge_into_level(
    deps: Deps,
    project: TenantProject,
    level: Level,
    config_override_string: str,
    *,
    actor: Actor | None,
) -> None:
    """Lay the override ``config_override_string`` holds over what ``level`` has: each of its keys
    replaces the stored keys it covers (see ``config_format.merge_overrides``)."""
    override = parse_override(level, config_override_string)
    await _edit(
        deps,
        project,
        level,
        lambda stored: merge_overrides(stored, override),
        actor=actor,
        operation="merge",
    )


async def reset_level_keys(
    deps: Deps, project: TenantProject, level: Level, keys: Iterable[str], *, actor: Actor | None
) -> None:
    """Remove ``keys`` and everything below them from ``level``, flat or nested."""
    keys = list(keys)
    await _edit(
        deps,
        project,
        level,
        lambda stored: reset_keys(stored, keys),
        actor=actor,
        operation="reset_keys",
    )


def shown(deps: Deps, project: TenantProject, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` (rendered or one level's override) as the API shows it: secrets the config
    holds sealed (external databases' connection strings) redacted."""
    return external_db_secrets.redact_config(deps.settings.server_secret, project.id, config)


async def read_source(deps: Deps, project: TenantProject) -> dict[str, Any]:
    """Where the branch level came from: ``{"type": "unlinked"}`` unless a push said otherwise."""
    async with deps.pool.connection() as conn:
        source = await q.select_source(conn, project.id, project.tenancy_id)
    if source is None:
        raise CurrentProjectNotFound(project_id=project.id)
    return source


async def unlink_source(deps: Deps, project: TenantProject) -> None:
    """Mark the branch level as no longer tied to where it was pushed from (its config stays)."""
    async with deps.pool.connection() as conn, conn.transaction():
        await lock(conn, project)
        await q.write_source(conn, project.id, project.tenancy_id, UNLINKED)
