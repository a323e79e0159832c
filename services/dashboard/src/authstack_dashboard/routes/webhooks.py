"""A project's webhooks: endpoints (add, disable, delete, rotate the secret, send a test event)
and each endpoint's recent attempts. A new or rotated secret is shown once, on this page."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from authstack_core.models.webhooks import EVENT_TYPES
from authstack_dashboard.routes.projects import load_project
from authstack_dashboard.web import Ctx, FormError, PageError, gather, page, page_routes

ATTEMPTS_SHOWN = 10
# A built-in endpoint id is a UUID, a Svix one "ep_..." (Svix mode).
_ENDPOINT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _endpoint_id(ctx: Ctx) -> str:
    value = str(ctx.request.path_params.get("endpoint_id", ""))
    if not _ENDPOINT_ID.match(value):
        raise PageError(404, "There is no such webhook endpoint.")
    return value


async def _webhooks_page(ctx: Ctx, secret: dict[str, str] | None = None) -> Response:
    """The page; ``secret`` ({url, secret}) is a secret just made, shown this once."""
    project_id = ctx.project_id
    project, endpoints = await gather(
        load_project(ctx, project_id), ctx.admin("GET", "/internal/webhooks/endpoints", project_id)
    )
    items = endpoints["items"]
    attempts = await gather(
        *(
            ctx.admin("GET", f"/internal/webhooks/endpoints/{e['id']}/attempts", project_id)
            for e in items
        )
    )
    return ctx.render(
        "webhooks.html",
        project=project,
        endpoints=[
            {**e, "attempts": a["items"][:ATTEMPTS_SHOWN]}
            for e, a in zip(items, attempts, strict=True)
        ],
        secret=secret,
        event_types=EVENT_TYPES,
        section="webhooks",
    )


show_webhooks = page(_webhooks_page)


@page
async def create_endpoint(ctx: Ctx) -> Response:
    project_id = ctx.project_id
    url = ctx.form.get("url").strip()
    if not url:
        raise FormError("Enter the URL the events are sent to.", f"/projects/{project_id}/webhooks")
    chosen = [t for t in EVENT_TYPES if ctx.form.flag(f"event_{t}")]
    body: dict[str, Any] = {
        "url": url,
        "description": ctx.form.get("description").strip()[:500],
        "event_types": chosen or None,  # none ticked: every event
    }
    created = await ctx.admin("POST", "/internal/webhooks/endpoints", project_id, json_body=body)
    # Rendered, not redirected: the secret exists only in this response.
    return await _webhooks_page(ctx, {"url": created["url"], "secret": created["secret"]})


async def _set_disabled(ctx: Ctx, disabled: bool) -> Response:
    project_id, endpoint_id = ctx.project_id, _endpoint_id(ctx)
    await ctx.admin(
        "PATCH",
        f"/internal/webhooks/endpoints/{endpoint_id}",
        project_id,
        json_body={"disabled": disabled},
    )
    done = "disabled" if disabled else "enabled"
    return ctx.redirect(f"/projects/{project_id}/webhooks", f"Endpoint {done}.")


@page
async def disable_endpoint(ctx: Ctx) -> Response:
    return await _set_disabled(ctx, True)


@page
async def enable_endpoint(ctx: Ctx) -> Response:
    return await _set_disabled(ctx, False)


@page
async def delete_endpoint(ctx: Ctx) -> Response:
    project_id, endpoint_id = ctx.project_id, _endpoint_id(ctx)
    await ctx.admin("DELETE", f"/internal/webhooks/endpoints/{endpoint_id}", project_id)
    return ctx.redirect(f"/projects/{project_id}/webhooks", "Endpoint deleted.")


@page
async def rotate_secret(ctx: Ctx) -> Response:
    project_id, endpoint_id = ctx.project_id, _endpoint_id(ctx)
    path = f"/internal/webhooks/endpoints/{endpoint_id}"
    endpoint = await ctx.admin("GET", path, project_id)
    rotated = await ctx.admin("POST", f"{path}/rotate-secret", project_id)
    return await _webhooks_page(ctx, {"url": endpoint["url"], "secret": rotated["secret"]})


@page
async def send_test(ctx: Ctx) -> Response:
    project_id, endpoint_id = ctx.project_id, _endpoint_id(ctx)
    result = await ctx.admin(
        "POST", "/internal/send-test-webhook", project_id, json_body={"endpoint_id": endpoint_id}
    )
    here = f"/projects/{project_id}/webhooks"
    if result.get("success"):
        return ctx.redirect(here, "Test event delivered: the endpoint answered 2xx.")
    return ctx.redirect(here, f"Test event not delivered: {result.get('error_message')}", "error")


routes = page_routes(
    "/projects/{project_id}/webhooks",
    show_webhooks,
    {
        "/create": create_endpoint,
        "/{endpoint_id}/disable": disable_endpoint,
        "/{endpoint_id}/enable": enable_endpoint,
        "/{endpoint_id}/delete": delete_endpoint,
        "/{endpoint_id}/rotate": rotate_secret,
        "/{endpoint_id}/test": send_test,
    },
)
