"""A project's key sets: create one (its keys are shown once, here), list, revoke."""

from __future__ import annotations

import time
from typing import Any

from starlette.responses import Response

from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import Ctx, FormError, gather, page, page_routes, uuid_param

DAY_MS = 86_400_000
EXPIRY_CHOICES = (
    ("1", "1 day"),
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
    ("365", "1 year"),
    ("3650", "10 years"),
    ("36500", "100 years"),
)
KEY_CHOICES = (
    ("has_publishable_client_key", "Publishable client key", "for browsers and apps"),
    ("has_secret_server_key", "Secret server key", "for your backend only"),
    ("has_super_secret_admin_key", "Super secret admin key", "full admin access"),
)


async def _keys_page(ctx: Ctx, created: Any = None) -> Response:
    """The key sets page; ``created`` is a set just made, whose full keys it shows once."""
    project_id = ctx.project_id
    project, keys = await gather(
        load_project(ctx, project_id), ctx.admin("GET", "/internal/api-keys", project_id)
    )
    return ctx.render(
        "api_keys.html",
        project=project,
        key_sets=keys["items"],
        created=created,
        api_url=ctx.dash.settings.public_api_url or ctx.dash.settings.api_url,
        expiry_choices=EXPIRY_CHOICES,
        key_choices=KEY_CHOICES,
        now_millis=int(time.time() * 1000),
        section="api-keys",
    )


list_keys = page(_keys_page)


@page
async def create_keys(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    here = f"/projects/{project_id}/api-keys"
    days = ctx.form.get("expires_in_days")
    if days not in {value for value, _ in EXPIRY_CHOICES}:
        raise FormError("Choose when the keys expire.", here)
    flags = {name: ctx.form.flag(name) for name, _, _ in KEY_CHOICES}
    if not any(flags.values()):
        raise FormError("Choose at least one key for the set.", here)
    body = {
        "description": ctx.form.get("description").strip()[:1000],
        "expires_at_millis": int(time.time() * 1000) + int(days) * DAY_MS,
        **flags,
    }
    created = await ctx.admin("POST", "/internal/api-keys", project_id, json_body=body)
    # Rendered, not redirected: the full keys exist only in this response and are never stored.
    return await _keys_page(ctx, created)


@page
async def revoke_keys(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    key_set_id = uuid_param(ctx.request, "key_set_id", "key set")
    await ctx.admin(
        "PATCH", f"/internal/api-keys/{key_set_id}", project_id, json_body={"revoked": True}
    )
    return ctx.redirect(f"/projects/{project_id}/api-keys", "Key set revoked.")


routes = page_routes(
    "/projects/{project_id}/api-keys",
    list_keys,
    {"/create": create_keys, "/{key_set_id}/revoke": revoke_keys},
)
