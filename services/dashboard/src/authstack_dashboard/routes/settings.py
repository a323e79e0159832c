"""Project settings: name, sign-in methods and sign-up, trusted domains, email server, external
databases, the impersonation handler URL, deletion."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response

from authstack_dashboard.routes import external_databases, impersonation
from authstack_dashboard.routes.oauth_settings import BUILTIN, EXTRAS, provider_views
from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import Ctx, FormError, gather, page, page_routes

# Legacy config switches shown as checkboxes, with their labels: only those the API acts on.
AUTH_SWITCHES = (
    ("sign_up_enabled", "Allow new users to sign up"),
    ("credential_enabled", "Email and password sign-in"),
    ("magic_link_enabled", "One-time code / magic link sign-in"),
    ("passkey_enabled", "Passkey sign-in (on the trusted domains below, and localhost if allowed)"),
    ("require_email_verification", "Require a verified email (unverified users are restricted)"),
    ("reject_common_passwords", "Refuse common passwords (the 100,000 most used)"),
    ("create_team_on_sign_up", "Create a personal team for every new user"),
    ("client_team_creation_enabled", "Let users create teams from the client"),
    ("client_user_deletion_enabled", "Let users delete their own account from the client"),
    ("allow_user_api_keys", "Allow user API keys"),
    ("allow_team_api_keys", "Allow team API keys"),
)
EMAIL_FIELDS = ("host", "port", "username", "password", "sender_name", "sender_email")
# Switches the legacy config object takes but does not show (Stack Auth's admin object has no
# such fields): their state is read from the rendered config, at these paths.
WRITE_ONLY_SWITCHES = {
    "require_email_verification": ("onboarding", "requireEmailVerification"),
    "reject_common_passwords": ("auth", "password", "rejectCommonPasswords"),
}


def _paths(ctx: Ctx) -> tuple[str, str]:
    project_id = ctx.project_id
    return project_id, f"/projects/{project_id}/settings"


async def _save(ctx: Ctx, body: dict[str, Any], message: str) -> Response:
    """PATCH the project with ``body``, then back to the settings page showing ``message``."""
    project_id, here = _paths(ctx)
    await ctx.admin("PATCH", "/internal/projects/current", project_id, json_body=body)
    return ctx.redirect(here, message)


def _dig(node: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


async def _settings_page(ctx: Ctx, new_database: dict[str, str] | None = None) -> Response:
    """The page; ``new_database`` fills the external-database form again after a test."""
    project_id, _ = _paths(ctx)
    project, rendered, sync_status = await gather(
        load_project(ctx, project_id),
        ctx.admin("GET", "/internal/config", project_id),
        ctx.admin("GET", external_databases.STATUS, project_id),
    )
    config = json.loads(rendered["config_string"])
    for name, path in WRITE_ONLY_SWITCHES.items():
        project["config"][name] = bool(_dig(config, path))
    api_url = ctx.dash.settings.public_api_url or ctx.dash.settings.api_url
    return ctx.render(
        "settings.html",
        project=project,
        switches=AUTH_SWITCHES,
        section="settings",
        oauth_providers=provider_views(config, api_url),
        builtin_providers=BUILTIN,
        oauth_extras=EXTRAS,
        databases=external_databases.database_views(config, sync_status),
        impersonation=impersonation.handler_of(config),
        new_database=new_database or {},
    )


show = page(_settings_page)


@page
async def test_new_database(ctx: Ctx) -> Response:
    """Rendered, not redirected: the form keeps what was typed, to be added once it works."""
    values, ctx.flash = await external_databases.check_new_database(ctx)
    return await _settings_page(ctx, values)


@page
async def update_project(ctx: Ctx) -> Response:
    _, here = _paths(ctx)
    name = ctx.form.get("display_name").strip()
    if not name:
        raise FormError("The project needs a name.", here)
    body = {"display_name": name, "description": ctx.form.get("description").strip()}
    return await _save(ctx, body, "Project saved.")


@page
async def update_auth_methods(ctx: Ctx) -> Response:
    config = {name: ctx.form.flag(name) for name, _ in AUTH_SWITCHES}
    return await _save(
        ctx, {"config": config}, "Sign-in settings saved. They apply from the next request."
    )


def _normalise_domain(value: str, here: str) -> str:
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FormError("A trusted domain is a URL such as https://app.example.com.", here)
    return value


async def _save_domain(ctx: Ctx, domain: str, handler_path: str | None, message: str) -> Response:
    """Drop ``domain`` from the trusted domains, then add it back with ``handler_path`` if given."""
    project = await load_project(ctx, ctx.project_id)
    domains = [d for d in project["config"]["domains"] if d["domain"] != domain]
    if handler_path is not None:
        domains.append({"domain": domain, "handler_path": handler_path})
    return await _save(ctx, {"config": {"domains": domains}}, message)


@page
async def add_domain(ctx: Ctx) -> Response:
    _, here = _paths(ctx)
    domain = _normalise_domain(ctx.form.get("domain"), here)
    handler_path = ctx.form.get("handler_path").strip() or "/handler"
    if not handler_path.startswith("/"):
        raise FormError("The handler path starts with a slash, such as /handler.", here)
    return await _save_domain(ctx, domain, handler_path, f"{domain} is now a trusted domain.")


@page
async def remove_domain(ctx: Ctx) -> Response:
    domain = ctx.form.get("domain")
    return await _save_domain(ctx, domain, None, f"{domain} removed from the trusted domains.")


@page
async def update_localhost(ctx: Ctx) -> Response:
    allow = ctx.form.flag("allow_localhost")
    message = "Localhost redirects allowed." if allow else "Localhost redirects refused."
    return await _save(ctx, {"config": {"allow_localhost": allow}}, message)


@page
async def update_email(ctx: Ctx) -> Response:
    project_id, here = _paths(ctx)
    form = ctx.form
    if form.get("type") != "standard":
        shared = {"config": {"email_config": {"type": "shared"}}}
        return await _save(ctx, shared, "Emails are sent through the shared server.")
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
    return await _save(ctx, {"config": {"email_config": email}}, "Email server saved.")


@page
async def update_impersonation(ctx: Ctx) -> Response:
    """The app page impersonation sessions are handed to (project level; blank removes it)."""
    project_id, here = _paths(ctx)
    url = ctx.form.get("handler_url").strip() or None
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        raise FormError(
            "The handler URL is a page of your app, such as https://app.example.com/impersonate.",
            here,
        )
    body = {"config_override_string": json.dumps({"impersonation.handlerUrl": url})}
    await ctx.admin("PATCH", "/internal/config/override/project", project_id, json_body=body)
    if url is None:
        return ctx.redirect(here, "Impersonation handler URL removed.")
    rendered = await ctx.admin("GET", "/internal/config", project_id)
    if impersonation.handler_of(json.loads(rendered["config_string"])).url is None:
        return ctx.redirect(
            here,
            f"Handler URL saved, but {url} is not a trusted URL of this project yet: add its "
            "domain to the trusted domains to open the app from a user's page.",
            "error",
        )
    return ctx.redirect(here, "Impersonation handler URL saved.")


@page
async def delete_project(ctx: Ctx) -> Response:
    project_id, here = _paths(ctx)
    project = await load_project(ctx, project_id)
    if ctx.form.get("confirm") != project["display_name"]:
        raise FormError("Type the project's name exactly to confirm its deletion.", here)
    await ctx.admin("DELETE", "/internal/projects/current", project_id)
    return ctx.redirect("/projects", f"Project “{project['display_name']}” deleted.")


routes = page_routes(
    "/projects/{project_id}/settings",
    show,
    {
        "/project": update_project,
        "/auth-methods": update_auth_methods,
        "/domains/add": add_domain,
        "/domains/remove": remove_domain,
        "/localhost": update_localhost,
        "/email": update_email,
        "/impersonation": update_impersonation,
        "/delete": delete_project,
        "/external-databases/test": test_new_database,
    },
)
