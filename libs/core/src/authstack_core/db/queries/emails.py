"""What the emails API reads: the outbox listing and the recipients of send-email."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, sql

from authstack_core.db.queries.pages import Keyset
from authstack_core.db.queries.run import fetch_one
from authstack_core.models.emails import OutboxRow, StatusFilter

# --- the admin listing ------------------------------------------------------------------------

_OUTBOX_COLUMNS = """
SELECT id, template, to_user_id, to_email, is_high_priority, status,
       scheduled_at <= now() AS is_due, scheduled_at, next_attempt_at, attempt_count, recipient,
       subject, smtp_response, error, skipped_reason, sent_at, finished_at, created_at, updated_at
FROM email_outbox
"""
_OUTBOX_PAGES = Keyset(
    _OUTBOX_COLUMNS
    + """WHERE tenancy_id = %(tenancy_id)s
  AND (%(statuses)s::text[] IS NULL OR status = ANY(%(statuses)s::text[]))
  AND (%(due)s::boolean IS NULL OR (scheduled_at <= now()) = %(due)s::boolean)
""",
    sql.Identifier("created_at"),
    sql.Identifier("id"),
)


async def select_outbox_created_at(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, outbox_id: str
) -> datetime | None:
    """The row's creation time (a page cursor's key); None when there is no such row."""
    row = await select_outbox_row(conn, tenancy_id, outbox_id)
    return row.created_at if row else None


async def select_outbox_page(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    *,
    limit: int,
    status: StatusFilter | None,
    cursor: tuple[datetime, str] | None,
) -> list[OutboxRow]:
    """Rows newest first, from ``cursor`` (inclusive), of ``status`` if given."""
    return await _OUTBOX_PAGES.fetch(
        conn,
        OutboxRow,
        desc=True,
        cursor=cursor,
        limit=limit,
        tenancy_id=tenancy_id,
        statuses=list(status.stored) if status else None,
        due=status.due if status else None,
    )


SELECT_OUTBOX_ROW = _OUTBOX_COLUMNS + "WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s"


async def select_outbox_row(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, outbox_id: str
) -> OutboxRow | None:
    return await fetch_one(conn, OutboxRow, SELECT_OUTBOX_ROW, tenancy_id=tenancy_id, id=outbox_id)


# --- recipients of send-email -----------------------------------------------------------------

SELECT_EXISTING_USER_IDS = """
SELECT id FROM users WHERE tenancy_id = %(tenancy_id)s AND id = ANY(%(ids)s::uuid[])
"""
# Keyset pages by id: a send to every user reads one page per batch, each in the batch's own
# transaction (a user who signs up meanwhile may or may not be in a later page).
SELECT_USER_IDS_PAGE = """
SELECT id FROM users
WHERE tenancy_id = %(tenancy_id)s AND NOT is_anonymous
  AND (%(after)s::uuid IS NULL OR id > %(after)s::uuid)
ORDER BY id
LIMIT %(limit)s
"""


async def select_existing_user_ids(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, ids: list[str]
) -> set[uuid.UUID]:
    cur = await conn.execute(SELECT_EXISTING_USER_IDS, {"tenancy_id": tenancy_id, "ids": ids})
    return {row[0] for row in await cur.fetchall()}


async def select_user_ids_page(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    """Up to ``limit`` non-anonymous user ids after ``after``, in id order."""
    cur = await conn.execute(
        SELECT_USER_IDS_PAGE, {"tenancy_id": tenancy_id, "after": after, "limit": limit}
    )
    return [row[0] for row in await cur.fetchall()]
