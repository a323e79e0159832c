"""A project's email drafts (``/internal/email-drafts``): list, create, edit with a live preview
(as templates are, routes/email_preview.py), delete. A draft is sent with send-email's
``draft_id``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from authstack_dashboard.routes.email_preview import preview_routes
from authstack_dashboard.routes.emails import (
    create_named,
    emails_base,
    render_editor,
    render_emails_page,
    save_or_edit_again,
)
from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import Ctx, gather, page, page_routes

API = "/internal/email-drafts"


def theme_choice(value: str) -> str | bool | None:
    """A theme select's value on the wire: "" the project's theme (null), "none" no theme
    (false), else a theme id."""
    if value == "none":
        return False
    return value or None


def theme_value(theme_id: Any) -> str:
    """The select's value for a wire ``theme_id`` (the inverse of ``theme_choice``)."""
    if theme_id is False:
        return "none"
    return theme_id if isinstance(theme_id, str) else ""


async def load_themes(ctx: Ctx, project_id: str) -> dict[str, Any]:
    """``{themes: [{id, display_name}], selected_theme_id}``."""
    listed: dict[str, Any] = await ctx.admin("GET", "/internal/email-themes", project_id)
    return listed


def _paths(ctx: Ctx) -> tuple[str, str, str]:
    return ctx.item_path("emails/drafts", "draft")


@page
async def list_drafts(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    project, listed = await gather(load_project(ctx, project_id), ctx.admin("GET", API, project_id))
    return render_emails_page(ctx, "email_drafts.html", project, "drafts", drafts=listed["drafts"])


@page
async def create_draft(ctx: Ctx) -> Response:
    return await create_named(
        ctx, what="draft", api=API, collection="drafts", back="/drafts", extra={}
    )


def _draft_form(ctx: Ctx) -> dict[str, Any]:
    form = ctx.form
    out = {
        "subject": form.get("subject"),
        "tsx_source": form.get("tsx_source"),
        "theme_id": theme_choice(form.get("theme_id")),
    }
    name = form.get("display_name").strip()
    return {**out, "display_name": name} if name else out


async def _editor(ctx: Ctx, unsaved: dict[str, Any] | None = None) -> Response:
    project_id, draft_id, here = _paths(ctx)
    project, draft, themes = await gather(
        load_project(ctx, project_id),
        ctx.admin("GET", f"{API}/{draft_id}", project_id),
        load_themes(ctx, project_id),
    )
    draft = {**draft, "id": draft_id, **(unsaved or {})}
    return render_editor(
        ctx,
        "email_draft.html",
        project,
        "drafts",
        draft,
        here,
        themes=themes["themes"],
        theme_selected=theme_value(draft.get("theme_id")),
    )


show_draft = page(_editor)


@page
async def save_draft(ctx: Ctx) -> Response:
    _, draft_id, here = _paths(ctx)
    body = _draft_form(ctx)
    return await save_or_edit_again(ctx, f"{API}/{draft_id}", body, _editor, (here, "Draft saved."))


@page
async def delete_draft(ctx: Ctx) -> Response:
    project_id, draft_id, _ = _paths(ctx)
    await ctx.admin("DELETE", f"{API}/{draft_id}", project_id)
    return ctx.redirect(f"{emails_base(project_id)}/drafts", "Draft deleted.")


def render_body(ctx: Ctx, unsaved: bool) -> dict[str, Any]:
    """render-email's body: the saved draft (in its own theme), or the unsaved content in the
    theme chosen in the form."""
    _, draft_id, _ = _paths(ctx)
    if not unsaved:
        return {"draft_id": draft_id}
    form = _draft_form(ctx)
    return {
        "draft_content": form["tsx_source"],
        "subject": form["subject"],
        "theme_id": form["theme_id"],
    }


PATH = "/projects/{project_id}/emails/drafts/{draft_id}"
routes = [
    *page_routes("/projects/{project_id}/emails/drafts", list_drafts, {"/create": create_draft}),
    Route(PATH, show_draft, methods=["GET"]),
    Route(PATH + "/save", save_draft, methods=["POST"]),
    Route(PATH + "/delete", delete_draft, methods=["POST"]),
    *preview_routes(PATH, render_body),
]
