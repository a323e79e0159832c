"""CLI sign-in (the SDK's ``promptCliLogin``): start, poll, and the browser's completion."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from litestar import Response, post
from msgspec import Meta

from authstack_api.auth import AnyAuth
from authstack_api.limits import Limit
from authstack_api.responses import SUCCESS, json_response
from authstack_api.schemas import Strict
from authstack_core.domain import cli_auth
from authstack_core.domain.context import Deps
from authstack_core.errors import CliRefreshTokenRequired, UserAuthenticationRequired

_MAX_MILLIS = int(cli_auth.MAX_LIFETIME.total_seconds() * 1000)
_DEFAULT_MILLIS = int(cli_auth.DEFAULT_LIFETIME.total_seconds() * 1000)
# Codes and tokens are 45 characters; anything far longer is refused before it is hashed.
Secret = Annotated[str, Meta(max_length=1024)]


class CliStartBody(Strict):
    expires_in_millis: Annotated[int, Meta(ge=1, le=_MAX_MILLIS)] = _DEFAULT_MILLIS
    anon_refresh_token: Secret | None = None


class CliPollBody(Strict):
    polling_code: Secret


class CliCompleteBody(Strict):
    login_code: Secret
    mode: Literal["check", "claim-anon-session", "complete"] = "complete"
    refresh_token: Secret | None = None


@post("/api/v1/auth/cli", status_code=200, opt={"limit": Limit("cli_auth_start")})
async def start(auth: AnyAuth, deps: Deps, data: CliStartBody | None = None) -> Response[bytes]:
    """Returns ``{polling_code, login_code, expires_at}``; 2 h by default, 24 h at most."""
    body = data or CliStartBody()
    attempt = await cli_auth.start(
        deps,
        auth.project,
        lifetime=timedelta(milliseconds=body.expires_in_millis),
        anon_refresh_token=body.anon_refresh_token,
    )
    return json_response(attempt.json())


@post(
    "/api/v1/auth/cli/poll",
    status_code=200,
    opt={"limit": Limit("cli_auth_poll", account="data.polling_code")},
)
async def poll(auth: AnyAuth, deps: Deps, data: CliPollBody) -> Response[bytes]:
    """``{status: waiting|expired|used}`` (200), or ``{status: success, refresh_token}`` with 201,
    which is what the SDK waits for."""
    result = await cli_auth.poll(deps, auth.project, data.polling_code)
    return json_response(result.json(), status=201 if result.status == "success" else 200)


@post("/api/v1/auth/cli/complete", status_code=200, opt={"limit": Limit("cli_auth_complete")})
async def complete(auth: AnyAuth, deps: Deps, data: CliCompleteBody) -> Response[bytes]:
    """The browser's side. ``check``: ``{cli_session_state: anonymous|none}``;
    ``claim-anon-session``: a session of the CLI's anonymous user, for a browser with no user;
    ``complete`` (a signed-in user, with its own refresh token): the CLI signs in as that user.
    """
    if data.mode == "check":
        state = await cli_auth.check(deps, auth.project, data.login_code)
        return json_response({"cli_session_state": state})
    if data.mode == "claim-anon-session":
        issued = await cli_auth.claim_anonymous_session(deps, auth.project, data.login_code)
        return json_response(
            {"access_token": issued.access_token, "refresh_token": issued.refresh_token}
        )
    if auth.user is None:
        raise UserAuthenticationRequired()
    if data.refresh_token is None:
        raise CliRefreshTokenRequired()
    await cli_auth.complete(
        deps,
        auth.project,
        data.login_code,
        user_id=auth.user.user_id,
        refresh_token=data.refresh_token,
    )
    return json_response(SUCCESS)
