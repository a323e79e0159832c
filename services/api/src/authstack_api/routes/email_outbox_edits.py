"""``PATCH /emails/outbox/{id}``: cancel, pause/resume, reschedule or edit a queued email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from litestar import Response, patch
from msgspec import UNSET, Meta, UnsetType

from authstack_api.auth import ServerAuth
from authstack_api.ids import check_uuid
from authstack_api.responses import json_response
from authstack_api.schemas import Strict
from authstack_core.domain import outbox_control
from authstack_core.domain.context import Deps
from authstack_core.domain.outbox_control import OutboxChanges, Recipient
from authstack_core.errors import SchemaError

MAX_SCHEDULE_AHEAD = timedelta(days=365)
_Address = Annotated[str, Meta(max_length=256)]


class RecipientBody(Strict):
    type: Literal["user-primary-email", "user-custom-emails", "custom-emails"]
    user_id: Annotated[str, Meta(max_length=64)] | None = None
    emails: Annotated[list[_Address], Meta(max_length=10)] | None = None


class EditOutboxBody(Strict):
    """Upstream's update schema. ``tsx_source`` carries the HTML of an email sent with ``html``
    (our templates are Jinja2, referenced by id, and not part of a queued email)."""

    tsx_source: Annotated[str, Meta(max_length=1_000_000)] | None = None
    theme_id: str | None | UnsetType = UNSET
    to: RecipientBody | None = None
    variables: dict[str, Any] | None = None
    skip_deliverability_check: bool | None = None  # no deliverability check runs here
    scheduled_at_millis: int | None = None
    is_paused: bool | None = None
    cancel: bool | None = None


def _recipient(body: RecipientBody | None) -> Recipient | None:
    if body is None:
        return None
    wants_user = body.type != "custom-emails"
    wants_emails = body.type != "user-primary-email"
    if wants_user != (body.user_id is not None) or wants_emails != (body.emails is not None):
        raise SchemaError(
            message=f"to: type {body.type} takes "
            + {
                "user-primary-email": "user_id only",
                "user-custom-emails": "user_id and emails",
                "custom-emails": "emails only",
            }[body.type]
        )
    return Recipient(user_id=body.user_id, emails=body.emails)


def _scheduled_at(millis: int | None) -> datetime | None:
    if millis is None:
        return None
    try:
        at = datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise SchemaError(message="scheduled_at_millis is out of range") from None
    if at > datetime.now(UTC) + MAX_SCHEDULE_AHEAD:
        raise SchemaError(message="scheduled_at_millis is more than a year ahead")
    return at


@patch("/api/v1/emails/outbox/{outbox_id:str}")
async def edit_outbox(
    auth: ServerAuth, deps: Deps, outbox_id: str, data: EditOutboxBody
) -> Response[bytes]:
    """Change an email that has not started sending: ``cancel: true`` (it is then skipped with
    reason MANUALLY_CANCELLED), ``is_paused``, ``scheduled_at_millis``, ``variables``, ``to``,
    or ``tsx_source`` (the HTML of an email sent with ``html``). EMAIL_NOT_EDITABLE once it is
    sending or finished."""
    check_uuid(outbox_id, "outbox_id")
    if data.cancel is False:
        raise SchemaError(message="cancel must be true when given")
    if data.theme_id is not UNSET:
        raise SchemaError(message="theme_id: a queued email keeps the theme it was queued with")
    changes = OutboxChanges(
        cancel=data.cancel is True,
        is_paused=data.is_paused,
        scheduled_at=_scheduled_at(data.scheduled_at_millis),
        variables=data.variables,
        html=data.tsx_source,
        to=_recipient(data.to),
    )
    row = await outbox_control.edit_outbox(deps, auth.project, outbox_id, changes)
    return json_response(row.json())
