"""Sending email to users through the project's own email server."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from authstack_sdk._core import Call


def _recipients(data: Any) -> list[str]:
    return [r.get("user_id") or r.get("user_email") for r in data["results"]]


def send_email(
    *,
    user_ids: Sequence[str] | None = None,
    all_users: bool = False,
    subject: str | None = None,
    html: str | None = None,
    template_id: str | None = None,
    variables: Mapping[str, Any] | None = None,
    notification_category_name: str | None = None,
    theme_id: str | None = None,
    is_high_priority: bool | None = None,
    scheduled_at_millis: int | None = None,
) -> Call[list[str]]:
    """Queue an email to each of ``user_ids`` (or to every user with ``all_users``): ``html``
    with a ``subject``, or a ``template_id`` with ``variables``. The ids of the users it was
    queued for; REQUIRES_CUSTOM_EMAIL_SERVER while the project uses the shared server."""
    body: dict[str, Any] = {}
    if user_ids is not None:
        body["user_ids"] = list(user_ids)
    if all_users:
        body["all_users"] = True
    optional = {
        "subject": subject,
        "html": html,
        "template_id": template_id,
        "variables": dict(variables) if variables is not None else None,
        "notification_category_name": notification_category_name,
        "theme_id": theme_id,
        "is_high_priority": is_high_priority,
        "scheduled_at_millis": scheduled_at_millis,
    }
    body.update({name: value for name, value in optional.items() if value is not None})
    return Call("POST", "/emails/send-email", _recipients, body=body)
