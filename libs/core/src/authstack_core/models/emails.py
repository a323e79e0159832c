"""Email outbox and template records, and their wire shapes."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

import msgspec
from msgspec import UNSET, UnsetType

from authstack_core.models.shapes import millis

OutboxStatus = Literal[
    "pending", "sending", "retry_scheduled", "sent", "failed", "skipped", "paused", "cancelled"
]
CUSTOM_HTML = "custom_html"  # the template of a send-email with literal HTML
# Why an email was not sent: upstream's EmailOutboxSkippedReason codes.
USER_ACCOUNT_DELETED = "USER_ACCOUNT_DELETED"
USER_HAS_NO_PRIMARY_EMAIL = "USER_HAS_NO_PRIMARY_EMAIL"
# A cancelled row is upstream's SKIPPED with this reason on the wire (stored: status 'cancelled').
MANUALLY_CANCELLED = "MANUALLY_CANCELLED"
USER_UNSUBSCRIBED = "USER_UNSUBSCRIBED"  # the user turned the mail's category off


@dataclass(frozen=True, slots=True)
class StatusFilter:
    """The stored statuses a listing's ``status`` names, and whether their time must have come
    (None: either)."""

    stored: tuple[str, ...]
    due: bool | None = None


# The statuses of the wire (upstream's email-outbox.ts), each as the stored ones it covers. A row
# waiting for its time is "scheduled", then "queued" (again between retries); one that failed for
# good is a "server-error"; a cancelled one is "skipped". The stored names are accepted too.
WIRE_STATUSES: dict[str, StatusFilter] = {
    "paused": StatusFilter(("paused",)),
    "scheduled": StatusFilter(("pending",), due=False),
    "queued": StatusFilter(("pending", "retry_scheduled"), due=True),
    "sending": StatusFilter(("sending",)),
    "sent": StatusFilter(("sent",)),
    "server-error": StatusFilter(("failed",)),
    "skipped": StatusFilter(("skipped", "cancelled")),
}
STATUS_FILTERS: dict[str, StatusFilter] = {
    **{stored: StatusFilter((stored,)) for stored in get_args(OutboxStatus)},
    **WIRE_STATUSES,  # "skipped" covers cancelled rows too, as upstream's SKIPPED does
}
SIMPLE_STATUSES: dict[str, StatusFilter] = {
    "in-progress": StatusFilter(("pending", "sending", "retry_scheduled", "paused")),
    "ok": StatusFilter(("sent", "skipped", "cancelled")),
    "error": StatusFilter(("failed",)),
}
SIMPLE_STATUS_OF = {stored: simple for simple, f in SIMPLE_STATUSES.items() for stored in f.stored}


def _ms(at: datetime | None) -> int | None:
    return millis(at) if at is not None else None


@dataclass(slots=True)
class OutboxRow:
    """An outbox row as the admin listing shows it (no content: links carry live codes)."""

    id: uuid.UUID
    template: str
    to_user_id: uuid.UUID | None
    to_email: str | None
    is_high_priority: bool
    status: str
    is_due: bool  # scheduled_at has come
    scheduled_at: datetime
    next_attempt_at: datetime
    attempt_count: int
    recipient: str | None
    subject: str | None
    smtp_response: str | None
    error: str | None
    skipped_reason: str | None
    sent_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def wire_status(self) -> str:
        if self.status == "pending":
            return "queued" if self.is_due else "scheduled"
        return next(w for w, f in WIRE_STATUSES.items() if self.status in f.stored)

    def json(self) -> dict[str, Any]:
        """Upstream's outbox entry (the fields its status carries that this outbox knows; the
        content is left out), then this outbox's own account of the attempts."""
        to: dict[str, Any] = (
            {"type": "user-primary-email", "user_id": str(self.to_user_id)}
            if self.to_email is None
            else {"type": "custom-emails", "emails": [self.to_email]}
        )
        if self.to_email is not None and self.to_user_id is not None:
            to["user_id"] = str(self.to_user_id)
        waiting = self.status in ("pending", "retry_scheduled")
        out: dict[str, Any] = {
            "id": str(self.id),
            "created_at_millis": millis(self.created_at),
            "updated_at_millis": millis(self.updated_at),
            "theme_id": None,
            "to": to,
            "skip_deliverability_check": True,  # no deliverability check runs here
            "scheduled_at_millis": millis(self.scheduled_at),
            "created_with": "programmatic-call",
            "email_draft_id": None,
            "email_programmatic_call_template_id": (
                None if self.template == CUSTOM_HTML else self.template
            ),
            "send_retries": max(self.attempt_count - 1, 0),
            "next_send_retry_at_millis": (
                millis(self.next_attempt_at) if self.status == "retry_scheduled" else None
            ),
            "send_attempt_errors": None,
            "status": self.wire_status,
            "simple_status": SIMPLE_STATUS_OF[self.status],
            "is_paused": self.status == "paused",
            "has_rendered": self.subject is not None,
            "has_delivered": self.status == "sent",
            "is_high_priority": self.is_high_priority,
        }
        if self.subject is not None:
            out.update(subject=self.subject, html=None, text=None)
        out.update(self._status_fields())
        out.update(
            template_id=self.template,
            recipient=self.recipient,
            attempt_count=self.attempt_count,
            next_attempt_at_millis=millis(self.next_attempt_at) if waiting else None,
            sent_at_millis=_ms(self.sent_at),
            finished_at_millis=_ms(self.finished_at),
            smtp_response=self.smtp_response,
            error=self.error,
            skipped_reason=(
                MANUALLY_CANCELLED if self.status == "cancelled" else self.skipped_reason
            ),
        )
        return out

    def _status_fields(self) -> dict[str, Any]:
        """What upstream's entry of this status adds. The start of sending is the time the last
        attempt began (``updated_at`` while it runs) or ended: no finer time is kept."""
        if self.status == "sending":
            return {"started_sending_at_millis": millis(self.updated_at)}
        if self.status == "sent":
            sent = _ms(self.sent_at)
            return {
                "started_sending_at_millis": sent,
                "delivered_at_millis": sent,
                "can_have_delivery_info": False,  # plain SMTP reports no opens or clicks
            }
        if self.status == "failed":
            failed = _ms(self.finished_at)
            return {
                "started_sending_at_millis": failed,
                "error_at_millis": failed,
                "server_error": self.error,
            }
        if self.status in ("skipped", "cancelled"):
            return {"skipped_at_millis": _ms(self.finished_at), "skipped_details": {}}
        return {}


@dataclass(slots=True)
class ClaimedRow:
    """A row just moved to 'sending', with everything needed to render and address it."""

    id: uuid.UUID
    tenancy_id: uuid.UUID
    template: str
    to_user_id: uuid.UUID | None
    to_email: str | None
    content_sealed: bytes | None
    subject: str | None
    attempt_count: int
    project_id: str
    project_display_name: str
    config_override: dict[str, Any]  # the project level, then the tenancy's two levels
    branch_config_override: dict[str, Any]
    environment_config_override: dict[str, Any]
    user_exists: bool
    user_display_name: str | None
    user_primary_email: str | None
    override_subject: str | None
    override_html: str | None
    override_text: str | None
    override_exists: bool
    notification_category_id: uuid.UUID
    notification_enabled: bool | None  # the user's choice for that category (None: never chose)


@dataclass(slots=True)
class TemplateRow:
    id: str
    display_name: str
    subject: str
    html: str
    text: str | None
    created_at: datetime
    updated_at: datetime


class TemplateChanges(msgspec.Struct, kw_only=True):
    """An email template PATCH; UNSET keeps what the template (or the built-in) has."""

    display_name: str | UnsetType = UNSET
    subject: str | UnsetType = UNSET
    html: str | UnsetType = UNSET
    text: str | None | UnsetType = UNSET


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """Where and how to deliver: one SMTP server, its credentials, TLS mode and sender."""

    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)
    implicit_tls: bool
    sender: str  # the From header, e.g. '"Acme" <noreply@acme.test>'
    sender_address: str  # the envelope sender
    # A project's own server (chosen by its admin): connect only to public addresses unless
    # STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS. The shared server is the operator's: unchecked.
    public_only: bool = False
    sender_name: str | None = None  # the From header's display name (``sender`` spells both)

    @property
    def pool_key(self) -> tuple[str, int, str | None, str, bool]:
        """Connections are shared only between identical logins: never lend a session that
        one project's credentials opened to another project's (wrong or absent) ones."""
        secret = hashlib.sha256((self.password or "").encode()).hexdigest()
        return (self.host, self.port, self.username, secret, self.implicit_tls)
