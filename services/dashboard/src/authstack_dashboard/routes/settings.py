"""Project settings: name, sign-in methods and sign-up, trusted domains, email server, deletion."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.routing import Route

from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import Ctx, FormError, page, project_id_of

# Legacy config switches shown as checkboxes, with their labels: only those the API acts on.
# (Passkey sign-in has a config switch but no implementation yet; saving this form leaves it as is,
# since the PATCH carries only the switches listed here.)
AUTH_SWITCHES = (
    ("sign_up_enabled", "Allow new users to sign up"),
    ("credential_enabled", "Email and password sign-in"),
    ("magic_link_enabled", "One-time code / magic link sign-in"),
    ("require_email_verification", "Require a verified email (unverified users are restricted)"),
    ("reject_common_passwords", "Refuse common passwords (the 100,000 most used)"),
    ("create_team_on_sign_up", "Create a personal team for every new user"),
    ("client_team_creation_enabled", "Let users create teams from the client"),
    ("client_user_deletion_enabled", "Let users delete their own account from the client"),
    ("allow_user_api_keys", "Allow user API keys"),
    ("allow_team_api_keys", "Allow team API keys"),
)
EMAIL_FIELDS = ("host", "port", "username", "password", "sender_name", "sender_email")


def _paths(ctx: Ctx) -> tuple[str, str]:
    project_id = project_id_of(ctx.request)
    return project_id, f"/projects/{project_id}/settings"


async def _patch(ctx: Ctx, project_id: str, body: dict[str, Any]) -> dict[str, Any]:
    project: dict[str, Any] = await ctx.admin(
        "PATCH", "/internal/projects/current", project_id, json_body=body
    )
    return project


@page
async def show(ctx: Ctx) -> Response:
    project_id, _ = _paths(ctx)
    project = await load_project(ctx, project_id)
    return ctx.render("settings.html", project=project, switches=AUTH_SWITCHES, section="settings")


@page
async def update_project(ctx: Ctx) -> Response:
    project_id, here = _paths(ctx)
    name = ctx.form.get("display_name").strip()
    if not name:
        raise FormError("The project needs a name.", here)
    await _patch(
        ctx, project_id, {"display_name": name, "description": ctx.form.get("description").strip()}
    )
    return ctx.redirect(here, "Project saved.")


@page
async def update_auth_methods(ctx: Ctx) -> Response:
    project_id, here = _paths(ctx)
    config = {name: ctx.form.flag(name) for name, _ in AUTH_SWITCHES}
    await _patch(ctx, project_id, {"config": config})
    return ctx.redirect(here, "Sign-in settings saved. They apply from the next request.")


def _normalise_domain(value: str, here: str) -> str:
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FormError("A trusted domain is a URL such as https://app.example.com.", here)
    return value


@page
async def add_domain(ctx: Ctx) -> Response:
    project_id, here = _paths(ctx)
    domain = _normalise_domain(ctx.form.get("domain"), here)
    handler_path = ctx.form.get("handler_path").strip() or "/handler"
    if not handler_path.startswith("/"):
        raise FormError("The handler path starts with a slash, such as /handler.", here)
    project = await load_project(ctx, project_id)
    domains = [d for d in project["config"]["domains"] if d["domain"] != domain]
    domains.append({"domain": domain, "handler_path": handler_path})
    await _patch(ctx, project_id, {"config": {"domains": domains}})
    return ctx.redirect(here, f"{domain} is now a trusted domain.")


@page
async def remove_domain(ctx: Ctx) -> Response:
    project_id, here = _paths(ctx)
    domain = ctx.form.get("domain")
    project = await load_project(ctx, project_id)
    domains = [d for d in project["config"]["domains"] if d["domain"] != domain]
    await _patch(ctx, project_id, {"config": {"domains": domains}})
    return ctx.redirect(here, f"{domain} removed from the trusted domains.")


@page
async def update_localhost(ctx: Ctx) -> Response:
    project_id, here = _paths(ctx)
    allow = ctx.form.flag("allow_localhost")
    await _patch(ctx, project_id, {"config": {"allow_localhost": allow}})
    return ctx.redirect(
        here, "Localhost redirects allowed." if allow else "Localhost redirects refused."
    )


@page
async def update_email(ctx: Ctx) -> Response:
    project_id, here = _paths(ctx)
    form = ctx.form
    if form.get("type") != "standard":
        await _patch(ctx, project_id, {"config": {"email_config": {"type": "shared"}}})
        return ctx.redirect(here, "Emails are sent through the shared server.")
    email: dict[str, Any] = {"type": "standard"}
    for name in EMAIL_FIELDS:
        email[name] = form.get(name).strip()
    if not email["password"]:  # left blank: keep the stored one (it is never shown)
        project = await load_project(ctx, project_id)
        email["password"] = project["config"]["email_config"].get("password") or ""
    try:
        email["port"] = int(email["port"])
    except ValueError:
        raise FormError("The SMTP port is a number, such as 587.", here) from None
    missing = [name for name in EMAIL_FIELDS if email[name] in ("", None)]
    if missing:
        raise FormError("A custom email server needs: " + ", ".join(missing) + ".", here)
    await _patch(ctx, project_id, {"config": {"email_config": email}})
    return ctx.redirect(here, "Email server saved.")


@page
async def delete_project(ctx: Ctx) -> Response:
    project_id, here = _paths(ctx)
    project = await load_project(ctx, project_id)
    if ctx.form.get("confirm") != project["display_name"]:
        raise FormError("Type the project's name exactly to confirm its deletion.", here)
    await ctx.admin("DELETE", "/internal/projects/current", project_id)
    return ctx.redirect("/projects", f"Project “{project['display_name']}” deleted.")


_S = "/projects/{project_id}/settings"
routes = [
    Route(_S, show, methods=["GET"]),
    Route(_S + "/project", update_project, methods=["POST"]),
    Route(_S + "/auth-methods", update_auth_methods, methods=["POST"]),
    Route(_S + "/domains/add", add_domain, methods=["POST"]),
    Route(_S + "/domains/remove", remove_domain, methods=["POST"]),
    Route(_S + "/localhost", update_localhost, methods=["POST"]),
    Route(_S + "/email", update_email, methods=["POST"]),
    Route(_S + "/delete", delete_project, methods=["POST"]),
]
