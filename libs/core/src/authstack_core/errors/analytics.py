"""Known errors of analytics: events and admin SQL (contract §1.7, §4)."""

# Class names are upstream's KnownErrors names (the ones the SDK uses), not Python's *Error style.
# ruff: noqa: N818

from __future__ import annotations

from authstack_core.errors.base import KnownError, PlainError


class AnalyticsNotEnabled(
    KnownError,
    code="ANALYTICS_NOT_ENABLED",
    status=400,
    message=(
        "Analytics is not enabled for this project. Enable the analytics app"
        " (apps.installed.analytics.enabled) to send events."
    ),
):
    pass


class AnalyticsQueryError(
    KnownError, code="ANALYTICS_QUERY_ERROR", status=400, message="The analytics query failed."
):
    # The text is the (sanitised) reason, sent both as the message and as the ``error`` detail.
    def __init__(self, *, error: str) -> None:
        super().__init__(error)
        self.details = {"error": error}


class AnalyticsQueryNotFound(PlainError, status=404, message="Query not found."):
    """``/internal/analytics/query/timing`` for a query id this project did not run (upstream
    answers ITEM_NOT_FOUND, which has no known-error class in the SDK's list we follow)."""
