"""Email: the outbox (queue, claim, record), the cron step, send-email, listing and templates.

How another area sends an email (e.g. a team invitation)::

    async with deps.pool.connection() as conn, conn.transaction():
        ...  # the action itself
        outbox_id = await emails.queue_email(
            conn, deps, tenancy_id=tenancy_id, template="team_invitation",
            to_email=email, variables={"teamDisplayName": team.display_name,
                                       "teamInvitationLink": link},
        )
    await emails.enqueue_emails(deps, [outbox_id])  # after commit, never inside the transaction

The row is the durable record: if the wake-up cannot be sent (Redis down) or is lost, the cron
step (``GET /internal/email-queue-step``) sends it again, and the worker's claim makes a second
wake-up harmless.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formataddr
from typing import Any

import structlog
from psycopg import AsyncConnection

from authstack_core.crypto.sealing import Sealer, SealError, sealer_for
from authstack_core.db.queries import emails as q
from authstack_core.domain.context import Deps
from authstack_core.email_rendering import (
    BUILTIN_TEMPLATES,
    RenderedEmail,
    TemplateError,
    TemplateSource,
    check_template,
    html_to_text,
    render,
    run_off_loop,
)
from authstack_core.errors import (
    RequiresCustomEmailServer,
    SchemaError,
    StatusError,
    UserIdDoesNotExist,
)
from authstack_core.jobs import SEND_EMAIL, EnqueueError
from authstack_core.models.config import EmailServerConfig, ProjectConfig
from authstack_core.models.emails import (
    CUSTOM_HTML,
    ClaimedRow,
    OutboxRow,
    SmtpTarget,
    TemplateRow,
)
from authstack_core.models.projects import TenantProject
from authstack_core.settings import Settings

log = structlog.get_logger(__name__)

_SEAL_PURPOSE = "email-outbox-content"
# dramatiq's Redis broker refuses delays of 7 days or more; later rows wait for the cron step.
_MAX_WAKEUP_DELAY = timedelta(days=6)
_STEP_BATCH = 500


class QueueUnavailableError(Exception):
    """Redis did not take the wake-ups; the rows are kept and the next cron step retries."""


def _sealer(settings: Settings) -> Sealer:
    return sealer_for(settings.server_secret, _SEAL_PURPOSE)


# --- queueing -----------------------------------------------------------------------------------


async def queue_email(
    conn: AsyncConnection[Any],
    deps: Deps,
    *,
    tenancy_id: uuid.UUID,
    template: str,
    variables: Mapping[str, Any] | None = None,
    to_user_id: uuid.UUID | str | None = None,
    to_email: str | None = None,
    subject: str | None = None,
    html: str | None = None,
    is_high_priority: bool = True,
    scheduled_at: datetime | None = None,
) -> uuid.UUID:
    """Write one outbox row inside the caller's transaction and return its id.

    ``template`` is a built-in type (``email_verification``, ``password_reset``, ``magic_link``,
    ``team_invitation``, ``sign_in_invitation``; their variables are in
    ``email_rendering.BUILTIN_TEMPLATES``), a project template id, or ``CUSTOM_HTML`` with
    ``html`` (sent as is) and ``subject``. The recipient is ``to_email`` if given, else the
    primary email of ``to_user_id`` when the email is sent; with both, the user's display name
    is used in the greeting. ``projectDisplayName``, ``userDisplayName`` and ``recipientEmail``
    are filled in at sending time. Variables and HTML are stored sealed (links carry live codes).

    After the transaction commits, call ``enqueue_emails`` with the returned ids.
    """
    if to_user_id is None and to_email is None:
        raise ValueError("an email needs to_user_id or to_email")
    if template == CUSTOM_HTML and html is None:
        raise ValueError("a custom_html email needs html")
    outbox_id = uuid.uuid4()
    content = json.dumps({"variables": dict(variables or {}), "html": html}).encode("utf-8")
    delay = (scheduled_at - datetime.now(UTC)) if scheduled_at is not None else timedelta(0)
    await q.insert_outbox(
        conn,
        outbox_id=outbox_id,
        tenancy_id=tenancy_id,
        template=template,
        to_user_id=to_user_id,
        to_email=to_email,
        content_sealed=_sealer(deps.settings).seal(content, outbox_id.bytes),
        is_high_priority=is_high_priority,
        scheduled_at=scheduled_at,
        subject=subject,
        wakeup=delay < _MAX_WAKEUP_DELAY,
    )
    return outbox_id


async def enqueue_emails(
    deps: Deps, outbox_ids: Sequence[uuid.UUID], *, delay_seconds: float | None = None
) -> None:
    """Send the workers a wake-up per row. Call only after the rows' transaction committed.

    Never raises for Redis trouble: the rows are already safe, so a failure is logged, the rows
    are marked as having no wake-up in flight, and the next cron step enqueues them.
    """
    if not outbox_ids:
        return
    if delay_seconds is not None and delay_seconds >= _MAX_WAKEUP_DELAY.total_seconds():
        return
    try:
        taken = await deps.jobs.send(
            SEND_EMAIL, [(str(i),) for i in outbox_ids], delay_seconds=delay_seconds
        )
    except EnqueueError as exc:
        taken = 0
        log.warning("email wake-up not enqueued; the cron step will", error=str(exc))
    missed = list(outbox_ids[taken:])
    if missed:
        try:
            async with deps.pool.connection() as conn, conn.transaction():
                await q.clear_wakeup(conn, missed)
        except Exception:  # the rows' wake-up times then just look overdue a little later
            log.exception("could not mark email wake-ups as missing", count=len(missed))


# --- delivery (the worker) ----------------------------------------------------------------------


class EmailConfigError(Exception):
    """The project's or the deployment's email server settings cannot be used."""


def smtp_target(
    settings: Settings, server: EmailServerConfig, project_display_name: str
) -> SmtpTarget:
    """Where a project's email goes: its own SMTP server, or the shared ``STACK_EMAIL_*`` one."""
    if server.is_shared:
        if not settings.email_host:
            raise EmailConfigError(
                "no email server is configured: set STACK_EMAIL_HOST (shared server) or the "
                "project's own SMTP server (emails.server)"
            )
        return SmtpTarget(
            host=settings.email_host,
            port=settings.email_port,
            username=settings.email_username,
            password=settings.email_password,
            implicit_tls=settings.email_secure,
            sender=formataddr((project_display_name, settings.email_sender)),
            sender_address=settings.email_sender,
        )
    if server.provider != "smtp":
        raise EmailConfigError(
            f"email provider {server.provider!r} is not supported here; configure an SMTP server"
        )
    if not server.host or not server.port or not server.sender_email:
        raise EmailConfigError(
            "the project's SMTP server needs host, port and senderEmail (emails.server)"
        )
    return SmtpTarget(
        host=server.host,
        port=server.port,
        username=server.username,
        password=server.password,
        implicit_tls=server.secure if server.secure is not None else server.port == 465,
        sender=formataddr((server.sender_name or project_display_name, server.sender_email)),
        sender_address=server.sender_email,
        public_only=not settings.outbound_allow_private_networks,
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
    reason: str


@dataclass(frozen=True, slots=True)
class _Fail:
    error: str


def _plan(settings: Settings, row: ClaimedRow) -> Delivery | _Skip | _Fail:
    if row.to_user_id is not None and not row.user_exists:
        return _Skip("the recipient user no longer exists")
    recipient = row.to_email or row.user_primary_email
    if not recipient:
        return _Skip("the recipient user has no primary email")
    if row.content_sealed is None:
        return _Fail("the email's content is gone (the row was already finished)")
    try:
        content = json.loads(_sealer(settings).open(row.content_sealed, row.id.bytes))
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
            ProjectConfig.from_override(row.config_override).email_server,
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
    log.info(
        "email delivery failed",
        outbox_id=str(delivery.outbox_id),
        attempt=delivery.attempt,
        status="retry_scheduled" if retry else "failed",
        error=error,
    )
    if retry:
        await enqueue_emails(deps, [delivery.outbox_id], delay_seconds=delay)


# --- the cron step ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueStep:
    released: int  # rows whose sending lease ran out, given back (or failed on their last try)
    requeued: int  # rows whose wake-up was missing or overdue, enqueued again


async def queue_step(deps: Deps) -> QueueStep:
    """Recover what Redis or a worker lost; raise QueueUnavailableError if Redis does not answer.

    Bounded: at most a few thousand rows per call, so a cron tick never runs away.
    """
    settings = deps.settings
    released = requeued = 0
    for _ in range(10):
        async with deps.pool.connection() as conn, conn.transaction():
            rows = await q.release_expired_leases(
                conn, max_attempts=settings.email_max_attempts, limit=_STEP_BATCH
            )
        released += len(rows)
        if len(rows) < _STEP_BATCH:
            break
    for _ in range(10):
        async with deps.pool.connection() as conn, conn.transaction():
            ids = await q.take_lost_wakeups(
                conn, requeue_after=settings.email_requeue_after_seconds, limit=_STEP_BATCH
            )
        if not ids:
            break
        try:
            taken = await deps.jobs.send(SEND_EMAIL, [(str(i),) for i in ids])
        except EnqueueError:
            taken = 0
        if taken < len(ids):
            async with deps.pool.connection() as conn, conn.transaction():
                await q.clear_wakeup(conn, ids[taken:])
            requeued += taken
            raise QueueUnavailableError(f"Redis took {taken} of {len(ids)} wake-ups")
        requeued += taken
        if len(ids) < _STEP_BATCH:
            break
    if released or requeued:
        log.info("email queue step", released=released, requeued=requeued)
    return QueueStep(released=released, requeued=requeued)


# --- send-email and the outbox listing ------------------------------------------------------------


def template_exists_error(template_id: str) -> StatusError:
    return StatusError(404, f"Email template {template_id!r} not found.")


async def send_email(
    deps: Deps,
    project: TenantProject,
    *,
    user_ids: Sequence[str] | None,
    all_users: bool,
    html: str | None,
    template_id: str | None,
    variables: Mapping[str, Any],
    subject: str | None,
    is_high_priority: bool,
    scheduled_at: datetime | None,
) -> list[str]:
    """Queue one email per user (``POST /emails/send-email``); return the user ids.

    Raise REQUIRES_CUSTOM_EMAIL_SERVER on the shared server, USER_ID_DOES_NOT_EXIST for an
    unknown user, 404 for an unknown template, SCHEMA_ERROR for missing template variables.
    """
    if project.config.email_server.is_shared:
        raise RequiresCustomEmailServer()
    tenancy_id = project.tenancy_id
    template = CUSTOM_HTML if html is not None else str(template_id)
    async with deps.pool.connection() as conn, conn.transaction():
        if template != CUSTOM_HTML:
            await _check_template_usable(conn, tenancy_id, template, variables)
        if all_users:
            targets = await q.select_all_user_ids(conn, tenancy_id)
        else:
            wanted = list(dict.fromkeys(user_ids or []))
            existing = await q.select_existing_user_ids(conn, tenancy_id, wanted)
            for user_id in wanted:
                if uuid.UUID(user_id) not in existing:
                    raise UserIdDoesNotExist(user_id=user_id)
            targets = [uuid.UUID(u) for u in wanted]
        ids = [
            await queue_email(
                conn,
                deps,
                tenancy_id=tenancy_id,
                template=template,
                variables=variables,
                to_user_id=user_id,
                subject=subject,
                html=html,
                is_high_priority=is_high_priority,
                scheduled_at=scheduled_at,
            )
            for user_id in targets
        ]
    delay = (scheduled_at - datetime.now(UTC)).total_seconds() if scheduled_at else None
    await enqueue_emails(deps, ids, delay_seconds=delay)
    return [str(u) for u in targets]


async def _check_template_usable(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, template: str, variables: Mapping[str, Any]
) -> None:
    builtin = BUILTIN_TEMPLATES.get(template)
    if builtin is None:
        if await q.select_template(conn, tenancy_id, template) is None:
            raise template_exists_error(template)
        return
    missing = [name for name in builtin.variables if name not in variables]
    if missing:
        raise SchemaError(message=f"template {template} needs the variables: {', '.join(missing)}")


@dataclass(frozen=True, slots=True)
class OutboxPage:
    items: list[OutboxRow]
    next_cursor: str | None


async def list_outbox(
    deps: Deps, project: TenantProject, *, limit: int, cursor: str | None, status: str | None
) -> OutboxPage:
    """Newest first; ``next_cursor`` is the first row of the next page (inclusive)."""
    tenancy_id = project.tenancy_id
    async with deps.pool.connection() as conn:
        cursor_key = None
        if cursor is not None:
            created_at = await q.select_outbox_created_at(conn, tenancy_id, cursor)
            if created_at is None:
                return OutboxPage([], None)
            cursor_key = (created_at, cursor)
        rows = await q.select_outbox_page(
            conn, tenancy_id, limit=limit + 1, status=status, cursor=cursor_key
        )
    next_cursor = str(rows[limit].id) if len(rows) > limit else None
    return OutboxPage(rows[:limit], next_cursor)


async def get_outbox(deps: Deps, project: TenantProject, outbox_id: str) -> OutboxRow | None:
    async with deps.pool.connection() as conn:
        return await q.select_outbox_row(conn, project.tenancy_id, outbox_id)


# --- templates (admin) ----------------------------------------------------------------------------


def template_json(
    template_id: str, row: TemplateRow | None, *, include_source: bool = True
) -> dict[str, Any]:
    builtin = BUILTIN_TEMPLATES.get(template_id)
    source = (
        TemplateSource(row.subject, row.html, row.text)
        if row is not None
        else (builtin.source if builtin else None)
    )
    assert source is not None
    out: dict[str, Any] = {
        "id": template_id,
        "display_name": row.display_name if row else (builtin.display_name if builtin else ""),
        "is_builtin": builtin is not None,
        "is_overridden": builtin is not None and row is not None,
        "variables": list(builtin.variables) if builtin else [],
    }
    if include_source:
        out.update(subject=source.subject, html=source.html, text=source.text)
    return out


async def list_templates(deps: Deps, project: TenantProject) -> list[dict[str, Any]]:
    """The built-in templates (with the project's overrides applied), then its own ones."""
    async with deps.pool.connection() as conn:
        rows = {r.id: r for r in await q.select_templates(conn, project.tenancy_id)}
    out = [template_json(tid, rows.pop(tid, None)) for tid in BUILTIN_TEMPLATES]
    out.extend(template_json(tid, row) for tid, row in rows.items())
    return out


async def _checked(source: TemplateSource, template_id: str) -> None:
    """Trial-render in a worker thread (bounded by the rendering budget); SCHEMA_ERROR naming
    the problem, e.g. the budget a template goes over."""
    try:
        await run_off_loop(check_template, source, template_id)
    except TemplateError as exc:
        raise SchemaError(message=f"The email template is not valid: {exc}") from None


async def create_template(
    deps: Deps,
    project: TenantProject,
    *,
    display_name: str,
    subject: str,
    html: str,
    text: str | None,
) -> dict[str, Any]:
    """A project template, usable as send-email's ``template_id``; SCHEMA_ERROR if it is broken."""
    template_id = str(uuid.uuid4())
    await _checked(TemplateSource(subject, html, text), template_id)
    async with deps.pool.connection() as conn, conn.transaction():
        await q.upsert_template(
            conn,
            project.tenancy_id,
            template_id,
            display_name=display_name,
            subject=subject,
            html=html,
            text=text,
        )
        row = await q.select_template(conn, project.tenancy_id, template_id)
    return template_json(template_id, row)


async def update_template(
    deps: Deps,
    project: TenantProject,
    template_id: str,
    changes: Mapping[str, Any],
) -> dict[str, Any]:
    """Override a built-in template or edit a project template (subject, html, text, name)."""
    tenancy_id = project.tenancy_id
    builtin = BUILTIN_TEMPLATES.get(template_id)
    async with deps.pool.connection() as conn, conn.transaction():
        current = await q.select_template(conn, tenancy_id, template_id)
        if current is None and builtin is None:
            raise template_exists_error(template_id)
        if current is not None:
            base = TemplateSource(current.subject, current.html, current.text)
            name = current.display_name
        else:
            assert builtin is not None
            base = builtin.source
            name = builtin.display_name
        source = TemplateSource(
            subject=changes.get("subject", base.subject),
            html=changes.get("html", base.html),
            text=changes.get("text", base.text),
        )
        await _checked(source, template_id)
        await q.upsert_template(
            conn,
            tenancy_id,
            template_id,
            display_name=changes.get("display_name") or name,
            subject=source.subject,
            html=source.html,
            text=source.text,
        )
        row = await q.select_template(conn, tenancy_id, template_id)
    return template_json(template_id, row)


async def delete_template(deps: Deps, project: TenantProject, template_id: str) -> None:
    """Delete a project template, or reset a built-in one to its default."""
    async with deps.pool.connection() as conn, conn.transaction():
        deleted = await q.delete_template(conn, project.tenancy_id, template_id)
    if not deleted and template_id not in BUILTIN_TEMPLATES:
        raise template_exists_error(template_id)
