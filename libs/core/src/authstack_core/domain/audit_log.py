"""The audit log: admin actions recorded in the transaction that performs them, and read back
newest first by the project's admins.

Callers pass the request's ``Actor`` explicitly (the API's ``Auth.actor``): a write path that must
be audited cannot forget who acted without a type error, and code outside a request (the email
monitor's clean-up) says so by passing no actor at all.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries import audit_log as q
from authstack_core.domain.context import Deps
from authstack_core.models.audit_log import Action, Actor, AuditLogRow, Target
from authstack_core.models.projects import TenantProject

# Bounds what one entry lists (changed config keys, project fields).
MAX_LISTED = 50


def listed(field: str, names: list[str]) -> dict[str, Any]:
    """``names`` (sorted, at most MAX_LISTED of them, each cut to 200 characters) as details
    ``{field: [...]}``, plus ``"<field>_truncated": true`` when some were left out."""
    ordered = sorted(name[:200] for name in names)
    out: dict[str, Any] = {field: ordered[:MAX_LISTED]}
    if len(ordered) > MAX_LISTED:
        out[f"{field}_truncated"] = True
    return out


async def record(
    conn: AsyncConnection[Any],
    project: TenantProject,
    actor: Actor | None,
    action: Action,
    target: Target,
    details: dict[str, Any] | None = None,
) -> None:
    """Write one entry in the caller's transaction (so it commits or rolls back with the action).
    No actor: the action was not a request's (nothing is written). ``details`` must hold no
    secret: names and ids only."""
    if actor is None:
        return
    await q.insert_entry(conn, project.tenancy_id, action, actor, target, details or {})


async def list_entries(
    deps: Deps,
    project: TenantProject,
    *,
    limit: int,
    cursor: tuple[datetime, uuid.UUID] | None,
    action: str | None,
    target_user_id: str | None,
    actor_user_id: str | None,
) -> tuple[list[AuditLogRow], str | None]:
    """A page of the tenancy's entries, newest first, and the next page's cursor (None on the
    last page)."""
    async with deps.pool.connection() as conn:
        rows = await q.select_entries(
            conn,
            project.tenancy_id,
            action=action,
            target_user_id=target_user_id,
            actor_user_id=actor_user_id,
            cursor=cursor,
            limit=limit + 1,
        )
    page = rows[:limit]
    return page, page[-1].cursor() if len(rows) > limit else None
