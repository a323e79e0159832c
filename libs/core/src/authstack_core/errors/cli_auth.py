"""CLI sign-in (``/auth/cli*``). The plain texts are upstream's; the browser's steps answer one
text for a login code that is unknown, expired or already completed, as upstream does.

The SDK's own CLI_AUTH_ERROR, CLI_AUTH_EXPIRED_ERROR and CLI_AUTH_USED_ERROR are built by
``promptCliLogin`` from the poll's statuses; the server never sends them, so they are not here.
"""

# Named like the other areas' errors (no Error suffix).
# ruff: noqa: N818

from __future__ import annotations

from authstack_core.errors.base import KnownError, PlainError


class InvalidPollingCode(
    KnownError,
    code="INVALID_POLLING_CODE",
    status=400,
    message="The polling code is invalid or does not exist.",
):
    pass


class CliLoginCodeInvalid(
    PlainError, status=400, message="Invalid login code or the code has expired"
):
    pass


class CliAnonRefreshTokenInvalid(PlainError, status=400, message="Invalid anon refresh token"):
    pass


class CliAnonRefreshTokenNotAnonymous(
    PlainError,
    status=400,
    message="The provided refresh token does not belong to an anonymous user",
):
    pass


class CliNoAnonymousSession(
    PlainError, status=400, message="No anonymous session associated with this code"
):
    pass


class CliRefreshTokenRequired(
    PlainError, status=400, message="refresh_token is required when mode is 'complete'"
):
    pass


class CliRefreshTokenInvalid(PlainError, status=400, message="Invalid refresh token"):
    pass
