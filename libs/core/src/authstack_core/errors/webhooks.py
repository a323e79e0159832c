"""Errors of the webhook admin API (built-in endpoints and the Svix mode)."""

# Named like the other areas' errors (no Error suffix).
# ruff: noqa: N818

from __future__ import annotations

from authstack_core.errors.base import PlainError


class WebhookEndpointNotFound(PlainError, status=404, message="Webhook endpoint not found."):
    pass


class WebhookMessageNotFound(PlainError, status=404, message="Webhook message not found."):
    pass


class WebhookUrlRefused(PlainError, status=400, message="This webhook URL is not allowed."):
    """The URL is not https:// (or http:// where allowed), or names an internal address."""


class SvixUnavailable(PlainError, status=502, message="Svix did not answer the request."):
    """Svix mode: the Svix server refused or failed a request made on this one's behalf."""
