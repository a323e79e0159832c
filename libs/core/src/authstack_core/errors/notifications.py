"""Errors of notification preferences (``/emails/notification-preference``)."""

# ruff: noqa: N818

from authstack_core.errors.base import PlainError


class NotificationCategoryNotFound(
    PlainError, status=404, message="Notification category not found."
):
    """An id that names none of the categories (upstream answers the same 404 text)."""


class NotificationCategoryCannotBeDisabled(
    PlainError,
    status=400,
    message="This notification category cannot be disabled: its emails are always sent.",
):
    """Turning Transactional off (upstream stores it and ignores it when sending; refusing says
    what will happen)."""
