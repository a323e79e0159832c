"""Build the dashboard's Starlette application from DashboardSettings."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authstack_core.settings import DashboardSettings
from authstack_dashboard.client import ApiClient
from authstack_dashboard.images import content_security_policy, image_source
from authstack_dashboard.routes import (
    analytics,
    api_keys,
    audit_log,
    auth,
    email_drafts,
    email_editor,
    email_preview,
    email_sending,
    email_themes,
    emails,
    external_databases,
    impersonation,
    oauth_settings,
    projects,
    replays,
    teams,
    users,
    webhooks,
)
from authstack_dashboard.routes import settings as settings_pages
from authstack_dashboard.web import Dashboard, error_page, request_id

log = structlog.get_logger("authstack_dashboard")
STATIC = Path(__file__).parent / "static"

# The one page whose CSP allows inline styles (routes/replays.py).
REPLAY_PLAYER = re.compile(r"/projects/[^/]+/replays/[^/]+")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Pure ASGI: strict CSP and friends on every response; pages are never cached. Email
    previews get their own, stricter CSP, and are the only pages a dashboard page may frame."""

    def __init__(self, app: ASGIApp, image_source: str = "") -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", content_security_policy(image_source)),
            *SECURITY_HEADERS,
        ]
        self.player_headers = [
            (
                b"content-security-policy",
                content_security_policy(image_source, inline_styles=True),
            ),
            *SECURITY_HEADERS,
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        is_static = path.startswith("/static/")
        if email_preview.PREVIEW_PATH.fullmatch(path):
            extra = email_preview.PREVIEW_HEADERS
        elif REPLAY_PLAYER.fullmatch(path):
            extra = self.player_headers
        else:
            extra = self.headers

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(extra)
                if not is_static and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, wrapped)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(settings: DashboardSettings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            timeout=settings.api_timeout_seconds,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        ) as http:
            app.state.dash = Dashboard.build(settings, ApiClient(settings, http))
            yield

    routes: list[BaseRoute] = [
        Route("/health", health),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        *auth.routes,
        *projects.routes,
        *users.routes,
        *impersonation.routes,
        *audit_log.routes,
        *teams.routes,
        *replays.routes,
        *settings_pages.routes,
        *oauth_settings.routes,
        *external_databases.routes,
        *api_keys.routes,
        *webhooks.routes,
        *emails.routes,
        *email_editor.routes,
        *email_drafts.routes,
        *email_themes.routes,
        *email_sending.routes,
        *analytics.routes,
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_page(request.app.state.dash, 404, "This page does not exist.")

    async def server_error(request: Request, exc: Exception) -> Response:
        rid = request_id()
        log.exception("unhandled error", request_id=rid, path=request.url.path)
        return error_page(
            request.app.state.dash,
            500,
            f"Something went wrong on the dashboard. Request id: {rid}",
        )

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: not_found, 500: server_error},
    )
    app.add_middleware(SecurityHeaders, image_source=image_source(settings))
    return app
