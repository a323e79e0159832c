"""The emails API's use cases: send-email to users, and the outbox listing (routes/emails.py)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from authstack_core.db.queries import emails as q
from authstack_core.domain import email_templates
from authstack_core.domain.context import Deps
from authstack_core.domain.email_outbox import enqueue_emails, queue_email
from authstack_core.errors import RequiresCustomEmailServer, UserIdDoesNotExist
from authstack_core.models.emails import CUSTOM_HTML, OutboxRow, StatusFilter
from authstack_core.models.projects import TenantProject
from authstack_core.models.shapes import Page


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
            await email_templates.check_usable(conn, tenancy_id, template, variables)
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
