"""One email template's editor: subject, HTML and text source, saved through the API, with a live
preview. "Preview" posts the unsaved source to the preview document, which the API renders and
the page shows in its sandboxed iframe (routes/email_preview.py); nothing is saved or sent."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from authstack_core.email_rendering import sample_variables
from authstack_dashboard.routes.email_preview import preview_routes
from authstack_dashboard.routes.emails import (
    TEMPLATES_API,
    emails_base,
    load_template,
    render_editor,
    save_or_edit_again,
    template_id,
)
from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import Ctx, gather, page


def _paths(ctx: Ctx) -> tuple[str, str, str]:
    project_id = ctx.project_id
    tid = template_id(ctx)
    return project_id, tid, f"{emails_base(project_id)}/templates/{tid}"


def source_of(ctx: Ctx) -> dict[str, Any]:
    """The source in the editor's form; a blank text part is derived from the HTML (None)."""
    form = ctx.form
    text = form.get("text")
    return {
        "subject": form.get("subject"),
        "html": form.get("html"),
        "text": text if text.strip() else None,
    }


def render_body(ctx: Ctx, unsaved: bool) -> dict[str, Any]:
    """render-email's body: the saved template, or the unsaved source in the form."""
    tid = template_id(ctx)
    if not unsaved:
        return {"template_id": tid}
    source = source_of(ctx)
    # A source alone gets the common sample values only: add a built-in template's own (its
    # links, its code), as the API gives them to the saved template.
    common = sample_variables(None)
    own = {k: v for k, v in sample_variables(tid).items() if k not in common}
    return {
        "template_tsx_source": source["html"],
        "subject": source["subject"],
        "text": source["text"],
        **({"variables": own} if own else {}),
    }


async def _editor(ctx: Ctx, unsaved: dict[str, Any] | None = None) -> Response:
    """The page; ``unsaved`` (the form's values) fills the editor again after a refused save."""
    project_id, tid, here = _paths(ctx)
    project, template = await gather(
        load_project(ctx, project_id), load_template(ctx, project_id, tid)
    )
    if unsaved is not None:
        template = {**template, **unsaved, "text": unsaved.get("text") or ""}
    return render_editor(ctx, "email_template.html", project, "templates", template, here)


show_editor = page(_editor)


@page
async def save_template(ctx: Ctx) -> Response:
    _, tid, here = _paths(ctx)
    body = source_of(ctx)
    name = ctx.form.get("display_name").strip()
    if name:
        body["display_name"] = name
    path = f"{TEMPLATES_API}/{tid}"
    return await save_or_edit_again(ctx, path, body, _editor, (here, "Template saved."))


@page
async def reset_template(ctx: Ctx) -> Response:
    """Delete one of the project's templates, or reset a built-in one to its default."""
    project_id, tid, here = _paths(ctx)
    template = await load_template(ctx, project_id, tid)
    await ctx.admin("DELETE", f"{TEMPLATES_API}/{tid}", project_id)
    if template["is_builtin"]:
        return ctx.redirect(here, f"“{template['display_name']}” is back to its default.")
    return ctx.redirect(emails_base(project_id), f"Template “{template['display_name']}” deleted.")


PATH = "/projects/{project_id}/emails/templates/{template_id}"
routes = [
    Route(PATH, show_editor, methods=["GET"]),
    Route(PATH + "/save", save_template, methods=["POST"]),
    Route(PATH + "/reset", reset_template, methods=["POST"]),
    *preview_routes(PATH, render_body),
]
