"""Errors of the email outbox and its sending capacity."""

# ruff: noqa: N818

from __future__ import annotations

from authstack_core.errors.base import KnownError


class EmailNotEditable(KnownError):
    """PATCH /emails/outbox/{id} on an email that is sending or finished. ``status`` is upstream's
    name of the email's state (SENDING, SENT, SERVER_ERROR, SKIPPED)."""

    code = "EMAIL_NOT_EDITABLE"
    status = 400
    message = "This email can no longer be edited."

    def __init__(self, *, email_id: str, status: str) -> None:
        super().__init__(
            f"The email {email_id} cannot be edited any more: its status is {status}. Only an "
            "email that has not started sending (scheduled, queued, paused, or waiting for a "
            "retry) can be edited, paused or cancelled."
        )
        self.details = {"email_id": email_id, "status": status}


class EmailCapacityBoostAlreadyActive(KnownError):
    code = "EMAIL_CAPACITY_BOOST_ALREADY_ACTIVE"
    status = 409
    message = "An email capacity boost is already active."

    def __init__(self, *, expires_at: str) -> None:
        super().__init__(f"An email capacity boost is already active until {expires_at}.")
        self.details = {"expires_at": expires_at}
