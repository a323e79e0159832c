"""Banner, health, JWKS and the current project."""

from __future__ import annotations

import asyncio

from litestar import Response, get

from authstack_api.auth import AnyAuth, HttpRequest, OptionalAuth
from authstack_api.direct import DIRECT
from authstack_api.responses import json_response, text_response
from authstack_core.domain.context import Deps
from authstack_core.readiness import Readiness


@get("/health", include_in_schema=True)
async def health(deps: Deps, db: str | None = None) -> Response[bytes]:
    """Liveness (no dependency is asked); ``?db=1``, kept for existing probes, also proves the
    database answers (``/health/ready`` checks it and the rest)."""
    if db not in (None, "", "0", "false"):
        try:
            async with asyncio.timeout(deps.settings.health_check_timeout_seconds):
                async with deps.pool.connection() as conn:
                    await conn.execute("SELECT 1")
        except Exception:
            return json_response({"status": "error", "db": "unreachable"}, status=503)
        return json_response({"status": "ok", "db": "ok"})
    return json_response({"status": "ok"})


# An operator's probe, left out of the OpenAPI document: its 503 is an answer, not a failure.
@get("/health/ready", include_in_schema=False)
async def health_ready(request: HttpRequest) -> Response[bytes]:
    """Readiness: 200 when every required dependency answers, else 503 naming the failed ones
    (see ``authstack_core.readiness``)."""
    readiness: Readiness = request.app.state.readiness
    report = await readiness.report()
    return json_response(report.json(), status=200 if report.ready else 503)


@get("/api/v1")
async def banner(auth: OptionalAuth) -> Response[bytes]:
    lines = ["Welcome to the authstack API (Stack Auth compatible).", ""]
    if auth is None:
        lines.append("No authentication was detected on this request.")
    else:
        lines.append(f"Authenticated as {auth.type} access to project {auth.project.id}.")
        lines.append(f"User: {auth.user_id or 'none'}")
    lines += ["", "OpenAPI document: /api/v1/docs/openapi.json"]
    return text_response("\n".join(lines))


@get("/api/v1/projects/{project_id:str}/.well-known/jwks.json")
async def jwks(
    deps: Deps,
    project_id: str,
    include_restricted: str | None = None,
    include_anonymous: str | None = None,
) -> Response[bytes]:
    """Public keys that verify this project's access tokens (no auth; cacheable for an hour)."""
    keys = deps.tokens.jwks(
        project_id,
        include_restricted=include_restricted == "true",
        include_anonymous=include_anonymous == "true",
    )
    return json_response(keys, headers={"cache-control": "public, max-age=3600"})


@get("/api/v1/projects/current", opt={DIRECT: True})
async def current_project(auth: AnyAuth) -> Response[bytes]:
    project = auth.project
    return json_response(
        {
            "id": project.id,
            "display_name": project.display_name,
            "config": project.config.client_view(),
        }
    )
