"""Webhook events (contract §7.3), recorded in the outbox inside the caller's transaction."""

from __future__ import annotations

from typing import Any, Literal

from psycopg import AsyncConnection

from authstack_core.db.queries import webhooks as q
from authstack_core.models.projects import TenantProject

EventType = Literal[
    "user.created",
    "user.updated",
    "user.deleted",
    "team.created",
    "team.updated",
    "team.deleted",
    "team_membership.created",
    "team_membership.deleted",
    "team_permission.created",
    "team_permission.deleted",
    "project_permission.created",
    "project_permission.deleted",
]


async def record(
    conn: AsyncConnection[Any], project: TenantProject, event_type: EventType, data: dict[str, Any]
) -> None:
    """Append one event; it is delivered only if the surrounding transaction commits.

    The payload is what Svix receives: ``{type, data}``.
    """
    await q.insert_event(
        conn, project.tenancy_id, project.id, event_type, {"type": event_type, "data": data}
    )
