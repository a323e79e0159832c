"""The one-line rate-limit hook handlers call first: ``await limit(request, "otp_send", ...)``.

Rules live in ``authstack_core.ratelimit``; a refusal raises RateLimitedError, which the error
handler answers with 429 and ``Retry-After``. A handler that counts failures (a failure gate on
``account``) calls ``await cleared(request, action, account=...)`` after a success.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from authstack_api.auth import _PROJECT_ID
from authstack_core.ratelimit import RateLimiter


def limiter_of(request: Request[Any, Any, Any]) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


def _project(request: Request[Any, Any, Any], project_id: str | None) -> str | None:
    # Read before authentication, so that refused requests cost no database query. The header is
    # only a bucket name here; authentication checks it right after.
    value = project_id if project_id is not None else request.headers.get("x-stack-project-id")
    if value is None or not _PROJECT_ID.match(value):
        return None
    branch = request.headers.get("x-stack-branch-id") or "main"
    return value if branch == "main" else f"{value}#{branch[:64]}"


async def limit(
    request: Request[Any, Any, Any],
    action: str,
    *,
    account: str | None = None,
    recipient: str | None = None,
    project_id: str | None = None,
) -> None:
    """Count one attempt at ``action`` by this client; raise RateLimitedError when a rule refuses.

    ``account``: the account the attempt targets (an email, a user id); ``recipient``: where an
    email will go. ``project_id`` defaults to the request's x-stack-project-id header.
    """
    client = request.scope.get("client")
    await limiter_of(request).check(
        action,
        ip=client[0] if client else None,
        project=_project(request, project_id),
        account=account,
        recipient=recipient,
    )


async def cleared(
    request: Request[Any, Any, Any],
    action: str,
    *,
    account: str,
    project_id: str | None = None,
) -> None:
    """After a success (right password, right code): forget ``account``'s counted failures."""
    await limiter_of(request).clear(action, project=_project(request, project_id), account=account)
