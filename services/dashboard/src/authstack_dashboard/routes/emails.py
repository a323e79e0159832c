"""A project's emails: the templates (list, create), and what the Emails pages share. Each
template's editor is routes/email_editor.py; drafts, themes, test sends and the sent mail have
modules of their own; previews are routes/email_preview.py."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from authstack_dashboard.client import ApiError
from authstack_dashboard.routes.email_preview import FRAME_NAME
from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.session import Flash
from authstack_dashboard.web import (
    Ctx,
    FormError,
    PageError,
    friendly_message,
    gather,
    page,
    page_routes,
)

MAX_NAME = 200
TEMPLATES_API = "/internal/email-templates"
# A template id: a built-in one ("email_verification") or a project's own (a UUID).
_TEMPLATE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# What a new template starts with (Jinja2, sandboxed; the theme's layout wraps the HTML).
NEW_SUBJECT = "News from {{ projectDisplayName }}"
NEW_HTML = (
    "<h1>Hello {{ userDisplayName or 'there' }}</h1>\n"
    "<p>Write the message from {{ projectDisplayName }} here.</p>\n"
)
Editor = Callable[[Ctx, dict[str, Any]], Awaitable[Response]]


def emails_base(project_id: str) -> str:
    return f"/projects/{project_id}/emails"


def render_emails_page(
    ctx: Ctx, template: str, project: dict[str, Any], tab: str, **context: Any
) -> Response:
    """A page of the Emails area: its tabs (``tab`` is the current one) above ``template``."""
    emails = emails_base(project["id"])
    return ctx.render(
        template, project=project, emails=emails, section="emails", tab=tab, **context
    )


def render_editor(
    ctx: Ctx, template: str, project: dict[str, Any], tab: str, item: dict[str, Any], base: str,
    **context: Any,
) -> Response:  # fmt: skip
    """An editor page (email_editor.html): ``item``'s source, saved at ``base``/save and
    previewed from ``base``/preview into the page's frame."""
    return render_emails_page(
        ctx, template, project, tab, item=item, base=base, frame=FRAME_NAME, **context
    )


async def create_named(
    ctx: Ctx, *, what: str, api: str, collection: str, back: str, extra: dict[str, Any]
) -> Response:
    """The "Create a ..." forms: POST ``api`` a new ``what`` named as the form says (with
    ``extra``), then open its editor (``collection``/id); a bad name goes ``back``."""
    project_id = ctx.project_id
    base = emails_base(project_id)
    name = ctx.form.get("display_name").strip()
    if not name or len(name) > MAX_NAME:
        raise FormError(f"Give the {what} a name (1 to {MAX_NAME} characters).", base + back)
    body = {"display_name": name, **extra}
    created = await ctx.admin("POST", api, project_id, json_body=body)
    return ctx.redirect(
        f"{base}/{collection}/{created['id']}", f"{what.capitalize()} “{name}” created."
    )


async def save_or_edit_again(
    ctx: Ctx, path: str, body: dict[str, Any], editor: Editor, done: tuple[str, str]
) -> Response:
    """PATCH ``path`` with ``body``, then to ``done`` (page, message). What the API refuses is
    rendered, not redirected: the editor shows why, with the edits still in the form."""
    try:
        await ctx.admin("PATCH", path, ctx.project_id, json_body=body)
    except ApiError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        ctx.flash = Flash("error", friendly_message(exc))
        return await editor(ctx, body)
    return ctx.redirect(*done)


def template_id(ctx: Ctx) -> str:
    value = str(ctx.request.path_params.get("template_id", ""))
    if not _TEMPLATE_ID.match(value):
        raise PageError(404, "There is no such email template.")
    return value


def template_kind(template: dict[str, Any]) -> str:
    if not template.get("is_builtin"):
        return "custom"
    return "built-in, edited" if template.get("is_overridden") else "built-in"


async def load_templates(ctx: Ctx, project_id: str) -> list[dict[str, Any]]:
    listed = await ctx.admin("GET", TEMPLATES_API, project_id)
    return [{**t, "kind": template_kind(t)} for t in listed["items"]]


async def load_template(ctx: Ctx, project_id: str, wanted: str) -> dict[str, Any]:
    """One template, with its source (the API lists them; it has no single-template read)."""
    for template in await load_templates(ctx, project_id):
        if template["id"] == wanted:
            return template
    raise PageError(404, "There is no such email template.")


@page
async def show_templates(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    project, templates = await gather(
        load_project(ctx, project_id), load_templates(ctx, project_id)
    )
    return render_emails_page(ctx, "emails.html", project, "templates", templates=templates)


@page
async def create_template(ctx: Ctx) -> Response:
    new = {"subject": NEW_SUBJECT, "html": NEW_HTML, "text": None}
    return await create_named(
        ctx, what="template", api=TEMPLATES_API, collection="templates", back="", extra=new
    )


routes = page_routes(
    "/projects/{project_id}/emails", show_templates, {"/templates/create": create_template}
)
