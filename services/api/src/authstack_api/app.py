"""Build the Litestar application from Settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from authstack_api.errors import handle_exception
from authstack_api.middleware import EdgeMiddleware
from authstack_api.routes import meta, oauth, password, sessions, users
from authstack_core.db.pool import make_pool
from authstack_core.domain.context import Deps
from authstack_core.errors import SchemaError
from authstack_core.settings import Settings

ROUTES = [
    meta.health,
    meta.banner,
    meta.jwks,
    meta.current_project,
    password.sign_up,
    password.sign_in,
    oauth.token,
    sessions.refresh_current,
    sessions.sign_out,
    sessions.list_sessions,
    sessions.create_session,
    sessions.delete_session,
    users.get_me,
    users.update_me,
    users.delete_me,
    users.list_users,
    users.create_user,
    users.get_user,
    users.update_user,
    users.delete_user,
]


async def reject_unknown_query(request: Request[Any, Any, Any]) -> None:
    """Unknown query parameters are a SCHEMA_ERROR, as upstream's strict validation makes them."""
    if not request.query_params:
        return
    allowed: frozenset[str] = request.route_handler.opt.get("query", frozenset())
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise SchemaError(
            message=f"Request validation failed on {request.method} {request.url.path}:\n"
            + "\n".join(f"  - query.{name} is not allowed" for name in unknown)
        )


def create_asgi(settings: Settings) -> EdgeMiddleware:
    """The served ASGI app: the edge middleware around Litestar, so it sees every request first
    (Litestar's own middleware runs only after routing, too late to rewrite /api/latest)."""
    return EdgeMiddleware(create_app(settings))


def create_app(settings: Settings) -> Litestar:
    pool = make_pool(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await pool.open(wait=True, timeout=30)
        app.state.deps = Deps.build(settings, pool)
        try:
            yield
        finally:
            await pool.close()

    return Litestar(
        route_handlers=ROUTES,
        lifespan=[lifespan],
        before_request=reject_unknown_query,
        exception_handlers={Exception: handle_exception},
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="authstack API (Stack Auth compatible)",
            version="1.0.0",
            path="/api/v1/docs",
            render_plugins=[JsonRenderPlugin()],
        ),
        logging_config=None,
        debug=False,
    )
