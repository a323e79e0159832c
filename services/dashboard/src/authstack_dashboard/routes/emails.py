"""A project's emails: the templates (list, create), each template's editor with a live preview
(routes/email_editor.py), drafts, themes, test sends and the sent mail (their own modules)."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import Ctx, FormError, PageError, gather, page, page_routes

MAX_NAME = 200
# A template id: a built-in one ("email_verification") or a project's own (a UUID).
_TEMPLATE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# What a new template starts with (Jinja2, sandboxed; the theme's layout wraps the HTML).
NEW_SUBJECT = "News from {{ projectDisplayName }}"
NEW_HTML = (
    "<h1>Hello {{ userDisplayName or 'there' }}</h1>\n"
    "<p>Write the message from {{ projectDisplayName }} here.</p>\n"
)


def emails_base(project_id: str) -> str:
    return f"/projects/{project_id}/emails"


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
    listed = await ctx.admin("GET", "/internal/email-templates", project_id)
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
    return ctx.render(
        "emails.html", project=project, templates=templates, section="emails", tab="templates"
    )


@page
async def create_template(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    base = emails_base(project_id)
    name = ctx.form.get("display_name").strip()
    if not name or len(name) > MAX_NAME:
        raise FormError(f"Give the template a name (1 to {MAX_NAME} characters).", base)
    created = await ctx.admin(
        "POST",
        "/internal/email-templates",
        project_id,
        json_body={"display_name": name, "subject": NEW_SUBJECT, "html": NEW_HTML, "text": None},
    )
    return ctx.redirect(f"{base}/templates/{created['id']}", f"Template “{name}” created.")


routes = page_routes(
    "/projects/{project_id}/emails", show_templates, {"/templates/create": create_template}
)
