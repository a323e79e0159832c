"""Email draft SQL: a project's drafts, always by tenancy."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from authstack_core.db.queries.run import changed, fetch_all, fetch_one
from authstack_core.models.email_drafts import DraftRow

_COLUMNS = (
    "SELECT id, display_name, subject, source, theme_mode, theme_id, template_variables, sent_at,"
    " created_at, updated_at FROM email_drafts "
)
SELECT_DRAFTS = _COLUMNS + (
    "WHERE tenancy_id = %(tenancy_id)s ORDER BY updated_at DESC, id LIMIT %(limit)s"
)
SELECT_DRAFT = _COLUMNS + "WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s"
SELECT_DRAFT_FOR_UPDATE = SELECT_DRAFT + " FOR UPDATE"
# The count and the insert in one statement: a project over its limit inserts nothing.
INSERT_DRAFT = """
INSERT INTO email_drafts (tenancy_id, id, display_name, subject, source, theme_mode, theme_id,
                          template_variables)
SELECT %(tenancy_id)s, %(id)s, %(display_name)s, %(subject)s, %(source)s, %(theme_mode)s,
       %(theme_id)s, %(template_variables)s
WHERE (SELECT count(*) FROM email_drafts WHERE tenancy_id = %(tenancy_id)s) < %(limit)s
"""
UPDATE_DRAFT = """
UPDATE email_drafts
SET display_name = %(display_name)s, subject = %(subject)s, source = %(source)s,
    theme_mode = %(theme_mode)s, theme_id = %(theme_id)s,
    template_variables = %(template_variables)s, sent_at = %(sent_at)s, updated_at = now()
WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s
"""
MARK_SENT = """
UPDATE email_drafts SET sent_at = now(), updated_at = now()
WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s
"""
DELETE_DRAFT = "DELETE FROM email_drafts WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s"


async def select_drafts(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, limit: int
) -> list[DraftRow]:
    return await fetch_all(conn, DraftRow, SELECT_DRAFTS, tenancy_id=tenancy_id, limit=limit)


async def select_draft(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, draft_id: uuid.UUID, *, lock: bool = False
) -> DraftRow | None:
    sql = SELECT_DRAFT_FOR_UPDATE if lock else SELECT_DRAFT
    return await fetch_one(conn, DraftRow, sql, tenancy_id=tenancy_id, id=draft_id)


async def insert_draft(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, row: DraftRow, *, limit: int
) -> bool:
    """Insert ``row``; False (nothing written) when the project already has ``limit`` drafts."""
    return await changed(
        conn,
        INSERT_DRAFT,
        tenancy_id=tenancy_id,
        id=row.id,
        display_name=row.display_name,
        subject=row.subject,
        source=row.source,
        theme_mode=row.theme_mode,
        theme_id=row.theme_id,
        template_variables=Jsonb(row.template_variables),
        limit=limit,
    )


async def update_draft(conn: AsyncConnection[Any], tenancy_id: uuid.UUID, row: DraftRow) -> None:
    await conn.execute(
        UPDATE_DRAFT,
        {
            "tenancy_id": tenancy_id,
            "id": row.id,
            "display_name": row.display_name,
            "subject": row.subject,
            "source": row.source,
            "theme_mode": row.theme_mode,
            "theme_id": row.theme_id,
            "template_variables": Jsonb(row.template_variables),
            "sent_at": row.sent_at,
        },
    )


async def mark_sent(conn: AsyncConnection[Any], tenancy_id: uuid.UUID, draft_id: uuid.UUID) -> bool:
    return await changed(conn, MARK_SENT, tenancy_id=tenancy_id, id=draft_id)


async def delete_draft(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, draft_id: uuid.UUID
) -> bool:
    return await changed(conn, DELETE_DRAFT, tenancy_id=tenancy_id, id=draft_id)
