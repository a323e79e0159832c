"""``PATCH /emails/outbox/{id}``: cancel, pause, resume, reschedule or edit a queued email.

An email can be changed until a worker starts sending it: while it is ``pending``,
``retry_scheduled`` or ``paused``. Once it is ``sending`` or finished (``sent``, ``failed``,
``skipped``, ``cancelled``) the answer is EMAIL_NOT_EDITABLE. Upstream also lets a failed email be
edited (and sent again); here a finished row no longer holds its content, so it cannot be.

Race safety: the edit locks the row (``outbox_edits.lock_row``) and the worker's claim is a
conditional UPDATE on ``pending``/``retry_scheduled``; whichever comes second sees the other's
result. A wake-up already in flight for a paused or cancelled row claims nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from authstack_core.crypto.sealing import SealError
from authstack_core.db.queries import emails as listing
from authstack_core.db.queries import outbox_edits as q
from authstack_core.domain import email_templates
from authstack_core.domain.context import Deps
from authstack_core.domain.email_outbox import enqueue_emails, open_content, seal_content
from authstack_core.email_address import EmailError, normalize_email
from authstack_core.errors import EmailNotEditable, SchemaError, StatusError, UserIdDoesNotExist
from authstack_core.models.emails import CUSTOM_HTML, OutboxRow
from authstack_core.models.projects import TenantProject

# Upstream's names of the states an email can no longer be edited in.
_UPSTREAM_STATUS = {
    "sending": "SENDING",
    "sent": "SENT",
    "failed": "SERVER_ERROR",
    "skipped": "SKIPPED",
    "cancelled": "SKIPPED",
}
_MAX_WAKEUP_DELAY = timedelta(days=6)  # as in email_outbox: later rows wait for the cron step


@dataclass(frozen=True, slots=True)
class Recipient:
    """Upstream's ``to``: a user's primary email, a user at given addresses, or addresses."""

    user_id: str | None
    emails: list[str] | None


@dataclass(frozen=True, slots=True)
class OutboxChanges:
    """What a PATCH asks for; None (or False) leaves a thing as it is."""

    cancel: bool = False
    is_paused: bool | None = None
    scheduled_at: datetime | None = None
    variables: dict[str, Any] | None = None
    html: str | None = None  # upstream's tsx_source: the literal HTML of a send-email with html
    to: Recipient | None = None


def _not_found() -> StatusError:
    return StatusError(404, "Email not found in this project's outbox.")


async def edit_outbox(
    deps: Deps, project: TenantProject, outbox_id: str, changes: OutboxChanges
) -> OutboxRow:
    """Apply ``changes`` to a not-yet-sending email and return it as the outbox lists it."""
    tenancy_id = project.tenancy_id
    row_id = uuid.UUID(outbox_id)
    async with deps.pool.connection() as conn, conn.transaction():
        row = await q.lock_row(conn, tenancy_id, row_id)
        if row is None:
            raise _not_found()
        if row.status not in q.EDITABLE:
            raise EmailNotEditable(email_id=str(row.id), status=_UPSTREAM_STATUS[row.status])
        wake = False
        if changes.cancel:
            await q.cancel(conn, tenancy_id, row_id)
        else:
            recipient = await _recipient(conn, tenancy_id, changes.to)
            if changes.variables is not None and row.template != CUSTOM_HTML:
                await email_templates.check_usable(
                    conn, tenancy_id, row.template, changes.variables
                )
            edit = _edited(deps, row, changes, recipient)
            await q.update(conn, tenancy_id, row_id, edit, set_recipient=recipient is not None)
            wake = edit.wakeup
        found = await listing.select_outbox_row(conn, tenancy_id, outbox_id)
        assert found is not None, "the row is locked by this transaction"
    if wake:
        delay = (found.next_attempt_at - datetime.now(UTC)).total_seconds()
        await enqueue_emails(deps, [row_id], delay_seconds=max(delay, 0) or None)
    return found


async def _recipient(
    conn: Any, tenancy_id: uuid.UUID, to: Recipient | None
) -> tuple[uuid.UUID | None, str | None] | None:
    """(to_user_id, to_email) for a new ``to``; None when the recipient stays."""
    if to is None:
        return None
    user_id = None
    if to.user_id is not None:
        try:
            user_id = uuid.UUID(to.user_id)
        except ValueError:
            raise SchemaError(message="to.user_id must be a UUID") from None
        if not await q.user_exists(conn, tenancy_id, user_id):
            raise UserIdDoesNotExist(user_id=to.user_id)
    email = None
    if to.emails is not None:
        if len(to.emails) != 1:
            raise SchemaError(message="to.emails: this outbox sends each email to one address")
        try:
            email = normalize_email(to.emails[0])
        except EmailError as exc:
            raise SchemaError(message=f"to.emails[0] must be a valid email ({exc})") from None
    return user_id, email


def _edited(
    deps: Deps,
    row: q.LockedRow,
    changes: OutboxChanges,
    recipient: tuple[uuid.UUID | None, str | None] | None,
) -> q.Edit:
    now = datetime.now(UTC)
    status = row.status
    edit = q.Edit(
        status=status,
        scheduled_at=row.scheduled_at,
        next_attempt_at=row.next_attempt_at,
        to_user_id=recipient[0] if recipient else None,
        to_email=recipient[1] if recipient else None,
        content_sealed=_resealed(deps, row, changes),
        wakeup=False,
    )
    timing_changed = False
    if changes.scheduled_at is not None:
        later = row.next_attempt_at if row.attempt_count > 0 else changes.scheduled_at
        edit = replace(
            edit,
            scheduled_at=changes.scheduled_at,
            next_attempt_at=max(changes.scheduled_at, later),
        )
        timing_changed = True
    if changes.is_paused is True:
        edit = replace(edit, status="paused")
    elif changes.is_paused is False and status == "paused":
        edit = replace(edit, status="retry_scheduled" if row.attempt_count > 0 else "pending")
        timing_changed = True
    waiting = edit.status != "paused"
    soon = edit.next_attempt_at - now < _MAX_WAKEUP_DELAY
    return replace(edit, wakeup=waiting and timing_changed and soon)


def _resealed(deps: Deps, row: q.LockedRow, changes: OutboxChanges) -> bytes | None:
    """The row's content with the new variables and HTML, sealed again (or as it was)."""
    if changes.variables is None and changes.html is None:
        return row.content_sealed
    if changes.html is not None and row.template != CUSTOM_HTML:
        raise SchemaError(
            message="tsx_source: only an email sent with html can have its HTML replaced; this "
            "one renders a template (change its variables, or cancel it and send another)"
        )
    if row.content_sealed is None:
        raise SchemaError(message="the email's content is gone and cannot be edited")
    try:
        content = open_content(deps.settings, row.id, row.content_sealed)
    except SealError:
        raise SchemaError(
            message="the email's content cannot be opened (was STACK_SERVER_SECRET changed?)"
        ) from None
    if changes.variables is not None:
        content["variables"] = changes.variables
    if changes.html is not None:
        content["html"] = changes.html
    return seal_content(deps.settings, row.id, content)
