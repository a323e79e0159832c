"""The email monitor behind /health/email: does a sign-up's verification email reach an inbox?

It signs a fresh address up on the monitor project (password sign-up with a verification
callback, as an app would), waits for the verification email to show in an Inbucket-compatible
inbox (``GET {inbox}/api/v1/mailbox/{local part}``), then deletes the user again. Success proves
the API, the outbox, the worker and the SMTP server work together; a failure says which step
did not.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import quote

import anyio
import httpx
import structlog

from authstack_core.domain import access, accounts, users
from authstack_core.domain.context import Deps
from authstack_core.errors import KnownError, StatusError
from authstack_core.redirects import require_trusted_redirect

log = structlog.get_logger(__name__)
POLL_SECONDS = 1.0


class EmailMonitorError(StatusError):
    def __init__(self, step: str) -> None:
        super().__init__(503, f"Email monitor failed: {step}")


async def run(deps: Deps) -> float:
    """Sign up, await the verification email, clean up; the seconds the email took to arrive."""
    settings = deps.settings
    assert settings.email_monitor_project_id is not None
    assert settings.email_monitor_inbox_url is not None
    row = await access.project_for_request(deps, settings.email_monitor_project_id, "main")
    project = row.tenant_project() if row is not None else None
    if project is None:
        raise EmailMonitorError("STACK_EMAIL_MONITOR_PROJECT_ID names no project")
    local = f"monitor+{secrets.token_hex(8)}"
    email = f"{local}@{settings.email_monitor_email_domain}"
    callback = settings.email_monitor_verification_callback_url or "http://localhost:3000/handler"
    started = time.monotonic()
    try:
        session = await accounts.sign_up_with_password(
            deps,
            project,
            email=email,
            password=secrets.token_urlsafe(24),
            verification_callback_url=require_trusted_redirect(project.config, callback),
        )
    except KnownError as exc:
        raise EmailMonitorError(f"sign-up on the monitor project was refused: {exc.code}") from None
    try:
        inbox = settings.email_monitor_inbox_url.rstrip("/")
        await _await_verification_email(
            f"{inbox}/api/v1/mailbox/{quote(local, safe='')}",
            settings.email_monitor_timeout_seconds,
        )
    finally:
        # The monitor's own throwaway user: no one's action, so not audited.
        await users.delete_user(deps, project, session.user_id, actor=None)
    return time.monotonic() - started


async def _await_verification_email(mailbox_url: str, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            try:
                r = await client.get(mailbox_url)
                listing = r.json() if r.status_code == 200 else []
                if isinstance(listing, list) and any(_is_verification(m) for m in listing):
                    return
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("email_monitor_inbox_unreadable", error=type(exc).__name__)
            if time.monotonic() >= deadline:
                raise EmailMonitorError(f"no verification email within {wait_seconds:g} s")
            await anyio.sleep(POLL_SECONDS)


def _is_verification(message: object) -> bool:
    return isinstance(message, dict) and "verify" in str(message.get("subject", "")).lower()
