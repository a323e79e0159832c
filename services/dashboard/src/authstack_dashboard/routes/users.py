"""A project's users: search, pages, detail, metadata, restriction, deletion, sessions, linked
OAuth accounts."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import Ctx, FormError, gather, page, page_routes, uuid_param

PAGE_SIZE = 50
REPLAYS_SHOWN = 20
MAX_QUERY = 256
METADATA_FIELDS = ("client_metadata", "client_read_only_metadata", "server_metadata")
METADATA_LABELS = {
    "client_metadata": "Client metadata",
    "client_read_only_metadata": "Client read-only metadata",
    "server_metadata": "Server metadata",
}


@page
async def list_users(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    query = ctx.request.query_params.get("q", "").strip()[:MAX_QUERY]
    cursor = ctx.request.query_params.get("cursor", "").strip()
    params = {"limit": str(PAGE_SIZE), "desc": "true", "include_restricted": "true"}
    if query:
        params["query"] = query
    if cursor:
        params["cursor"] = cursor
    project, page_ = await gather(
        load_project(ctx, project_id), ctx.admin("GET", "/users", project_id, params=params)
    )
    next_cursor = (page_.get("pagination") or {}).get("next_cursor")
    base = f"/projects/{project_id}/users"
    next_url = None
    if next_cursor:
        next_url = (
            base + "?" + urlencode({**({"q": query} if query else {}), "cursor": next_cursor})
        )
    first_url = base + ("?" + urlencode({"q": query}) if query else "")
    return ctx.render(
        "users.html",
        project=project,
        users=page_["items"],
        query=query,
        next_url=next_url,
        first_url=first_url if cursor else None,
        section="users",
    )


@page
async def user_detail(ctx: Ctx) -> Response:
    project_id, user_id, _ = _user_path(ctx)
    project, user, sessions, teams, linked, replays = await gather(
        load_project(ctx, project_id),
        ctx.admin("GET", f"/users/{user_id}", project_id),
        ctx.admin("GET", "/auth/sessions", project_id, params={"user_id": user_id}),
        ctx.admin("GET", "/teams", project_id, params={"user_id": user_id}),
        ctx.admin("GET", "/oauth-providers", project_id, params={"user_id": user_id}),
        ctx.admin(
            "GET",
            "/internal/session-replays",
            project_id,
            params={"user_ids": user_id, "limit": str(REPLAYS_SHOWN)},
        ),
    )
    return ctx.render(
        "user.html",
        project=project,
        user=user,
        sessions=sessions["items"],
        teams=teams["items"],
        linked_accounts=linked["items"],
        replays=replays["items"],
        metadata_fields=[(f, METADATA_LABELS[f]) for f in METADATA_FIELDS],
        section="users",
    )


def _user_path(ctx: Ctx) -> tuple[str, str, str]:
    return ctx.item_path("users", "user")


@page
async def update_profile(ctx: Ctx) -> Response:
    project_id, user_id, here = _user_path(ctx)
    body: dict[str, Any] = {"display_name": ctx.form.get("display_name").strip() or None}
    for name in METADATA_FIELDS:
        if not ctx.form.has(name):
            continue
        text = ctx.form.get(name).strip()
        try:
            body[name] = json.loads(text) if text else None
        except ValueError as exc:
            raise FormError(f"{METADATA_LABELS[name]} is not valid JSON: {exc}", here) from None
    await ctx.admin("PATCH", f"/users/{user_id}", project_id, json_body=body)
    return ctx.redirect(here, "User saved.")


@page
async def update_restriction(ctx: Ctx) -> Response:
    project_id, user_id, here = _user_path(ctx)
    restrict = ctx.form.get("restricted_by_admin") == "true"
    body: dict[str, Any] = {"restricted_by_admin": restrict}
    if restrict:
        body["restricted_by_admin_reason"] = ctx.form.get("reason").strip() or None
        body["restricted_by_admin_private_details"] = (
            ctx.form.get("private_details").strip() or None
        )
    await ctx.admin("PATCH", f"/users/{user_id}", project_id, json_body=body)
    return ctx.redirect(here, "User restricted." if restrict else "Restriction lifted.")


@page
async def delete_user(ctx: Ctx) -> Response:
    project_id, user_id, here = _user_path(ctx)
    if ctx.form.get("confirm") != "delete":
        raise FormError("Type “delete” to confirm deleting this user.", here)
    await ctx.admin("DELETE", f"/users/{user_id}", project_id)
    return ctx.redirect(f"/projects/{project_id}/users", "User deleted.")


async def _delete_of_user(ctx: Ctx, what: str, api_path: str, message: str) -> Response:
    """DELETE the user's ``what`` (the path's ``<what>_id``) at ``api_path``, which names it
    ``{item}`` and the user ``{user_id}``; then back to the user's page."""
    project_id, user_id, here = _user_path(ctx)
    item = uuid_param(ctx.request, f"{what}_id", what.replace("_", " "))
    await ctx.admin("DELETE", api_path.format(user_id=user_id, item=item), project_id)
    return ctx.redirect(here, message)


@page
async def revoke_session(ctx: Ctx) -> Response:
    return await _delete_of_user(ctx, "session", "/auth/sessions/{item}", "Session revoked.")


@page
async def unlink_account(ctx: Ctx) -> Response:
    path = "/oauth-providers/{user_id}/{item}"
    return await _delete_of_user(ctx, "linked_account", path, "Account unlinked.")


@page
async def revoke_all_sessions(ctx: Ctx) -> Response:
    project_id, user_id, here = _user_path(ctx)
    sessions = await ctx.admin("GET", "/auth/sessions", project_id, params={"user_id": user_id})
    for session in sessions["items"]:
        await ctx.admin("DELETE", f"/auth/sessions/{session['id']}", project_id)
    return ctx.redirect(here, f"{len(sessions['items'])} session(s) revoked.")


routes = [
    Route("/projects/{project_id}/users", list_users, methods=["GET"]),
    *page_routes(
        "/projects/{project_id}/users/{user_id}",
        user_detail,
        {
            "/profile": update_profile,
            "/restriction": update_restriction,
            "/delete": delete_user,
            "/sessions/revoke-all": revoke_all_sessions,
            "/sessions/{session_id}/revoke": revoke_session,
            "/linked-accounts/{linked_account_id}/unlink": unlink_account,
        },
    ),
]
