"""Email outbox and template records, and their wire shapes."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from authstack_core.models.shapes import millis

OutboxStatus = Literal["pending", "sending", "retry_scheduled", "sent", "failed", "skipped"]
# The coarse status upstream's dashboard shows next to the detailed one.
SIMPLE_STATUS: dict[str, str] = {
    "pending": "in-progress",
    "sending": "in-progress",
    "retry_scheduled": "in-progress",
    "sent": "ok",
    "failed": "error",
    "skipped": "ok",
}
CUSTOM_HTML = "custom_html"  # the template of a send-email with literal HTML


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

    def json(self) -> dict[str, Any]:
        to: dict[str, Any] = (
            {"type": "user-primary-email", "user_id": str(self.to_user_id)}
            if self.to_email is None
            else {"type": "custom-emails", "emails": [self.to_email]}
        )
        if self.to_email is not None and self.to_user_id is not None:
            to["user_id"] = str(self.to_user_id)
        waiting = self.status in ("pending", "retry_scheduled")
        return {
            "id": str(self.id),
            "template_id": self.template,
            "to": to,
            "recipient": self.recipient,
            "subject": self.subject,
            "is_high_priority": self.is_high_priority,
            "status": self.status,
            "simple_status": SIMPLE_STATUS[self.status],
            "attempt_count": self.attempt_count,
            "scheduled_at_millis": millis(self.scheduled_at),
            "next_attempt_at_millis": millis(self.next_attempt_at) if waiting else None,
            "sent_at_millis": _ms(self.sent_at),
            "finished_at_millis": _ms(self.finished_at),
            "smtp_response": self.smtp_response,
            "error": self.error,
            "skipped_reason": self.skipped_reason,
            "created_at_millis": millis(self.created_at),
            "updated_at_millis": millis(self.updated_at),
        }


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

    @property
    def pool_key(self) -> tuple[str, int, str | None, str, bool]:
        """Connections are shared only between identical logins: never lend a session that
        one project's credentials opened to another project's (wrong or absent) ones."""
        secret = hashlib.sha256((self.password or "").encode()).hexdigest()
        return (self.host, self.port, self.username, secret, self.implicit_tls)
