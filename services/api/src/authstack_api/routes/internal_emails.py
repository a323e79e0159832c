"""``GET /internal/emails``: the dashboard's list of the project's mail, newest first."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from authstack_api.auth import AdminAuth
from authstack_api.paging import PAGE, PageQuery
from authstack_api.responses import list_response
from authstack_core.domain import emails
from authstack_core.domain.context import Deps
from authstack_core.errors import SchemaError
from authstack_core.models.emails import MANUALLY_CANCELLED, SIMPLE_STATUS_OF, OutboxRow
from authstack_core.models.shapes import millis

DEFAULT_PAGE = 100  # upstream lists the newest 100
MAX_PAGE = 200


def sent_email_json(row: OutboxRow) -> dict[str, Any]:
    """Upstream's sent-email entry (``to`` names the user while the address is not resolved
    yet), then the row's status and what was recorded of its delivery."""
    if row.recipient:
        to = [row.recipient]
    elif row.to_email:
        to = [row.to_email]
    else:
        to = [f"User ID: {row.to_user_id}"]
    sent_at = row.sent_at or row.finished_at or row.created_at
    return {
        "id": str(row.id),
        "subject": row.subject or "",
        "sent_at_millis": millis(sent_at),
        "to": to,
        "error": row.error,
        "status": row.wire_status,
        "simple_status": SIMPLE_STATUS_OF[row.status],
        "recipient": row.recipient,
        "template_id": row.template,
        "created_at_millis": millis(row.created_at),
        "attempt_count": row.attempt_count,
        "skipped_reason": (MANUALLY_CANCELLED if row.status == "cancelled" else row.skipped_reason),
    }


@get("/api/v1/internal/emails", dependencies=PAGE)
async def list_emails(auth: AdminAuth, deps: Deps, page: PageQuery) -> Response[bytes]:
    """The project's emails, newest first: subject, recipient, status, when sent, last error."""
    if page.limit is not None and not 1 <= page.limit <= MAX_PAGE:
        raise SchemaError(message=f"limit must be between 1 and {MAX_PAGE}")
    found = await emails.list_outbox(
        deps,
        auth.project,
        limit=page.limit or DEFAULT_PAGE,
        cursor=page.checked_cursor(),
        status=None,
    )
    return list_response((sent_email_json(r) for r in found.items), next_cursor=found.next_cursor)
