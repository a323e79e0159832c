"""Impersonation: on a user's page, an admin starts a one-hour session as that user and gets it
handed over for their own app, without the dashboard ever putting its refresh token in a URL
query, a redirect or a log line.

The API's ``POST /auth/sessions`` (``is_impersonation: true``) issues the session and writes the
audit log entry. The page that answers the form (never cached) offers it two ways:

- a link to the project's ``impersonation.handlerUrl`` carrying the token in the fragment (which a
  browser sends to no server, nor in a Referer), when that URL is a trusted one of the project;
- a snippet for the browser console of a page of the app, setting the refresh-token cookies the
  official SDK (``@stackframe/js``, cookie token store) reads for this project, then reloading.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from authstack_core.models.config import ProjectConfig
from authstack_core.redirects import trusted_redirect
from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import Ctx, form_routes, gather, page

LIFETIME_MS = 3_600_000  # the API's default for impersonation, said out loud
FRAGMENT_KEY = "stack_impersonation_refresh_token"
HANDLER_KEY = ("impersonation", "handlerUrl")


@dataclass(frozen=True)
class Handler:
    """The project's impersonation handler URL as the page shows it: ``url`` is the trusted form
    of ``configured`` (None when none is set, or when it is not a trusted URL of the project)."""

    configured: str | None
    url: str | None

    def link(self, refresh_token: str) -> str | None:
        if self.url is None:
            return None
        return f"{self.url}#{FRAGMENT_KEY}={quote(refresh_token, safe='')}"


def handler_of(config: dict[str, Any]) -> Handler:
    """The handler URL of a rendered config, checked as the API checks a redirect URL: the same
    scheme, host and port as a trusted domain (at or below its path), or localhost when the
    project allows it. Only http(s) pages: a browser opens it in a new tab."""
    node: Any = config
    for key in HANDLER_KEY:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, str) or not node.strip():
        return Handler(None, None)
    configured = node.strip()
    checked = trusted_redirect(ProjectConfig(config), configured)
    if checked is None or not checked.startswith(("https://", "http://")):
        return Handler(configured, None)
    return Handler(configured, checked.split("#", 1)[0])


def console_snippet(project_id: str, refresh_token: str) -> str:
    """JavaScript for the console of a page of the app: the SDK then signs in with the token.

    @stackframe/js 2.8.108 reads the newest ``hexclave-refresh-<project>--*`` cookie (a JSON
    value; ``__Host-`` prefixed on https) before the plain ``stack-refresh-<project>``, which
    older versions (2.8.102) read first: the snippet sets both, for the session's hour."""
    project = json.dumps(project_id)
    token = json.dumps(refresh_token)
    return f"""(() => {{
  const projectId = {project};
  const refreshToken = {token};
  const secure = location.protocol === "https:";
  const tail = "; path=/; max-age={LIFETIME_MS // 1000}; samesite=lax" + (secure ? "; secure" : "");
  const value = {{ refresh_token: refreshToken, updated_at_millis: Date.now() }};
  const structured = encodeURIComponent(JSON.stringify(value));
  const prefix = secure ? "__Host-" : "";
  document.cookie = `${{prefix}}hexclave-refresh-${{projectId}}--default=${{structured}}${{tail}}`;
  document.cookie = `stack-refresh-${{projectId}}=${{encodeURIComponent(refreshToken)}}${{tail}}`;
  location.reload();
}})();"""


def user_label(user: dict[str, Any]) -> str:
    return str(user.get("display_name") or user.get("primary_email") or user["id"])


@page
async def impersonate(ctx: Ctx) -> Response:
    project_id, user_id, here = ctx.item_path("users", "user")
    project, user, rendered = await gather(
        load_project(ctx, project_id),
        ctx.admin("GET", f"/users/{user_id}", project_id),
        ctx.admin("GET", "/internal/config", project_id),
    )
    handler = handler_of(json.loads(rendered["config_string"]))
    issued = await ctx.admin(
        "POST",
        "/auth/sessions",
        project_id,
        json_body={"user_id": user_id, "is_impersonation": True, "expires_in_millis": LIFETIME_MS},
    )
    refresh_token = str(issued["refresh_token"])
    response = ctx.render(
        "impersonation.html",
        project=project,
        user=user,
        user_label=user_label(user),
        user_path=here,
        handler=handler,
        handler_link=handler.link(refresh_token),
        snippet=console_snippet(project_id, refresh_token),
        lifetime_minutes=LIFETIME_MS // 60_000,
        section="users",
    )
    response.headers["cache-control"] = "no-store"
    return response


routes = form_routes("/projects/{project_id}/users/{user_id}", {"/impersonate": impersonate})
