"""Email delivery (the worker's side): claim a row, plan its send, record the outcome."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from email.utils import formataddr

import structlog

from authstack_core.crypto.sealing import SealError
from authstack_core.db.queries import email_outbox as q
from authstack_core.domain.context import Deps
from authstack_core.domain.email_outbox import enqueue_emails, open_content
from authstack_core.email_rendering import (
    BUILTIN_TEMPLATES,
    RenderedEmail,
    TemplateError,
    TemplateSource,
    html_to_text,
    render,
    run_off_loop,
)
from authstack_core.models.config import EmailServerConfig, ProjectConfig
from authstack_core.models.emails import (
    CUSTOM_HTML,
    USER_ACCOUNT_DELETED,
    USER_HAS_NO_PRIMARY_EMAIL,
    ClaimedRow,
    SmtpTarget,
)
from authstack_core.observability import series
from authstack_core.settings import Settings

log = structlog.get_logger(__name__)


class EmailConfigError(Exception):
    """The project's or the deployment's email server settings cannot be used."""


def _shared_server(settings: Settings) -> EmailServerConfig:
    """The deployment's ``STACK_EMAIL_*`` server, as a project's ``emails.server`` would name it."""
    if not settings.email_host:
        raise EmailConfigError(
            "no email server is configured: set STACK_EMAIL_HOST (shared server) or the "
            "project's own SMTP server (emails.server)"
        )
    return EmailServerConfig(
        is_shared=True,
        provider="smtp",
        host=settings.email_host,
        port=settings.email_port,
        username=settings.email_username,
        password=settings.email_password,
        sender_name=None,
        sender_email=settings.email_sender,
        secure=settings.email_secure,
    )


def smtp_target(
    settings: Settings, server: EmailServerConfig, project_display_name: str
) -> SmtpTarget:
    """Where a project's email goes: its own SMTP server, or the shared ``STACK_EMAIL_*`` one."""
    if server.is_shared:
        server = _shared_server(settings)
    elif server.provider != "smtp":
        raise EmailConfigError(
            f"email provider {server.provider!r} is not supported here; configure an SMTP server"
        )
    elif not server.host or not server.port or not server.sender_email:
        raise EmailConfigError(
            "the project's SMTP server needs host, port and senderEmail (emails.server)"
        )
    # Either kind is complete now (the shared one's host was checked; the rest has defaults).
    assert server.host is not None
    assert server.port is not None
    assert server.sender_email is not None
    return SmtpTarget(
        host=server.host,
        port=server.port,
        username=server.username,
        password=server.password,
        implicit_tls=server.secure if server.secure is not None else server.port == 465,
        sender=formataddr((server.sender_name or project_display_name, server.sender_email)),
        sender_address=server.sender_email,
        # The shared server is the operator's own; a project's is held to public addresses.
        public_only=not server.is_shared and not settings.outbound_allow_private_networks,
    )


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed row, rendered and addressed: what the worker hands to SMTP."""

    outbox_id: uuid.UUID
    attempt: int
    is_last_attempt: bool
    recipient: str
    smtp: SmtpTarget
    message: RenderedEmail

    @property
    def message_id(self) -> str:
        # Stable per row, so that any copy of this email can be recognised as the same one.
        domain = self.smtp.sender_address.rpartition("@")[2] or "authstack.local"
        return f"<{self.outbox_id}@{domain}>"


@dataclass(frozen=True, slots=True)
class _Skip:
    reason: str  # upstream's skip reason code


@dataclass(frozen=True, slots=True)
class _Fail:
    error: str


def _plan(settings: Settings, row: ClaimedRow) -> Delivery | _Skip | _Fail:
    if row.to_user_id is not None and not row.user_exists:
        return _Skip(USER_ACCOUNT_DELETED)
    recipient = row.to_email or row.user_primary_email
    if not recipient:
        return _Skip(USER_HAS_NO_PRIMARY_EMAIL)
    if row.content_sealed is None:
        return _Fail("the email's content is gone (the row was already finished)")
    try:
        content = open_content(settings, row.id, row.content_sealed)
    except SealError:
        return _Fail("the email's content cannot be opened (was STACK_SERVER_SECRET changed?)")
    variables = {
        "projectDisplayName": row.project_display_name,
        "userDisplayName": row.user_display_name,
        "recipientEmail": recipient,
        **content.get("variables", {}),
    }
    try:
        if row.template == CUSTOM_HTML:
            html = str(content.get("html") or "")
            message = RenderedEmail(" ".join((row.subject or "").split()), html, html_to_text(html))
        else:
            source = _template_source(row)
            if source is None:
                return _Fail(f"email template {row.template!r} does not exist")
            message = render(source, variables)
    except TemplateError as exc:
        return _Fail(f"the template could not be rendered: {exc}")
    try:
        target = smtp_target(
            settings,
            ProjectConfig.from_levels(
                row.config_override, row.branch_config_override, row.environment_config_override
            ).email_server,
            row.project_display_name,
        )
    except EmailConfigError as exc:
        return _Fail(str(exc))
    return Delivery(
        outbox_id=row.id,
        attempt=row.attempt_count,
        is_last_attempt=row.attempt_count >= settings.email_max_attempts,
        recipient=recipient,
        smtp=target,
        message=message,
    )


def _template_source(row: ClaimedRow) -> TemplateSource | None:
    if row.override_exists:
        assert row.override_subject is not None
        assert row.override_html is not None
        return TemplateSource(row.override_subject, row.override_html, row.override_text)
    builtin = BUILTIN_TEMPLATES.get(row.template)
    return builtin.source if builtin else None


async def claim_delivery(deps: Deps, outbox_id: str) -> Delivery | None:
    """Claim a due row for sending and prepare it; None when there is nothing to send.

    A row that is not due, already finished, or held by another worker's live lease is left
    alone (a redelivered wake-up is a no-op). A row that cannot be sent at all (no recipient,
    bad template, no server configured) is recorded as skipped or failed here.
    """
    try:
        row_id = uuid.UUID(outbox_id)
    except ValueError:
        log.warning("email wake-up with a malformed outbox id ignored")
        return None
    settings = deps.settings
    async with deps.pool.connection() as conn, conn.transaction():
        row = await q.claim(conn, row_id, settings.email_send_lease_seconds)
    if row is None:
        return None
    # Rendering a project's template is CPU work within a budget: keep it off the event loop
    # that all of this worker's sends share.
    plan = await run_off_loop(_plan, settings, row)
    if isinstance(plan, Delivery):
        return plan
    async with deps.pool.connection() as conn, conn.transaction():
        if isinstance(plan, _Skip):
            await q.mark_skipped(conn, row.id, row.attempt_count, reason=plan.reason)
        else:
            await q.mark_failed(conn, row.id, row.attempt_count, error=plan.error)
    series.email_delivery("skipped" if isinstance(plan, _Skip) else "failed")
    log.info(
        "email not sent",
        outbox_id=str(row.id),
        status="skipped" if isinstance(plan, _Skip) else "failed",
        reason=plan.reason if isinstance(plan, _Skip) else plan.error,
    )
    return None


async def record_sent(deps: Deps, delivery: Delivery, smtp_response: str) -> None:
    """Record the server's acceptance. Called right after the final reply to DATA."""
    async with deps.pool.connection() as conn, conn.transaction():
        held = await q.mark_sent(
            conn,
            delivery.outbox_id,
            delivery.attempt,
            recipient=delivery.recipient,
            subject=delivery.message.subject,
            smtp_response=smtp_response[:1000],
        )
    series.email_delivery("sent")
    if not held:
        log.warning("email sent after its lease was lost", outbox_id=str(delivery.outbox_id))


def retry_delay(settings: Settings, attempt: int) -> float:
    """Exponential backoff from STACK_EMAIL_RETRY_BASE_SECONDS, with ±10 % jitter."""
    base: float = settings.email_retry_base_seconds * 2.0 ** max(0, attempt - 1)
    return base * random.uniform(0.9, 1.1)  # noqa: S311 (jitter, not a secret)


async def record_failure(deps: Deps, delivery: Delivery, error: str, *, temporary: bool) -> None:
    """Schedule a retry for a temporary failure with attempts left; otherwise mark it failed."""
    error = error[:1000]
    retry = temporary and not delivery.is_last_attempt
    async with deps.pool.connection() as conn, conn.transaction():
        if retry:
            delay = retry_delay(deps.settings, delivery.attempt)
            due = await q.mark_retry(
                conn,
                delivery.outbox_id,
                delivery.attempt,
                delay_seconds=delay,
                recipient=delivery.recipient,
                subject=delivery.message.subject,
                error=error,
            )
            retry = due is not None
        else:
            await q.mark_failed(
                conn,
                delivery.outbox_id,
                delivery.attempt,
                error=error,
                recipient=delivery.recipient,
                subject=delivery.message.subject,
            )
    series.email_delivery("retry" if retry else "failed")
    log.info(
        "email delivery failed",
        outbox_id=str(delivery.outbox_id),
        attempt=delivery.attempt,
        status="retry_scheduled" if retry else "failed",
        error=error,
    )
    if retry:
        await enqueue_emails(deps, [delivery.outbox_id], delay_seconds=delay)
