"""GET|POST /health/email: the email monitor's round trip, for an uptime checker."""

from __future__ import annotations

import hmac

from litestar import Response, route

from authstack_api import email_monitor
from authstack_api.auth import HttpRequest
from authstack_api.limits import Limit
from authstack_api.responses import json_response
from authstack_core.domain.context import Deps
from authstack_core.errors import StatusError


@route("/health/email", http_method=["GET", "POST"], opt={"limit": Limit("email_monitor")})
async def health_email(request: HttpRequest, deps: Deps) -> Response[bytes]:
    """Sign up on the monitor project and await the verification email (Bearer token)."""
    settings = deps.settings
    if not settings.email_monitor_enabled:
        raise StatusError(404, "The email monitor is not configured on this server.")
    assert settings.email_monitor_secret_token is not None
    expected = f"Bearer {settings.email_monitor_secret_token}".encode()
    given = request.headers.get("authorization", "").encode()
    if not hmac.compare_digest(given, expected):
        raise StatusError(401, "Unauthorized")
    seconds = await email_monitor.run(deps)
    return json_response({"success": True, "seconds": round(seconds, 3)})
