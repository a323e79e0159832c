"""Sending emails (``/emails/send-email``, the sign-in invitation) and the outbox with honest
statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Response, get, post
from msgspec import Meta

from authstack_api.auth import HttpRequest, ServerAuth
from authstack_api.ids import check_uuid
from authstack_api.limits import limit
from authstack_api.paging import PAGE, PageQuery
from authstack_api.responses import SUCCESS, json_response, list_response
from authstack_api.schemas import EmailCallbackBody, Strict
from authstack_core.domain import emails
from authstack_core.domain.context import Deps
from authstack_core.email_address import EmailError, email_key, normalize_email
from authstack_core.errors import SchemaError, StatusError
from authstack_core.models.emails import SIMPLE_STATUSES, STATUS_FILTERS, StatusFilter
from authstack_core.models.notifications import (
    TRANSACTIONAL,
    NotificationCategory,
    category_by_name,
)

MAX_PAGE = 200
MAX_SCHEDULE_AHEAD = timedelta(days=365)
Text = Annotated[str, Meta(max_length=500)]
Address = Annotated[str, Meta(max_length=256)]  # normalised in _recipients


class SendEmailBody(Strict):
    user_ids: Annotated[list[str], Meta(max_length=10_000)] | None = None
    all_users: bool | None = None
    # Not upstream's: explicit addresses (Transactional mail only: an address has no
    # preferences to honour and no user an unsubscribe link could name).
    emails: Annotated[list[Address], Meta(max_length=10_000)] | None = None
    html: Annotated[str, Meta(max_length=1_000_000)] | None = None
    template_id: Annotated[str, Meta(max_length=64)] | None = None
    variables: dict[str, Any] | None = None
    draft_id: str | None = None
    subject: Text | None = None
    notification_category_name: Text | None = None
    theme_id: Text | None = None
    is_high_priority: bool | None = None
    scheduled_at_millis: int | None = None


def _recipients(data: SendEmailBody) -> emails.Recipients:
    given = [data.user_ids is not None, data.all_users is True, data.emails is not None]
    if sum(given) != 1:
        raise SchemaError(message="send exactly one of user_ids, all_users: true or emails")
    for i, user_id in enumerate(data.user_ids or []):
        check_uuid(user_id, f"user_ids[{i}]")
    addresses: dict[str, str] = {}  # one mail per address, however it was spelled
    for i, address in enumerate(data.emails or []):
        try:
            normalized = normalize_email(address)
        except EmailError as exc:
            raise SchemaError(message=f"emails[{i}] must be a valid email ({exc})") from None
        addresses.setdefault(email_key(normalized), normalized)
    return emails.Recipients(
        user_ids=data.user_ids,
        all_users=data.all_users is True,
        emails=list(addresses.values()) if data.emails is not None else None,
    )


def _category(data: SendEmailBody, to: emails.Recipients) -> NotificationCategory:
    if data.notification_category_name is None:
        return TRANSACTIONAL
    category = category_by_name(data.notification_category_name)
    if category is None:
        raise StatusError(400, "Notification category not found with given name")
    if category.can_disable and to.emails is not None:
        raise SchemaError(
            message=f"{category.name} mail goes to users (user_ids or all_users), whose "
            "preferences it honours; emails takes Transactional mail only"
        )
    return category


@post("/api/v1/emails/send-email", status_code=200)
async def send_email(auth: ServerAuth, deps: Deps, data: SendEmailBody) -> Response[bytes]:
    """Queue an email per user (or per address of ``emails``); needs the project's own SMTP
    server. ``notification_category_name`` (default Transactional): a user who turned Marketing
    off is skipped, and each Marketing mail carries a one-click unsubscribe link. ``theme_id`` is
    accepted and has no effect yet."""
    to = _recipients(data)
    contents = [v for v in (data.html, data.template_id, data.draft_id) if v is not None]
    if len(contents) != 1:
        raise SchemaError(message="send exactly one of html, template_id or draft_id")
    if data.draft_id is not None:
        raise SchemaError(message="draft_id: email drafts are not supported yet")
    if data.html is not None and not (data.subject or "").strip():
        raise SchemaError(message="subject is required with html")
    category = _category(data, to)
    scheduled_at = None
    if data.scheduled_at_millis is not None:
        try:
            scheduled_at = datetime.fromtimestamp(data.scheduled_at_millis / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise SchemaError(message="scheduled_at_millis is out of range") from None
        if scheduled_at > datetime.now(UTC) + MAX_SCHEDULE_AHEAD:
            raise SchemaError(message="scheduled_at_millis is more than a year ahead")
    queued = await emails.send_email(
        deps,
        auth.project,
        to=to,
        html=data.html,
        template_id=data.template_id,
        variables=data.variables or {},
        subject=data.subject,
        is_high_priority=bool(data.is_high_priority),
        scheduled_at=scheduled_at,
        notification_category=category,
    )
    key = "user_email" if to.emails is not None else "user_id"
    return json_response({"results": [{key: q} for q in queued]})


@post("/api/v1/internal/send-sign-in-invitation", status_code=200)
async def send_sign_in_invitation(
    auth: ServerAuth, deps: Deps, request: HttpRequest, data: EmailCallbackBody
) -> Response[bytes]:
    """Email ``email`` an invitation to sign in, its button opening ``callback_url`` (a trusted
    URL of the project). Transactional; through the project's server or the shared one."""
    await limit(request, "sign_in_invitation", recipient=data.email)
    await emails.send_sign_in_invitation(
        deps, auth.project, email=data.email, callback_url=data.callback_url
    )
    return json_response(SUCCESS)


def _status_filter(
    name: str, value: str | None, known: dict[str, StatusFilter]
) -> StatusFilter | None:
    if value is not None and value not in known:
        raise SchemaError(message=f"{name} must be one of {', '.join(sorted(known))}")
    return None if value is None else known[value]


@get("/api/v1/emails/outbox", dependencies=PAGE)
async def list_outbox(
    auth: ServerAuth,
    deps: Deps,
    page: PageQuery,
    status: str | None = None,
    simple_status: str | None = None,
) -> Response[bytes]:
    """The project's emails, newest first, each with its delivery status and last error.
    ``status`` takes upstream's statuses and this outbox's stored ones; ``simple_status``
    upstream's in-progress / ok / error."""
    if page.limit is not None and not 1 <= page.limit <= MAX_PAGE:
        raise SchemaError(message=f"limit must be between 1 and {MAX_PAGE}")
    wanted = _status_filter("status", status, STATUS_FILTERS)
    simple = _status_filter("simple_status", simple_status, SIMPLE_STATUSES)
    if wanted and simple:
        stored = tuple(s for s in wanted.stored if s in simple.stored)
        wanted = StatusFilter(stored, wanted.due)
    found = await emails.list_outbox(
        deps,
        auth.project,
        limit=page.limit or 50,
        cursor=page.checked_cursor(),
        status=wanted or simple,
    )
    return list_response((row.json() for row in found.items), next_cursor=found.next_cursor)


@get("/api/v1/emails/outbox/{outbox_id:str}")
async def get_outbox(auth: ServerAuth, deps: Deps, outbox_id: str) -> Response[bytes]:
    row = await emails.get_outbox(deps, auth.project, check_uuid(outbox_id, "outbox_id"))
    if row is None:
        raise StatusError(404, "Email not found in this project's outbox.")
    return json_response(row.json())
