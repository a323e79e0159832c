"""SQL of ``PATCH /emails/outbox/{id}``: lock an email that has not started sending, change it.

The edit holds the row's lock from its read to its commit. The worker's claim and the cron step
update a row only while it is ``pending``/``retry_scheduled`` (conditional UPDATEs), so one that
waits for the lock re-reads the row after the edit and leaves a paused or cancelled one alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import fetch_flag, fetch_one

EDITABLE = ["pending", "retry_scheduled", "paused"]  # a list: psycopg sends it as an array


@dataclass(slots=True)
class LockedRow:
    id: uuid.UUID
    status: str
    template: str
    attempt_count: int
    content_sealed: bytes | None
    scheduled_at: datetime
    next_attempt_at: datetime


SELECT_FOR_EDIT = """
SELECT id, status, template, attempt_count, content_sealed, scheduled_at, next_attempt_at
FROM email_outbox WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s
FOR UPDATE
"""


async def lock_row(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, outbox_id: uuid.UUID
) -> LockedRow | None:
    return await fetch_one(conn, LockedRow, SELECT_FOR_EDIT, tenancy_id=tenancy_id, id=outbox_id)


CANCEL = """
UPDATE email_outbox
SET status = 'cancelled', skipped_reason = 'MANUALLY_CANCELLED', finished_at = now(),
    updated_at = now(), content_sealed = NULL, wakeup_due_at = NULL, capacity_slot_at = NULL
WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s AND status = ANY(%(editable)s)
"""


async def cancel(conn: AsyncConnection[Any], tenancy_id: uuid.UUID, outbox_id: uuid.UUID) -> None:
    await conn.execute(CANCEL, {"tenancy_id": tenancy_id, "id": outbox_id, "editable": EDITABLE})


@dataclass(slots=True)
class Edit:
    """The new values of an edited row (the unchanged ones as they were)."""

    status: str
    scheduled_at: datetime
    next_attempt_at: datetime
    to_user_id: uuid.UUID | None
    to_email: str | None
    content_sealed: bytes | None
    wakeup: bool  # a wake-up will be sent for next_attempt_at after commit


# to_user_id / to_email change only together (``set_recipient``); wakeup_due_at is cleared
# while paused and set to the row's time when a wake-up follows the commit.
UPDATE = """
UPDATE email_outbox
SET status = %(status)s, scheduled_at = %(scheduled_at)s, next_attempt_at = %(next_attempt_at)s,
    to_user_id = CASE WHEN %(set_recipient)s THEN %(to_user_id)s ELSE to_user_id END,
    to_email = CASE WHEN %(set_recipient)s THEN %(to_email)s ELSE to_email END,
    recipient = CASE WHEN %(set_recipient)s THEN NULL ELSE recipient END,
    content_sealed = %(content_sealed)s,
    wakeup_due_at = CASE WHEN %(wakeup)s THEN %(next_attempt_at)s
                         WHEN %(status)s::text = 'paused' THEN NULL ELSE wakeup_due_at END,
    updated_at = now()
WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s AND status = ANY(%(editable)s)
"""


async def update(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    outbox_id: uuid.UUID,
    edit: Edit,
    *,
    set_recipient: bool,
) -> None:
    await conn.execute(
        UPDATE,
        {
            "tenancy_id": tenancy_id,
            "id": outbox_id,
            "editable": EDITABLE,
            "status": edit.status,
            "scheduled_at": edit.scheduled_at,
            "next_attempt_at": edit.next_attempt_at,
            "set_recipient": set_recipient,
            "to_user_id": edit.to_user_id,
            "to_email": edit.to_email,
            "content_sealed": edit.content_sealed,
            "wakeup": edit.wakeup,
        },
    )


SELECT_USER_EXISTS = """
SELECT EXISTS (SELECT 1 FROM users WHERE tenancy_id = %(tenancy_id)s AND id = %(user_id)s)
"""


async def user_exists(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, user_id: uuid.UUID
) -> bool:
    return await fetch_flag(conn, SELECT_USER_EXISTS, tenancy_id=tenancy_id, user_id=user_id)
