"""Email delivery (the worker's side): claim a row, plan its send, record the outcome."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from email.utils import formataddr
from typing import Any

import structlog
from msgspec import UNSET, UnsetType
from psycopg import Rollback

from authstack_core.crypto.sealing import SealError
from authstack_core.db.queries import email_outbox as q
from authstack_core.domain import email_capacity
from authstack_core.domain.context import Deps
from authstack_core.domain.email_outbox import enqueue_emails, open_content, sealed_theme
from authstack_core.domain.email_render import render_email
from authstack_core.domain.notification_preferences import unsubscribe_url, with_unsubscribe_footer
from authstack_core.email_address import with_ascii_domain
from authstack_core.email_rendering import BUILTIN_TEMPLATES, RenderedEmail, TemplateSource
from authstack_core.errors import EmailRenderingError
from authstack_core.models.config import EmailServerConfig, ProjectConfig, ThemeChoice
from authstack_core.models.emails import (
    CUSTOM_HTML,
    USER_ACCOUNT_DELETED,
    USER_HAS_NO_PRIMARY_EMAIL,
    USER_UNSUBSCRIBED,
    ClaimedRow,
    SmtpTarget,
)
from authstack_core.models.notifications import TRANSACTIONAL, category_by_id
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
    sender_name = server.sender_name or project_display_name
    return SmtpTarget(
        host=server.host,
        port=server.port,
        username=server.username,
        password=server.password,
        implicit_tls=server.secure if server.secure is not None else server.port == 465,
        sender=formataddr((sender_name, server.sender_email)),
        sender_address=server.sender_email,
        sender_name=sender_name,
        # The shared server is the operator's own; a project's is held to public addresses.
        public_only=not server.is_shared and not settings.outbound_allow_private_networks,
    )


def shared_smtp_target(settings: Settings) -> SmtpTarget:
    """The shared ``STACK_EMAIL_*`` server as a target; EmailConfigError when none is set."""
    return smtp_target(settings, _shared_server(settings), "")


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed row, rendered and addressed: what the worker hands to SMTP."""

    outbox_id: uuid.UUID
    attempt: int
    is_last_attempt: bool
    recipient: str
    smtp: SmtpTarget
    message: RenderedEmail
    # A mail of a category the user may turn off: its signed one-click link (List-Unsubscribe).
    unsubscribe_url: str | None = None

    @property
    def message_id(self) -> str:
        # Stable per row, so that any copy of this email can be recognised as the same one; on
        # the sender's domain (RFC 5322 3.6.4), in ASCII.
        try:
            domain = with_ascii_domain(self.smtp.sender_address).rpartition("@")[2]
        except ValueError:
            domain = ""
        return f"<{self.outbox_id}@{domain or 'authstack.local'}>"


@dataclass(frozen=True, slots=True)
class _Skip:
    reason: str  # upstream's skip reason code


@dataclass(frozen=True, slots=True)
class _Fail:
    error: str


def _unsubscribe_link(settings: Settings, row: ClaimedRow) -> str | None | _Skip:
    """The row's unsubscribe link; a skip if the user turned its category off; None for a mail
    that is always sent (Transactional) or goes to an address rather than a user."""
    category = category_by_id(row.notification_category_id) or TRANSACTIONAL
    if not category.can_disable or row.to_user_id is None:
        return None
    enabled = row.notification_enabled
    if not (category.default_enabled if enabled is None else enabled):
        return _Skip(USER_UNSUBSCRIBED)
    return unsubscribe_url(
        settings,
        tenancy_id=row.tenancy_id,
        user_id=row.to_user_id,
        category=category,
        link_id=row.id,
    )


@dataclass(frozen=True, slots=True)
class _Ready:
    """A row with a recipient, a server and content: what is left is rendering it."""

    recipient: str
    smtp: SmtpTarget
    config: ProjectConfig
    source: TemplateSource | None  # None: literal HTML
    html: str | None
    theme: ThemeChoice | UnsetType  # unset: the project's selected theme
    variables: dict[str, Any]
    unsubscribe: str | None  # the mail's one-click link, when its category can be turned off


def _plan(settings: Settings, row: ClaimedRow) -> _Ready | _Skip | _Fail:
    if row.to_user_id is not None and not row.user_exists:
        return _Skip(USER_ACCOUNT_DELETED)
    recipient = row.to_email or row.user_primary_email
    if not recipient:
        return _Skip(USER_HAS_NO_PRIMARY_EMAIL)
    unsubscribe = _unsubscribe_link(settings, row)
    if isinstance(unsubscribe, _Skip):
        return unsubscribe
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
    if unsubscribe is not None:
        variables["unsubscribeLink"] = unsubscribe  # themes put it in their footer
    config = ProjectConfig.from_levels(
        row.config_override, row.branch_config_override, row.environment_config_override
    )
    source = html = None
    if row.template == CUSTOM_HTML:
        html = str(content.get("html") or "")
    else:
        source = _template_source(row, content)
        if source is None:
            return _Fail(f"email template {row.template!r} does not exist")
    theme = sealed_theme(content)
    if isinstance(theme, str) and theme not in config.email_theme_ids:
        theme = UNSET  # the row's theme is gone: the project's theme, as upstream falls back
    try:
        target = smtp_target(settings, config.email_server, row.project_display_name)
    except EmailConfigError as exc:
        return _Fail(str(exc))
    return _Ready(recipient, target, config, source, html, theme, variables, unsubscribe)


def _template_source(row: ClaimedRow, content: dict[str, Any]) -> TemplateSource | None:
    own = content.get("source")
    if isinstance(own, dict):  # a source queued with the email (a draft's)
        return TemplateSource(str(own["subject"]), str(own["html"]), own.get("text"))
    if row.override_exists:
        assert row.override_subject is not None
        assert row.override_html is not None
        return TemplateSource(row.override_subject, row.override_html, row.override_text)
    builtin = BUILTIN_TEMPLATES.get(row.template)
    return builtin.source if builtin else None


async def _claim_within_capacity(
    deps: Deps, row_id: uuid.UUID
) -> tuple[ClaimedRow | None, email_capacity.HeldBack | None]:
    """Take the row's share of its project's capacity and claim it, in one transaction: either
    both happen or neither (a claim that finds the row gone gives the share back)."""
    claimed: ClaimedRow | None = None
    held: email_capacity.HeldBack | None = None
    async with deps.pool.connection() as conn, conn.transaction():
        held = await email_capacity.hold_back(conn, deps.settings, row_id)
        if held is None:
            claimed = await q.claim(conn, row_id, deps.settings.email_send_lease_seconds)
            if claimed is None:
                raise Rollback()  # the share taken goes back with it
    return claimed, held


async def _render(deps: Deps, row: ClaimedRow, ready: _Ready) -> RenderedEmail | _Fail:
    """The email in its theme (the row's, else the project's selected one, as it is now)."""
    try:
        return await render_email(
            deps,
            row.tenancy_id,
            ready.config,
            template_id=row.template if ready.source is not None else None,
            source=ready.source,
            html=ready.html,
            subject=row.subject,
            theme_id=ready.theme,
            variables=ready.variables,
            theme_fallback=True,
        )
    except EmailRenderingError as exc:
        return _Fail(f"the template could not be rendered: {exc.error}")


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
    row, held = await _claim_within_capacity(deps, row_id)
    if held is not None:
        log.info("email held back by its project's capacity", outbox_id=outbox_id, delay=held.delay)
        await enqueue_emails(deps, [row_id], delay_seconds=held.delay)
    if row is None:
        return None
    plan = _plan(settings, row)
    if isinstance(plan, _Ready):
        # Rendering is CPU work within a budget, done off the event loop by render_email.
        message = await _render(deps, row, plan)
        if isinstance(message, RenderedEmail):
            if plan.unsubscribe is not None:  # in the body too, where no theme placed it
                message = with_unsubscribe_footer(message, plan.unsubscribe)
            return Delivery(
                outbox_id=row.id,
                attempt=row.attempt_count,
                is_last_attempt=row.attempt_count >= settings.email_max_attempts,
                recipient=plan.recipient,
                smtp=plan.smtp,
                message=message,
                unsubscribe_url=plan.unsubscribe,
            )
        plan = message
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
