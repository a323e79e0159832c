"""Rate-limit hooks: ``opt={"limit": Limit("otp_send", recipient="data.email")}`` on a handler
counts an attempt before authentication; ``await limit(request, "mfa_sign_in", ...)`` in a handler
counts one where it stands.

Rules live in ``authstack_core.ratelimit``; a refusal raises RateLimitedError, which the error
handler answers with 429 and ``Retry-After``. A handler that counts failures (a failure gate on
``account``) calls ``await cleared(request, action, account=...)`` after a success.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authstack_api.auth import HttpRequest, is_project_id
from authstack_core.ratelimit import RateLimiter


@dataclass(frozen=True, slots=True)
class Limit:
    """A handler's ``opt["limit"]``: ``action`` counted before authentication, so that refused
    requests cost no database query. ``account`` and ``recipient`` name a validated argument of
    the handler, or an attribute of one (``"data.email"``)."""

    action: str
    account: str | None = None
    recipient: str | None = None

    def argument_names(self) -> list[str]:
        """The handler arguments this limit reads."""
        return [path.partition(".")[0] for path in (self.account, self.recipient) if path]

    async def count(self, request: HttpRequest, arguments: Mapping[str, Any]) -> None:
        await limit(
            request,
            self.action,
            account=_argument(arguments, self.account),
            recipient=_argument(arguments, self.recipient),
        )


def _argument(arguments: Mapping[str, Any], path: str | None) -> str | None:
    if path is None:
        return None
    name, _, attribute = path.partition(".")
    value = arguments[name]
    if attribute:
        value = getattr(value, attribute)
    return None if value is None else str(value)


def limiter_of(request: HttpRequest) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


def _project(request: HttpRequest, project_id: str | None) -> str | None:
    # Read before authentication, so that refused requests cost no database query. The header is
    # only a bucket name here; authentication checks it right after.
    value = project_id if project_id is not None else request.headers.get("x-stack-project-id")
    if value is None or not is_project_id(value):
        return None
    branch = request.headers.get("x-stack-branch-id") or "main"
    return value if branch == "main" else f"{value}#{branch[:64]}"


async def limit(
    request: HttpRequest,
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
    request: HttpRequest,
    action: str,
    *,
    account: str,
    project_id: str | None = None,
) -> None:
    """After a success (right password, right code): forget ``account``'s counted failures."""
    await limiter_of(request).clear(action, project=_project(request, project_id), account=account)
