"""One email template's editor: subject, HTML and text source, saved through the API, with a live
preview. "Preview" posts the unsaved source to the preview document, which the API renders and
the page shows in its sandboxed iframe (routes/email_preview.py); nothing is saved or sent."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from authstack_core.email_rendering import sample_variables
from authstack_dashboard.client import ApiError
from authstack_dashboard.routes import email_preview
from authstack_dashboard.routes.emails import emails_base, load_template, template_id
from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.session import Flash
from authstack_dashboard.web import Ctx, friendly_message, gather, page

SOURCE_FIELDS = ("subject", "html", "text")


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


def template_render_body(source: dict[str, Any] | None, tid: str) -> dict[str, Any]:
    """render-email's body: the saved template (``source`` None) or the given, unsaved source."""
    if source is None:
        return {"template_id": tid}
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
        template = {**template, **unsaved}
    return ctx.render(
        "email_template.html",
        project=project,
        item=template,
        base=here,
        frame=email_preview.FRAME_NAME,
        section="emails",
        tab="templates",
    )


show_editor = page(_editor)


@page
async def save_template(ctx: Ctx) -> Response:
    project_id, tid, here = _paths(ctx)
    source = source_of(ctx)
    name = ctx.form.get("display_name").strip()
    body = {**source, **({"display_name": name} if name else {})}
    try:
        await ctx.admin("PATCH", f"/internal/email-templates/{tid}", project_id, json_body=body)
    except ApiError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        # Rendered, not redirected: the edits stay in the form, to be fixed and saved again.
        ctx.flash = Flash("error", friendly_message(exc))
        return await _editor(ctx, {**source, "text": source["text"] or ""})
    return ctx.redirect(here, "Template saved.")


@page
async def reset_template(ctx: Ctx) -> Response:
    """Delete one of the project's templates, or reset a built-in one to its default."""
    project_id, tid, here = _paths(ctx)
    template = await load_template(ctx, project_id, tid)
    await ctx.admin("DELETE", f"/internal/email-templates/{tid}", project_id)
    if template["is_builtin"]:
        return ctx.redirect(here, f"“{template['display_name']}” is back to its default.")
    return ctx.redirect(emails_base(project_id), f"Template “{template['display_name']}” deleted.")


@page
async def preview_saved(ctx: Ctx) -> Response:
    _, tid, _ = _paths(ctx)
    return await email_preview.preview(ctx, template_render_body(None, tid))


@page
async def preview_unsaved(ctx: Ctx) -> Response:
    _, tid, _ = _paths(ctx)
    return await email_preview.preview(ctx, template_render_body(source_of(ctx), tid))


PATH = "/projects/{project_id}/emails/templates/{template_id}"
routes = [
    Route(PATH, show_editor, methods=["GET"]),
    Route(PATH + "/save", save_template, methods=["POST"]),
    Route(PATH + "/reset", reset_template, methods=["POST"]),
    Route(PATH + "/preview", preview_saved, methods=["GET"]),
    Route(PATH + "/preview", preview_unsaved, methods=["POST"]),
]
