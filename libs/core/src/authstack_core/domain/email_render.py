"""The one way an email is rendered: the worker's sends, previews (render-email), test sends.

``render_email`` finds the content (a template by id, a draft, a source, literal HTML) and the
theme (a theme id, the project's selected one, a source, or none), then renders both in the
sandbox within one email's budget, in a worker thread (``email_rendering.run_off_loop``).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any

import structlog
from msgspec import UNSET, UnsetType

from authstack_core.db.queries import email_drafts as drafts_q
from authstack_core.db.queries import email_templates as templates_q
from authstack_core.domain.context import Deps
from authstack_core.email_rendering import (
    BUILTIN_TEMPLATES,
    NO_THEME,
    Layout,
    LiteralEmail,
    RenderedEmail,
    TemplateError,
    TemplateSource,
    render,
    run_off_loop,
    sample_variables,
)
from authstack_core.email_themes import find_theme
from authstack_core.errors import (
    EmailDraftNotFound,
    EmailRenderingError,
    EmailTemplateNotFound,
    UnknownEmailTheme,
)
from authstack_core.models.config import ProjectConfig, ThemeChoice
from authstack_core.models.projects import TenantProject

log = structlog.get_logger(__name__)

# Upstream's category of its built-in (auth) templates: always sent, cannot be unsubscribed.
TRANSACTIONAL = "Transactional"


async def render_email(
    deps: Deps,
    tenancy_id: uuid.UUID,
    config: ProjectConfig,
    *,
    template_id: str | None = None,
    draft_id: uuid.UUID | None = None,
    source: TemplateSource | None = None,
    html: str | None = None,
    subject: str | None = None,
    theme_id: ThemeChoice | UnsetType = UNSET,
    theme_source: str | None = None,
    variables: Mapping[str, Any],
    theme_fallback: bool = False,
) -> RenderedEmail:
    """Render one email of the tenancy whose config is ``config``; nothing is sent or stored.

    Content, exactly one of: ``template_id`` (a built-in type, with the project's override if
    any, or a project template), ``draft_id``, ``source`` (``template_id`` may name what it is
    the source of), or literal ``html`` with a literal ``subject``. Theme: ``theme_source``, or
    ``theme_id`` (a theme id; None: the project's selected theme; False: none; unset: the
    draft's own choice, else the project's). ``variables`` are used as given (a draft's
    ``template_variables`` under them). With ``theme_fallback`` (real sends), an email that
    fails in a theme other than the default is rendered in the default one instead, so a broken
    theme written straight into the config cannot stop sign-in mail.

    Raise EmailTemplateNotFound / EmailDraftNotFound for content that does not exist,
    UnknownEmailTheme for a theme id the project has not, and EmailRenderingError (its
    ``error`` is the sandbox's message, e.g. the budget a template goes over) when rendering
    fails.
    """
    named = (template_id if source is None else None, draft_id, source, html)
    given = [v for v in named if v is not None]
    if len(given) != 1:
        raise ValueError("render_email takes exactly one of template_id, draft_id, source, html")
    content: TemplateSource | LiteralEmail
    if html is not None:
        content = LiteralEmail(subject or "", html)
    elif source is not None:
        content = source
    elif template_id is not None:
        content = await _template_source(deps, tenancy_id, template_id)
    else:
        assert draft_id is not None
        async with deps.pool.connection() as conn:
            draft = await drafts_q.select_draft(conn, tenancy_id, draft_id)
        if draft is None:
            raise EmailDraftNotFound()
        content = TemplateSource(draft.subject, draft.source, None)
        variables = {**draft.template_variables, **variables}
        if isinstance(theme_id, UnsetType):
            theme_id = draft.theme
    layout = theme_source if theme_source is not None else _theme_layout(config, theme_id)
    try:
        rendered = await run_off_loop(_render, content, dict(variables), layout, theme_fallback)
    except TemplateError as exc:
        raise EmailRenderingError(error=str(exc)) from None
    if template_id in BUILTIN_TEMPLATES:
        rendered = dataclasses.replace(rendered, notification_category=TRANSACTIONAL)
    return rendered


async def preview_email(
    deps: Deps,
    project: TenantProject,
    *,
    template_id: str | None = None,
    draft_id: uuid.UUID | None = None,
    source: TemplateSource | None = None,
    theme_id: ThemeChoice | UnsetType = UNSET,
    theme_source: str | None = None,
    variables: Mapping[str, Any],
) -> RenderedEmail:
    """``POST /emails/render-email``: ``render_email`` with sample values (the project's name, a
    sample user, sample links for a built-in template's variables) under a draft's
    ``template_variables``, under ``variables``. Never sends, never writes the outbox."""
    samples = {**sample_variables(template_id), "projectDisplayName": project.display_name}
    if draft_id is not None:
        async with deps.pool.connection() as conn:
            draft = await drafts_q.select_draft(conn, project.tenancy_id, draft_id)
        if draft is None:
            raise EmailDraftNotFound()
        source = TemplateSource(draft.subject, draft.source, None)
        samples.update(draft.template_variables)
        if isinstance(theme_id, UnsetType):
            theme_id = draft.theme
    return await render_email(
        deps,
        project.tenancy_id,
        project.config,
        template_id=template_id,
        source=source,
        theme_id=theme_id,
        theme_source=theme_source,
        variables={**samples, **variables},
    )


async def _template_source(deps: Deps, tenancy_id: uuid.UUID, template_id: str) -> TemplateSource:
    async with deps.pool.connection() as conn:
        row = await templates_q.select_template(conn, tenancy_id, template_id)
    if row is not None:
        return TemplateSource(row.subject, row.html, row.text)
    builtin = BUILTIN_TEMPLATES.get(template_id)
    if builtin is None:
        raise EmailTemplateNotFound(template_id)
    return builtin.source


def _theme_layout(config: ProjectConfig, choice: ThemeChoice | UnsetType) -> Layout:
    try:
        theme = find_theme(config, None if isinstance(choice, UnsetType) else choice)
    except KeyError:
        raise UnknownEmailTheme() from None
    return NO_THEME if theme is None else theme.source


def _render(
    content: TemplateSource | LiteralEmail,
    variables: dict[str, Any],
    layout: Layout,
    fallback: bool,
) -> RenderedEmail:
    try:
        return render(content, variables, layout)
    except TemplateError as exc:
        if not fallback or layout is None or layout is NO_THEME:
            raise
        rendered = render(content, variables, None)  # the default theme; raises if still bad
        log.warning("email rendered in the default theme: its own theme failed", error=str(exc))
        return rendered
