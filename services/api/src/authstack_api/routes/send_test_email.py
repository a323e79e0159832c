"""``POST /internal/send-test-email``: one mail, sent now, and the SMTP outcome."""

from __future__ import annotations

import asyncio
from typing import Annotated

from litestar import Response, post
from msgspec import Meta

from authstack_api import smtp_check
from authstack_api.auth import AdminAuth, HttpRequest
from authstack_api.limits import limit
from authstack_api.responses import json_response
from authstack_api.schemas import Email, Strict
from authstack_core.domain.context import Deps
from authstack_core.domain.email_delivery import EmailConfigError, smtp_target
from authstack_core.domain.email_render import render_email
from authstack_core.email_rendering import TemplateSource
from authstack_core.errors import EmailRenderingError
from authstack_core.models.config import EmailServerConfig

SEND_SECONDS = 10.0  # the whole conversation, as upstream allows
_Text = Annotated[str, Meta(max_length=256)]
# Rendered like every mail (render_email, in the project's selected theme).
TEST_MAIL = TemplateSource(
    subject="Test email from {{ projectDisplayName }}",
    html=(
        '{% extends "layout.html" %}{% block title %}Test email{% endblock %}{% block content %}'
        '<h1 style="margin:0 0 16px;font-size:22px;">It works</h1>'
        '<p style="margin:0;">This test email from {{ projectDisplayName }} came through the email '
        "server you configured. Your users' emails will take the same way.</p>{% endblock %}"
    ),
    text=(
        "It works.\n\nThis test email from {{ projectDisplayName }} came through the email "
        "server you configured. Your users' emails will take the same way.\n"
    ),
)


class EmailConfigBody(Strict):
    """Upstream's SMTP settings to try (before they are saved); ``secure`` is ours (unset:
    implicit TLS on port 465, else STARTTLS when offered)."""

    host: Annotated[str, Meta(min_length=1, max_length=253)]
    port: Annotated[int, Meta(ge=1, le=65535)]
    sender_email: Email
    username: _Text | None = None
    password: Annotated[str, Meta(max_length=1024)] | None = None
    sender_name: _Text | None = None
    secure: bool | None = None


class SendTestEmailBody(Strict):
    recipient_email: Email
    email_config: EmailConfigBody | None = None


def _server(given: EmailConfigBody) -> EmailServerConfig:
    return EmailServerConfig(
        is_shared=False,
        provider="smtp",
        host=given.host.strip(),
        port=given.port,
        username=given.username or None,
        password=given.password or None,
        sender_name=given.sender_name or None,
        sender_email=given.sender_email,
        secure=given.secure,
    )


@post("/api/v1/internal/send-test-email", status_code=200)
async def send_test_email(
    auth: AdminAuth, deps: Deps, request: HttpRequest, data: SendTestEmailBody
) -> Response[bytes]:
    """Send a test mail to ``recipient_email`` through ``email_config`` if given, else through the
    project's configured server (its own or the shared one), and answer ``{success}`` or
    ``{success: false, error_message}``. Not queued: the answer is the server's own verdict."""
    await limit(request, "send_test_email", project_id=auth.project.id)
    project = auth.project
    server = _server(data.email_config) if data.email_config else project.config.email_server
    try:
        target = smtp_target(deps.settings, server, project.display_name)
        rendered = await render_email(
            deps,
            project.tenancy_id,
            project.config,
            source=TEST_MAIL,
            variables={"projectDisplayName": project.display_name},
            theme_fallback=True,  # a broken theme must not hide whether the server works
        )
    except (EmailConfigError, EmailRenderingError) as exc:
        return json_response({"success": False, "error_message": str(exc)})
    message = smtp_check.build_message(
        target, data.recipient_email, rendered.subject, rendered.text, rendered.html
    )
    timeout = min(deps.settings.email_timeout_seconds, SEND_SECONDS)
    try:
        async with asyncio.timeout(SEND_SECONDS):
            error = await smtp_check.send_once(target, message, timeout)
    except TimeoutError:
        error = (
            f"Timed out after {SEND_SECONDS:g} s talking to {target.host}:{target.port}. Is the "
            "server running and accepting connections?"
        )
    if error is not None:
        return json_response({"success": False, "error_message": error})
    return json_response({"success": True})
