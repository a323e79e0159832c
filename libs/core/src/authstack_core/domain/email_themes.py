"""Email themes of a project (``/internal/email-themes``): kept in its config, trial-rendered
before they are saved.

A theme lives where upstream keeps it, ``emails.themes.<id>: {displayName, tsxSource}`` in the
environment level of the config (the field holds this project's Jinja2 source); the built-in
ones may be edited the same way. Edits go through the config override's audited merge, and
requests read the config afresh, so the next email is rendered in the theme as it now is.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from authstack_core.domain import config_overrides
from authstack_core.domain.context import Deps
from authstack_core.email_rendering import TemplateError, check_theme, run_off_loop
from authstack_core.email_themes import (
    DEFAULT_THEME_SOURCE,
    MAX_CUSTOM_THEMES,
    Theme,
    custom_theme_count,
    project_themes,
)
from authstack_core.errors import EmailRenderingError, EmailThemeLimitReached, EmailThemeNotFound
from authstack_core.models.audit_log import Actor
from authstack_core.models.projects import TenantProject


def list_themes(project: TenantProject) -> dict[str, Any]:
    """Upstream's listing (id and name of each theme), and which one the project has selected."""
    themes = project_themes(project.config)
    return {
        "themes": [t.json() for t in themes.values()],
        "selected_theme_id": project.config.email_theme,
    }


def get_theme(project: TenantProject, theme_id: str) -> Theme:
    """The theme ``theme_id`` names; 404 (upstream's text) when the project has none such."""
    theme = project_themes(project.config).get(theme_id)
    if theme is None:
        raise EmailThemeNotFound()
    return theme


async def checked_theme(source: str, preview_html: str | None = None) -> str:
    """The HTML of a sample email (or of ``preview_html``) in the theme ``source``, rendered in a
    worker thread within one email's budget; EMAIL_RENDERING_ERROR saying what is wrong."""
    try:
        return await run_off_loop(check_theme, source, preview_html)
    except TemplateError as exc:
        raise EmailRenderingError(error=str(exc)) from None


async def _save(
    deps: Deps, project: TenantProject, theme_id: str, name: str, source: str, actor: Actor | None
) -> None:
    entry = {f"emails.themes.{theme_id}": {"displayName": name, "tsxSource": source}}
    await config_overrides.merge_into_level(
        deps, project, "environment", msgspec.json.encode(entry).decode(), actor=actor
    )


async def create_theme(
    deps: Deps,
    project: TenantProject,
    *,
    display_name: str,
    source: str | None,
    actor: Actor | None,
) -> str:
    """A new theme of the project (a copy of the default theme unless ``source`` is given, which
    is checked first); its id. 400 past MAX_CUSTOM_THEMES themes of its own."""
    if custom_theme_count(project.config) >= MAX_CUSTOM_THEMES:
        raise EmailThemeLimitReached(MAX_CUSTOM_THEMES)
    if source is not None:
        await checked_theme(source)
    theme_id = str(uuid.uuid4())
    await _save(deps, project, theme_id, display_name, source or DEFAULT_THEME_SOURCE, actor)
    return theme_id


async def update_theme(
    deps: Deps,
    project: TenantProject,
    theme_id: str,
    *,
    display_name: str | None,
    source: str | None,
    preview_html: str | None,
    actor: Actor | None,
) -> dict[str, Any]:
    """Rename a theme and/or replace its source (checked first, EMAIL_RENDERING_ERROR if it
    fails); a built-in theme edited this way is the project's version of it from then on.
    Answers upstream's ``{display_name}``, plus ``rendered_html`` (``preview_html`` in the theme)
    when ``preview_html`` is given."""
    theme = get_theme(project, theme_id)
    new_source = theme.source if source is None else source
    rendered = None
    if source is not None or preview_html is not None:
        rendered = await checked_theme(new_source, preview_html)
    name = theme.display_name if display_name is None else display_name
    await _save(deps, project, theme_id, name, new_source, actor)
    out: dict[str, Any] = {"id": theme_id, "display_name": name}
    if preview_html is not None:
        out["rendered_html"] = rendered
    return out
