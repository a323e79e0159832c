"""The audit log (``/internal/audit-log``): the project's recorded admin actions, newest first.

Admin access only: the log names the project's administrators, where they connected from and
what they changed; a server key is one of the credentials it audits, held by the app's backend.
"""

from __future__ import annotations

from litestar import Response, get

from authstack_api import limits
from authstack_api.auth import AdminAuth, HttpRequest
from authstack_api.ids import check_uuid
from authstack_api.paging import page_size
from authstack_api.responses import list_response
from authstack_core.domain import audit_log
from authstack_core.domain.context import Deps
from authstack_core.errors import SchemaError
from authstack_core.models.audit_log import ACTIONS, decode_cursor

DEFAULT_PAGE = 50
MAX_PAGE = 200


def _uuid(value: str | None, name: str) -> str | None:
    return check_uuid(value, name) if value is not None else None


def _action(value: str | None) -> str | None:
    if value is not None and value not in ACTIONS:
        raise SchemaError(
            message="action must be one of the following values: " + ", ".join(ACTIONS)
        )
    return value


@get("/api/v1/internal/audit-log")
async def list_audit_log(
    auth: AdminAuth,
    deps: Deps,
    request: HttpRequest,
    limit: str | None = None,
    cursor: str | None = None,
    action: str | None = None,
    target_user_id: str | None = None,
    actor_user_id: str | None = None,
) -> Response[bytes]:
    size = page_size(limit, DEFAULT_PAGE, MAX_PAGE)
    position = decode_cursor(cursor) if cursor is not None else None
    if cursor is not None and position is None:
        raise SchemaError(message="cursor is not a cursor this listing returned")
    filters = {
        "action": _action(action),
        "target_user_id": _uuid(target_user_id, "target_user_id"),
        "actor_user_id": _uuid(actor_user_id, "actor_user_id"),
    }
    await limits.limit(request, "audit_log_read", project_id=auth.project.id)
    rows, next_cursor = await audit_log.list_entries(
        deps, auth.project, limit=size, cursor=position, **filters
    )
    return list_response((row.json() for row in rows), next_cursor=next_cursor)
