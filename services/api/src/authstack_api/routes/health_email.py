"""GET|POST /health/email: the shared SMTP server's reachability and, when configured, the email
monitor's round trip, for an uptime checker."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Response, route

from authstack_api import email_monitor, smtp_check
from authstack_api.auth import HttpRequest
from authstack_api.limits import Limit
from authstack_api.responses import json_response
from authstack_core.domain.context import Deps
from authstack_core.domain.email_delivery import EmailConfigError, shared_smtp_target
from authstack_core.errors import StatusError
from authstack_core.settings import Settings

PROBE_SECONDS = 5.0


async def shared_server_reachability(settings: Settings) -> dict[str, Any]:
    """``{reachable, host, port, latency_ms, error?}`` of ``STACK_EMAIL_HOST``: a connection and
    an EHLO within a few seconds, nothing sent, no login (no credential leaves, none is shown)."""
    try:
        target = shared_smtp_target(settings)
    except EmailConfigError as exc:
        return {
            "reachable": False,
            "host": None,
            "port": settings.email_port,
            "latency_ms": None,
            "error": str(exc),
        }
    found = await smtp_check.probe(target, min(settings.email_timeout_seconds, PROBE_SECONDS))
    out: dict[str, Any] = {
        "reachable": found.reachable,
        "host": target.host,
        "port": target.port,
        "latency_ms": found.latency_ms,
    }
    if found.error is not None:
        out["error"] = found.error
    return out


@route("/health/email", http_method=["GET", "POST"], opt={"limit": Limit("email_monitor")})
async def health_email(request: HttpRequest, deps: Deps) -> Response[bytes]:
    """``{smtp}`` (200, or 503 when the shared server does not answer) without the monitor; with
    it (Bearer token), the monitor signs up and awaits the verification email as well:
    ``{success, seconds, smtp}``, or 503 ``{success: false, error, smtp}``."""
    settings = deps.settings
    if not settings.email_monitor_enabled:
        smtp = await shared_server_reachability(settings)
        return json_response({"smtp": smtp}, status=200 if smtp["reachable"] else 503)
    assert settings.email_monitor_secret_token is not None
    expected = f"Bearer {settings.email_monitor_secret_token}".encode()
    given = request.headers.get("authorization", "").encode()
    if not hmac.compare_digest(given, expected):
        raise StatusError(401, "Unauthorized")
    smtp = await shared_server_reachability(settings)
    try:
        seconds = await email_monitor.run(deps)
    except email_monitor.EmailMonitorError as exc:
        return json_response({"success": False, "error": exc.text, "smtp": smtp}, status=503)
    return json_response({"success": True, "seconds": round(seconds, 3), "smtp": smtp})
