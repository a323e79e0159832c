"""A project's email drafts (``/internal/email-drafts``): list, create, edit with a live preview
(as templates are, routes/email_preview.py), delete. A draft is sent with send-email's
``draft_id``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from authstack_dashboard.client import ApiError
from authstack_dashboard.routes import email_preview
from authstack_dashboard.routes.emails import MAX_NAME, emails_base
from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.session import Flash
from authstack_dashboard.web import (
    Ctx,
    FormError,
    friendly_message,
    gather,
    page,
    page_routes,
    uuid_param,
)

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
    project_id = ctx.project_id
    draft_id = uuid_param(ctx.request, "draft_id", "email draft")
    return project_id, draft_id, f"{emails_base(project_id)}/drafts/{draft_id}"


@page
async def list_drafts(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    project, listed = await gather(load_project(ctx, project_id), ctx.admin("GET", API, project_id))
    return ctx.render(
        "email_drafts.html",
        project=project,
        drafts=listed["drafts"],
        section="emails",
        tab="drafts",
    )


@page
async def create_draft(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    base = emails_base(project_id)
    name = ctx.form.get("display_name").strip()
    if not name or len(name) > MAX_NAME:
        raise FormError(f"Give the draft a name (1 to {MAX_NAME} characters).", f"{base}/drafts")
    created = await ctx.admin("POST", API, project_id, json_body={"display_name": name})
    return ctx.redirect(f"{base}/drafts/{created['id']}", f"Draft “{name}” created.")


def _draft_form(ctx: Ctx) -> dict[str, Any]:
    form = ctx.form
    return {
        "display_name": form.get("display_name").strip(),
        "subject": form.get("subject"),
        "tsx_source": form.get("tsx_source"),
        "theme_id": theme_choice(form.get("theme_id")),
    }


async def _editor(ctx: Ctx, unsaved: dict[str, Any] | None = None) -> Response:
    project_id, draft_id, here = _paths(ctx)
    project, draft, themes = await gather(
        load_project(ctx, project_id),
        ctx.admin("GET", f"{API}/{draft_id}", project_id),
        load_themes(ctx, project_id),
    )
    draft = {**draft, "id": draft_id, **(unsaved or {})}
    return ctx.render(
        "email_draft.html",
        project=project,
        item=draft,
        themes=themes["themes"],
        theme_selected=theme_value(draft.get("theme_id")),
        base=here,
        frame=email_preview.FRAME_NAME,
        section="emails",
        tab="drafts",
    )


show_draft = page(_editor)


@page
async def save_draft(ctx: Ctx) -> Response:
    project_id, draft_id, here = _paths(ctx)
    body = _draft_form(ctx)
    if not body["display_name"]:
        del body["display_name"]
    try:
        await ctx.admin("PATCH", f"{API}/{draft_id}", project_id, json_body=body)
    except ApiError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        ctx.flash = Flash("error", friendly_message(exc))
        return await _editor(ctx, body)
    return ctx.redirect(here, "Draft saved.")


@page
async def delete_draft(ctx: Ctx) -> Response:
    project_id, draft_id, _ = _paths(ctx)
    await ctx.admin("DELETE", f"{API}/{draft_id}", project_id)
    return ctx.redirect(f"{emails_base(project_id)}/drafts", "Draft deleted.")


def draft_render_body(draft_id: str, unsaved: dict[str, Any] | None) -> dict[str, Any]:
    """render-email's body: the saved draft (in its own theme), or the unsaved content in the
    theme chosen in the form."""
    if unsaved is None:
        return {"draft_id": draft_id}
    return {
        "draft_content": unsaved["tsx_source"],
        "subject": unsaved["subject"],
        "theme_id": unsaved["theme_id"],
    }


@page
async def preview_saved(ctx: Ctx) -> Response:
    _, draft_id, _ = _paths(ctx)
    return await email_preview.preview(ctx, draft_render_body(draft_id, None))


@page
async def preview_unsaved(ctx: Ctx) -> Response:
    _, draft_id, _ = _paths(ctx)
    return await email_preview.preview(ctx, draft_render_body(draft_id, _draft_form(ctx)))


PATH = "/projects/{project_id}/emails/drafts/{draft_id}"
routes = [
    *page_routes("/projects/{project_id}/emails/drafts", list_drafts, {"/create": create_draft}),
    Route(PATH, show_draft, methods=["GET"]),
    Route(PATH + "/save", save_draft, methods=["POST"]),
    Route(PATH + "/delete", delete_draft, methods=["POST"]),
    Route(PATH + "/preview", preview_saved, methods=["GET"]),
    Route(PATH + "/preview", preview_unsaved, methods=["POST"]),
]
