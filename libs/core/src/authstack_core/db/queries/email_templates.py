"""Email template SQL: a project's own templates and its overrides of the built-in ones."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import changed, fetch_all, fetch_one
from authstack_core.models.emails import TemplateRow

_TEMPLATE_COLUMNS = (
    "SELECT id, display_name, subject, html, text, created_at, updated_at FROM email_templates "
)
SELECT_TEMPLATES = _TEMPLATE_COLUMNS + "WHERE tenancy_id = %(tenancy_id)s ORDER BY created_at, id"
SELECT_TEMPLATE = _TEMPLATE_COLUMNS + "WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s"
UPSERT_TEMPLATE = """
INSERT INTO email_templates (tenancy_id, id, display_name, subject, html, text)
VALUES (%(tenancy_id)s, %(id)s, %(display_name)s, %(subject)s, %(html)s, %(text)s)
ON CONFLICT (tenancy_id, id) DO UPDATE
SET display_name = EXCLUDED.display_name, subject = EXCLUDED.subject, html = EXCLUDED.html,
    text = EXCLUDED.text, updated_at = now()
"""
DELETE_TEMPLATE = "DELETE FROM email_templates WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s"


async def select_templates(conn: AsyncConnection[Any], tenancy_id: uuid.UUID) -> list[TemplateRow]:
    return await fetch_all(conn, TemplateRow, SELECT_TEMPLATES, tenancy_id=tenancy_id)


async def select_template(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, template_id: str
) -> TemplateRow | None:
    return await fetch_one(
        conn, TemplateRow, SELECT_TEMPLATE, tenancy_id=tenancy_id, id=template_id
    )


async def upsert_template(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    template_id: str,
    *,
    display_name: str,
    subject: str,
    html: str,
    text: str | None,
) -> None:
    await conn.execute(
        UPSERT_TEMPLATE,
        {
            "tenancy_id": tenancy_id,
            "id": template_id,
            "display_name": display_name,
            "subject": subject,
            "html": html,
            "text": text,
        },
    )


async def delete_template(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, template_id: str
) -> bool:
    return await changed(conn, DELETE_TEMPLATE, tenancy_id=tenancy_id, id=template_id)
