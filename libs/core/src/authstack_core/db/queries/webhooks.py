"""Webhook events and endpoints: events are appended in the transaction of the change that caused
them; endpoints are a project's own delivery targets (built-in mode)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any, TypeVar

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from authstack_core.db.queries.run import changed, fetch_all, fetch_one
from authstack_core.models.webhooks import EndpointChanges, EndpointRow, EndpointTarget

E = TypeVar("E", EndpointRow, EndpointTarget)

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


# --- endpoints ------------------------------------------------------------------------------------

_ENDPOINT_COLUMNS = "id, url, description, event_types, disabled, created_at"

INSERT_ENDPOINT = """
INSERT INTO webhook_endpoints (tenancy_id, id, url, description, event_types, secret_sealed)
VALUES (%(tenancy_id)s, %(id)s, %(url)s, %(description)s, %(event_types)s, %(secret_sealed)s)
RETURNING id, url, description, event_types, disabled, created_at
"""


async def insert_endpoint(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    url: str,
    description: str,
    event_types: list[str] | None,
    secret_sealed: bytes,
) -> EndpointRow:
    row = await fetch_one(
        conn,
        EndpointRow,
        INSERT_ENDPOINT,
        tenancy_id=tenancy_id,
        id=endpoint_id,
        url=url,
        description=description,
        event_types=event_types,
        secret_sealed=secret_sealed,
    )
    assert row is not None
    return row


SELECT_ENDPOINTS = (
    "SELECT " + _ENDPOINT_COLUMNS + " FROM webhook_endpoints WHERE tenancy_id = %(tenancy_id)s "
    "ORDER BY created_at, id"
)
SELECT_ENDPOINT = (
    "SELECT " + _ENDPOINT_COLUMNS + " FROM webhook_endpoints "
    "WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s"
)


async def select_endpoints(conn: AsyncConnection[Any], tenancy_id: uuid.UUID) -> list[EndpointRow]:
    return await fetch_all(conn, EndpointRow, SELECT_ENDPOINTS, tenancy_id=tenancy_id)


# The lane's target, with the project's config levels (they say whether http:// is allowed).
SELECT_TARGET = """
SELECT e.id, e.url, e.secret_sealed, e.disabled, p.config_override, t.branch_config_override,
       t.environment_config_override
FROM webhook_endpoints e
JOIN tenancies t ON t.id = e.tenancy_id
JOIN projects p ON p.id = t.project_id
WHERE e.tenancy_id = %(tenancy_id)s AND e.id = %(id)s
"""


_SELECT_ONE: dict[type[Any], str] = {EndpointRow: SELECT_ENDPOINT, EndpointTarget: SELECT_TARGET}


async def select_endpoint(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, endpoint_id: uuid.UUID, as_type: type[E]
) -> E | None:
    """The endpoint as the admin API shows it (``EndpointRow``) or as a delivery needs it
    (``EndpointTarget``); None if the tenancy has no such endpoint."""
    return await fetch_one(
        conn, as_type, _SELECT_ONE[as_type], tenancy_id=tenancy_id, id=endpoint_id
    )


UPDATE_ENDPOINT = """
UPDATE webhook_endpoints
SET url = coalesce(%(url)s, url), description = coalesce(%(description)s, description),
    event_types = CASE WHEN %(set_event_types)s THEN %(event_types)s ELSE event_types END,
    disabled = coalesce(%(disabled)s, disabled), updated_at = now()
WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s
RETURNING id, url, description, event_types, disabled, created_at
"""


async def update_endpoint(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    changes: EndpointChanges,
) -> EndpointRow | None:
    return await fetch_one(
        conn, EndpointRow, UPDATE_ENDPOINT, tenancy_id=tenancy_id, id=endpoint_id, **asdict(changes)
    )


SET_SECRET = """
UPDATE webhook_endpoints SET secret_sealed = %(secret_sealed)s, updated_at = now()
WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s
"""


async def set_secret(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, endpoint_id: uuid.UUID, sealed: bytes
) -> bool:
    return await changed(
        conn, SET_SECRET, tenancy_id=tenancy_id, id=endpoint_id, secret_sealed=sealed
    )


# Deliveries have no foreign key to their endpoint (the Svix lane has none): they go here, and a
# worker drops any that a fan-out running at the same moment still made (see webhook_delivery).
DELETE_ENDPOINT = "DELETE FROM webhook_endpoints WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s"
DELETE_DELIVERIES_OF = """
DELETE FROM webhook_deliveries WHERE tenancy_id = %(tenancy_id)s AND endpoint_id = %(id)s
"""


async def delete_endpoint(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, endpoint_id: uuid.UUID
) -> bool:
    """Delete the endpoint with its deliveries and attempts; False if there was none."""
    if not await changed(conn, DELETE_ENDPOINT, tenancy_id=tenancy_id, id=endpoint_id):
        return False
    await conn.execute(DELETE_DELIVERIES_OF, {"tenancy_id": tenancy_id, "id": endpoint_id})
    return True
