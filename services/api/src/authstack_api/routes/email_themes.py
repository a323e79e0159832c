"""Admin: the project's email themes (``/internal/email-themes``), as upstream's, with the
source of a theme (``tsx_source``) a sandboxed Jinja2 layout here."""

from __future__ import annotations

from litestar import Response, get, patch, post

from authstack_api import limits
from authstack_api.auth import AdminAuth, HttpRequest
from authstack_api.email_schemas import Name, Source, ThemeSource
from authstack_api.responses import json_response
from authstack_api.schemas import Strict
from authstack_core.domain import email_themes
from authstack_core.domain.context import Deps
from authstack_core.errors import SchemaError

THEMES = "/api/v1/internal/email-themes"
THEME = THEMES + "/{theme_id:str}"


class CreateThemeBody(Strict):
    display_name: Name
    # Ours: the new theme's source (upstream starts every theme as a copy of the default one).
    tsx_source: ThemeSource | None = None


class UpdateThemeBody(Strict):
    tsx_source: ThemeSource | None = None
    display_name: Name | None = None  # ours: rename a theme
    # Upstream's older route: HTML to show inside the theme, answered as rendered_html.
    preview_html: Source | None = None


@get(THEMES)
async def list_themes(auth: AdminAuth) -> Response[bytes]:
    """``{themes: [{id, display_name}]}`` (built-in ones first) and ``selected_theme_id``."""
    return json_response(email_themes.list_themes(auth.project))


@post(THEMES, status_code=200)
async def create_theme(
    auth: AdminAuth, deps: Deps, request: HttpRequest, data: CreateThemeBody
) -> Response[bytes]:
    """A new theme; answers ``{id}``. A given source is trial-rendered first."""
    if data.tsx_source is not None:
        await limits.limit(request, "email_render", project_id=auth.project.id)
    theme_id = await email_themes.create_theme(
        deps,
        auth.project,
        display_name=data.display_name,
        source=data.tsx_source,
        actor=auth.actor,
    )
    return json_response({"id": theme_id})


@get(THEME)
async def get_theme(auth: AdminAuth, theme_id: str) -> Response[bytes]:
    theme = email_themes.get_theme(auth.project, theme_id)
    return json_response(theme.json(include_source=True))


@patch(THEME)
async def update_theme(
    auth: AdminAuth, deps: Deps, request: HttpRequest, theme_id: str, data: UpdateThemeBody
) -> Response[bytes]:
    """Replace a theme's source (trial-rendered first: EMAIL_RENDERING_ERROR when it fails)
    and/or its name; the next email is rendered in it."""
    if data.tsx_source is None and data.display_name is None:
        raise SchemaError(message="send tsx_source, display_name or both")
    email_themes.get_theme(auth.project, theme_id)  # 404 before anything is counted
    if data.tsx_source is not None or data.preview_html is not None:
        await limits.limit(request, "email_render", project_id=auth.project.id)
    updated = await email_themes.update_theme(
        deps,
        auth.project,
        theme_id,
        display_name=data.display_name,
        source=data.tsx_source,
        preview_html=data.preview_html,
        actor=auth.actor,
    )
    return json_response(updated)
