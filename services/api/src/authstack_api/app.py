"""Build the Litestar application from Settings."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import anyio
from litestar import Litestar
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send

from authstack_api import project_cache, prometheus, routes
from authstack_api.auth import HttpRequest
from authstack_api.context import bind_request_context
from authstack_api.direct import DirectRouter
from authstack_api.errors import handle_exception
from authstack_api.inputs import ApiRequest, check_url_values
from authstack_api.middleware import DRAIN_LIMIT_FACTOR, EdgeMiddleware
from authstack_core.analytics.service import Analytics
from authstack_core.db.pool import make_pool
from authstack_core.db.project_cache import ProjectCache
from authstack_core.domain import webhooks
from authstack_core.domain.context import Deps
from authstack_core.errors import SchemaError
from authstack_core.heap import settle_heap
from authstack_core.ratelimit import RateLimiter
from authstack_core.readiness import Readiness
from authstack_core.settings import Settings


def discover_routes() -> list[HTTPRouteHandler]:
    """Every route handler of every module in ``authstack_api.routes``, in module order.

    A new area only has to add a module there; nothing else needs editing to register it. Each
    handler gets its request context bound (see ``authstack_api.context``).
    """
    found: list[HTTPRouteHandler] = []
    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        for value in vars(module).values():
            # A handler by name, or a list of them that a factory built (one set per variant).
            for v in value if isinstance(value, list) else [value]:
                # Only handlers defined in that module, so an imported one is not registered twice.
                if isinstance(v, HTTPRouteHandler) and v.fn.__module__ == module.__name__:
                    found.append(v)
    for handler in found:
        bind_request_context(handler)
    return found


def allow_declared_query(app: Litestar) -> None:
    """Let each handler take the query parameters it declares, its own and its dependencies'
    (by their query names), and no other: ``reject_unknown_query`` reads the list."""
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler, kwargs in route.route_handler_map.values():
                names = frozenset(param.field_alias for param in kwargs.expected_query_params)
                handler.opt["query"] = names


async def reject_unknown_query(request: HttpRequest) -> None:
    """Undeclared query parameters are a SCHEMA_ERROR, as upstream's strict validation makes them
    (except on handlers with ``opt={"any_query": True}``).

    So is a NUL in any query or path value (PostgreSQL text cannot hold one).
    """
    check_url_values(request)
    # OAuth's authorize and callback take parameters nobody lists (contract §0, §5.2).
    if not request.query_params or request.route_handler.opt.get("any_query"):
        return
    allowed: frozenset[str] = request.route_handler.opt.get("query", frozenset())
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise SchemaError(message="query contains unknown properties: " + ", ".join(unknown))


def create_asgi(settings: Settings) -> EdgeMiddleware:
    """The served ASGI app: the edge middleware around Litestar, so it sees every request first
    (Litestar's own middleware runs only after routing, too late to rewrite /api/latest), and
    the direct routes (``authstack_api.direct``) between the two."""
    return EdgeMiddleware(
        DirectRouter(create_app(settings)),
        drain_limit_bytes=DRAIN_LIMIT_FACTOR * settings.max_body_bytes,
        trusted_proxies=settings.proxy_networks,
    )


def create_app(settings: Settings) -> Litestar:
    pool = make_pool(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await pool.open(wait=True, timeout=30)
        analytics = Analytics(settings)
        await anyio.to_thread.run_sync(analytics.open)
        cache = ProjectCache.from_settings(settings)
        app.state.deps = deps = Deps.build(settings, pool, analytics, cache)
        app.state.limiter = RateLimiter.from_settings(settings)
        app.state.readiness = readiness = Readiness.build(settings, pool, deps.storage)
        settle_heap()
        try:
            yield
        finally:
            await readiness.aclose()
            await pool.close()
            app.state.deps.jobs.close()
            await app.state.limiter.aclose()
            # Stops sandbox processes, writes what is still buffered (bounded), then lets go of
            # an embedded store.
            await analytics.queries.aclose()
            await anyio.to_thread.run_sync(analytics.close)

    def current_deps() -> Deps:
        # Without parameters Litestar calls this directly; a `state` parameter would cost a
        # signature-model parse on every request (~15 µs, measured).
        return cast(Deps, app.state.deps)

    def wake_webhook_workers(app: ASGIApp) -> ASGIApp:
        """After each request, one wake-up per project whose webhook events it recorded."""

        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            async with webhooks.wakeups_after(current_deps()):
                await app(scope, receive, send)

        return handle

    app = Litestar(
        route_handlers=discover_routes(),
        middleware=[wake_webhook_workers],
        dependencies={"deps": Provide(current_deps, sync_to_thread=False)},
        lifespan=[lifespan, prometheus.lifespan, project_cache.lifespan],
        before_request=reject_unknown_query,
        request_class=ApiRequest,
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
    allow_declared_query(app)
    return app
