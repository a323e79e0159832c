"""Webhook outbox SQL: events are appended in the transaction of the change that caused them."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

INSERT_EVENT = """
INSERT INTO webhook_events (event_id, tenancy_id, project_id, event_type, payload)
VALUES (%(event_id)s, %(tenancy_id)s, %(project_id)s, %(event_type)s, %(payload)s)
"""


async def insert_event(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    project_id: str,
    event_type: str,
    payload: dict[str, Any],
) -> None:
    await conn.execute(
        INSERT_EVENT,
        {
            "event_id": uuid.uuid4(),
            "tenancy_id": tenancy_id,
            "project_id": project_id,
            "event_type": event_type,
            "payload": Jsonb(payload),
        },
    )
