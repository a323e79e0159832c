"""The emails API's use cases: send-email, the sign-in invitation, and the outbox listing
(routes/emails.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries import emails as q
from authstack_core.domain import email_templates
from authstack_core.domain.context import Deps
from authstack_core.domain.email_outbox import Recipient, enqueue_emails, queue_email, queue_emails
from authstack_core.errors import RequiresCustomEmailServer, UserIdDoesNotExist
from authstack_core.models.emails import CUSTOM_HTML, OutboxRow, StatusFilter
from authstack_core.models.notifications import TRANSACTIONAL, NotificationCategory
from authstack_core.models.projects import TenantProject
from authstack_core.models.shapes import Page
from authstack_core.redirects import require_trusted_redirect

# Rows written per transaction: big enough that a send to every user of a large project takes
# few round trips, small enough that one batch's transaction stays short.
SEND_BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class Recipients:
    """Whom ``send_email`` writes to: named users, every (non-anonymous) user, or addresses."""

    user_ids: Sequence[str] | None = None
    all_users: bool = False
    emails: Sequence[str] | None = None


async def send_email(
    deps: Deps,
    project: TenantProject,
    *,
    to: Recipients,
    html: str | None,
    template_id: str | None,
    variables: Mapping[str, Any],
    subject: str | None,
    is_high_priority: bool,
    scheduled_at: datetime | None,
    notification_category: NotificationCategory = TRANSACTIONAL,
    batch_size: int = SEND_BATCH_SIZE,
) -> list[str]:
    """Queue one email per recipient (``POST /emails/send-email``); return the user ids (the
    addresses, for ``to.emails``) in the order queued.

    Rows are written in batches of ``batch_size``, each in its own transaction and woken after
    its commit: a large send holds no long transaction, and a failure part-way leaves whole
    batches queued, never part of one. Preferences are honoured when each mail is sent (a user
    who turned ``notification_category`` off is skipped, ``USER_UNSUBSCRIBED``).

    Raise REQUIRES_CUSTOM_EMAIL_SERVER on the shared server, USER_ID_DOES_NOT_EXIST for an
    unknown user, 404 for an unknown template, SCHEMA_ERROR for missing template variables.
    """
    if project.config.email_server.is_shared:
        raise RequiresCustomEmailServer()
    tenancy_id = project.tenancy_id
    template = CUSTOM_HTML if html is not None else str(template_id)
    wanted = list(dict.fromkeys(to.user_ids or []))
    async with deps.pool.connection() as conn:
        if template != CUSTOM_HTML:
            await email_templates.check_usable(conn, tenancy_id, template, variables)
        if wanted:
            existing = await q.select_existing_user_ids(conn, tenancy_id, wanted)
            for user_id in wanted:
                if uuid.UUID(user_id) not in existing:
                    raise UserIdDoesNotExist(user_id=user_id)
    delay = (scheduled_at - datetime.now(UTC)).total_seconds() if scheduled_at else None

    async def queue(conn: AsyncConnection[Any], batch: list[Recipient]) -> list[uuid.UUID]:
        return await queue_emails(
            conn,
            deps,
            tenancy_id=tenancy_id,
            template=template,
            recipients=batch,
            variables=variables,
            subject=subject,
            html=html,
            is_high_priority=is_high_priority,
            scheduled_at=scheduled_at,
            notification_category=notification_category,
        )

    queued: list[str] = []
    if to.all_users:
        after: uuid.UUID | None = None
        while True:
            async with deps.pool.connection() as conn, conn.transaction():
                page = await q.select_user_ids_page(conn, tenancy_id, after=after, limit=batch_size)
                ids = await queue(conn, [Recipient(user_id=u) for u in page])
            await enqueue_emails(deps, ids, delay_seconds=delay)
            queued += [str(u) for u in page]
            if len(page) < batch_size:
                return queued
            after = page[-1]
    for chunk in _chunks(wanted or list(to.emails or []), batch_size):
        batch = [Recipient(user_id=x) if wanted else Recipient(email=x) for x in chunk]
        async with deps.pool.connection() as conn, conn.transaction():
            ids = await queue(conn, batch)
        await enqueue_emails(deps, ids, delay_seconds=delay)
        queued += chunk
    return queued


async def send_sign_in_invitation(
    deps: Deps, project: TenantProject, *, email: str, callback_url: str
) -> None:
    """Queue the ``sign_in_invitation`` mail to ``email``, its button opening ``callback_url``
    (``POST /internal/send-sign-in-invitation``). Sent like the other built-in mails, through the
    project's server or the shared one. REDIRECT_URL_NOT_WHITELISTED unless the project trusts
    the URL."""
    link = require_trusted_redirect(project.config, callback_url)
    async with deps.pool.connection() as conn, conn.transaction():
        outbox_id = await queue_email(
            conn,
            deps,
            tenancy_id=project.tenancy_id,
            template="sign_in_invitation",
            to_email=email,
            variables={"signInInvitationLink": link},
        )
    await enqueue_emails(deps, [outbox_id])


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def list_outbox(
    deps: Deps,
    project: TenantProject,
    *,
    limit: int,
    cursor: str | None,
    status: StatusFilter | None,
) -> Page[OutboxRow]:
    """Newest first; only rows of ``status`` when given (see models.emails.STATUS_FILTERS)."""
    tenancy_id = project.tenancy_id
    async with deps.pool.connection() as conn:
        cursor_key = None
        if cursor is not None:
            created_at = await q.select_outbox_created_at(conn, tenancy_id, cursor)
            if created_at is None:
                return Page([], None)
            cursor_key = (created_at, cursor)
        rows = await q.select_outbox_page(
            conn, tenancy_id, limit=limit + 1, status=status, cursor=cursor_key
        )
    return Page.cut(rows, limit)


async def get_outbox(deps: Deps, project: TenantProject, outbox_id: str) -> OutboxRow | None:
    async with deps.pool.connection() as conn:
        return await q.select_outbox_row(conn, project.tenancy_id, outbox_id)
