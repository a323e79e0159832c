"""Audit log SQL: one insert per recorded action, and the newest-first listing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from authstack_core.db.queries.run import fetch_all
from authstack_core.models.audit_log import Actor, AuditLogRow, Target

INSERT_ENTRY = """
INSERT INTO audit_log (tenancy_id, id, action, actor_type, actor_user_id, actor_ip,
                       actor_user_agent, target_type, target_id, details)
VALUES (%(tenancy_id)s, %(id)s, %(action)s, %(actor_type)s, %(actor_user_id)s, %(actor_ip)s,
        %(actor_user_agent)s, %(target_type)s, %(target_id)s, %(details)s)
"""


async def insert_entry(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    action: str,
    actor: Actor,
    target: Target,
    details: dict[str, Any],
) -> None:
    await conn.execute(
        INSERT_ENTRY,
        {
            "tenancy_id": tenancy_id,
            "id": uuid.uuid4(),
            "action": action,
            "actor_type": actor.type,
            "actor_user_id": actor.user_id,
            "actor_ip": actor.ip,
            "actor_user_agent": actor.user_agent,
            "target_type": target.type,
            "target_id": target.id,
            "details": Jsonb(details),
        },
    )


SELECT_ENTRIES = """
SELECT id, created_at, action, actor_type, actor_user_id, actor_ip, actor_user_agent,
       target_type, target_id, details
FROM audit_log
WHERE tenancy_id = %(tenancy_id)s
  AND (%(action)s::text IS NULL OR action = %(action)s)
  AND (%(target_user_id)s::text IS NULL
       OR (target_type = 'user' AND target_id = %(target_user_id)s))
  AND (%(actor_user_id)s::uuid IS NULL OR actor_user_id = %(actor_user_id)s)
  AND (%(cursor_at)s::timestamptz IS NULL
       OR (created_at, id) < (%(cursor_at)s, %(cursor_id)s::uuid))
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
"""


async def select_entries(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    *,
    action: str | None,
    target_user_id: str | None,
    actor_user_id: str | None,
    cursor: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[AuditLogRow]:
    """Up to ``limit`` entries of the tenancy older than ``cursor``, newest first."""
    return await fetch_all(
        conn,
        AuditLogRow,
        SELECT_ENTRIES,
        tenancy_id=tenancy_id,
        action=action,
        target_user_id=target_user_id,
        actor_user_id=actor_user_id,
        cursor_at=cursor[0] if cursor else None,
        cursor_id=cursor[1] if cursor else None,
        limit=limit,
    )
