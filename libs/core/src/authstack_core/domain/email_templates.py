"""Email templates: a project's own and its overrides of built-in ones, trial-rendered first."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from msgspec import UNSET
from psycopg import AsyncConnection

from authstack_core.db.queries import email_templates as q
from authstack_core.domain.context import Deps
from authstack_core.email_rendering import (
    BUILTIN_TEMPLATES,
    TemplateError,
    TemplateSource,
    check_template,
    run_off_loop,
)
from authstack_core.errors import EmailTemplateNotFound, SchemaError
from authstack_core.models.emails import TemplateChanges, TemplateRow
from authstack_core.models.projects import TenantProject


async def check_usable(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, template: str, variables: Mapping[str, Any]
) -> None:
    """404 for an unknown template; SCHEMA_ERROR if a built-in one misses variables it needs."""
    builtin = BUILTIN_TEMPLATES.get(template)
    if builtin is None:
        if await q.select_template(conn, tenancy_id, template) is None:
            raise EmailTemplateNotFound(template)
        return
    missing = [name for name in builtin.variables if name not in variables]
    if missing:
        raise SchemaError(message=f"template {template} needs the variables: {', '.join(missing)}")


def template_json(
    template_id: str, row: TemplateRow | None, *, include_source: bool = True
) -> dict[str, Any]:
    builtin = BUILTIN_TEMPLATES.get(template_id)
    source = (
        TemplateSource(row.subject, row.html, row.text)
        if row is not None
        else (builtin.source if builtin else None)
    )
    assert source is not None
    out: dict[str, Any] = {
        "id": template_id,
        "display_name": row.display_name if row else (builtin.display_name if builtin else ""),
        "is_builtin": builtin is not None,
        "is_overridden": builtin is not None and row is not None,
        "variables": list(builtin.variables) if builtin else [],
    }
    if include_source:
        out.update(subject=source.subject, html=source.html, text=source.text)
    return out


async def list_templates(deps: Deps, project: TenantProject) -> list[dict[str, Any]]:
    """The built-in templates (with the project's overrides applied), then its own ones."""
    async with deps.pool.connection() as conn:
        rows = {r.id: r for r in await q.select_templates(conn, project.tenancy_id)}
    out = [template_json(tid, rows.pop(tid, None)) for tid in BUILTIN_TEMPLATES]
    out.extend(template_json(tid, row) for tid, row in rows.items())
    return out


async def _checked(source: TemplateSource, template_id: str) -> None:
    """Trial-render in a worker thread (bounded by the rendering budget); SCHEMA_ERROR naming
    the problem, e.g. the budget a template goes over."""
    try:
        await run_off_loop(check_template, source, template_id)
    except TemplateError as exc:
        raise SchemaError(message=f"The email template is not valid: {exc}") from None


async def create_template(
    deps: Deps,
    project: TenantProject,
    *,
    display_name: str,
    subject: str,
    html: str,
    text: str | None,
) -> dict[str, Any]:
    """A project template, usable as send-email's ``template_id``; SCHEMA_ERROR if it is broken."""
    template_id = str(uuid.uuid4())
    await _checked(TemplateSource(subject, html, text), template_id)
    async with deps.pool.connection() as conn, conn.transaction():
        await q.upsert_template(
            conn,
            project.tenancy_id,
            template_id,
            display_name=display_name,
            subject=subject,
            html=html,
            text=text,
        )
        row = await q.select_template(conn, project.tenancy_id, template_id)
    return template_json(template_id, row)


async def update_template(
    deps: Deps,
    project: TenantProject,
    template_id: str,
    changes: TemplateChanges,
) -> dict[str, Any]:
    """Override a built-in template or edit a project template (subject, html, text, name)."""
    tenancy_id = project.tenancy_id
    builtin = BUILTIN_TEMPLATES.get(template_id)
    async with deps.pool.connection() as conn, conn.transaction():
        current = await q.select_template(conn, tenancy_id, template_id)
        if current is None and builtin is None:
            raise EmailTemplateNotFound(template_id)
        if current is not None:
            base = TemplateSource(current.subject, current.html, current.text)
            name = current.display_name
        else:
            assert builtin is not None
            base = builtin.source
            name = builtin.display_name
        source = TemplateSource(
            subject=base.subject if changes.subject is UNSET else changes.subject,
            html=base.html if changes.html is UNSET else changes.html,
            text=base.text if changes.text is UNSET else changes.text,
        )
        await _checked(source, template_id)
        await q.upsert_template(
            conn,
            tenancy_id,
            template_id,
            display_name=changes.display_name or name,
            subject=source.subject,
            html=source.html,
            text=source.text,
        )
        row = await q.select_template(conn, tenancy_id, template_id)
    return template_json(template_id, row)


async def delete_template(deps: Deps, project: TenantProject, template_id: str) -> None:
    """Delete a project template, or reset a built-in one to its default."""
    async with deps.pool.connection() as conn, conn.transaction():
        deleted = await q.delete_template(conn, project.tenancy_id, template_id)
    if not deleted and template_id not in BUILTIN_TEMPLATES:
        raise EmailTemplateNotFound(template_id)
