"""A project's email themes (``/internal/email-themes``): the layout every email renders inside.
List them with the one in use, create, choose, edit a theme's source with a live preview of a
template inside it (routes/email_preview.py)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from authstack_dashboard.routes.email_drafts import load_themes
from authstack_dashboard.routes.email_preview import preview_routes
from authstack_dashboard.routes.emails import (
    create_named,
    emails_base,
    load_templates,
    render_editor,
    render_emails_page,
    save_or_edit_again,
)
from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import Ctx, FormError, gather, page, page_routes

API = "/internal/email-themes"
# The template a theme is previewed with unless the form names another.
PREVIEW_TEMPLATE = "email_verification"


def _paths(ctx: Ctx) -> tuple[str, str, str]:
    return ctx.item_path("emails/themes", "theme")


@page
async def list_themes(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    project, themes = await gather(load_project(ctx, project_id), load_themes(ctx, project_id))
    return render_emails_page(
        ctx,
        "email_themes.html",
        project,
        "themes",
        themes=themes["themes"],
        selected=themes["selected_theme_id"],
    )


@page
async def create_theme(ctx: Ctx) -> Response:
    return await create_named(
        ctx, what="theme", api=API, collection="themes", back="/themes", extra={}
    )


@page
async def select_theme(ctx: Ctx) -> Response:
    """Make a theme the project's: every email from then on renders inside it."""
    project_id = ctx.project_id
    here = f"{emails_base(project_id)}/themes"
    theme_id = ctx.form.get("theme_id")
    listed = await load_themes(ctx, project_id)
    names = {t["id"]: t["display_name"] for t in listed["themes"]}
    if theme_id not in names:
        raise FormError("Choose one of the themes listed.", here)
    await ctx.admin(
        "PATCH",
        "/internal/projects/current",
        project_id,
        json_body={"config": {"email_theme": theme_id}},
    )
    return ctx.redirect(here, f"Emails now use the theme “{names[theme_id]}”.")


def _preview_template(ctx: Ctx) -> str:
    value = ctx.form.get("template_id") or ctx.request.query_params.get("template_id", "")
    return value if value and len(value) <= 64 else PREVIEW_TEMPLATE


async def _editor(ctx: Ctx, unsaved: dict[str, Any] | None = None) -> Response:
    project_id, theme_id, here = _paths(ctx)
    project, theme, templates, themes = await gather(
        load_project(ctx, project_id),
        ctx.admin("GET", f"{API}/{theme_id}", project_id),
        load_templates(ctx, project_id),
        load_themes(ctx, project_id),
    )
    return render_editor(
        ctx,
        "email_theme.html",
        project,
        "themes",
        {**theme, "id": theme_id, **(unsaved or {})},
        here,
        templates=templates,
        preview_template=_preview_template(ctx),
        selected=themes["selected_theme_id"] == theme_id,
    )


show_theme = page(_editor)


@page
async def save_theme(ctx: Ctx) -> Response:
    _, theme_id, here = _paths(ctx)
    body = {"tsx_source": ctx.form.get("tsx_source")}
    name = ctx.form.get("display_name").strip()
    if name:
        body["display_name"] = name
    return await save_or_edit_again(ctx, f"{API}/{theme_id}", body, _editor, (here, "Theme saved."))


def render_body(ctx: Ctx, unsaved: bool) -> dict[str, Any]:
    """render-email's body: a template inside the saved theme, or inside the unsaved source."""
    _, theme_id, _ = _paths(ctx)
    body: dict[str, Any] = {"template_id": _preview_template(ctx)}
    if unsaved:
        body["theme_tsx_source"] = ctx.form.get("tsx_source")
    else:
        body["theme_id"] = theme_id
    return body


PATH = "/projects/{project_id}/emails/themes/{theme_id}"
routes = [
    *page_routes(
        "/projects/{project_id}/emails/themes",
        list_themes,
        {"/create": create_theme, "/select": select_theme},
    ),
    Route(PATH, show_theme, methods=["GET"]),
    Route(PATH + "/save", save_theme, methods=["POST"]),
    *preview_routes(PATH, render_body),
]
