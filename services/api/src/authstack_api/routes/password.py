"""Password sign-up and sign-in, reset by emailed code, change and first password."""

from __future__ import annotations

from litestar import Response, post

from authstack_api.auth import AnyAuth, HttpRequest, SchemaUserAuth
from authstack_api.limits import Limit, cleared, limit
from authstack_api.middleware import proxy_country
from authstack_api.responses import SUCCESS, json_response
from authstack_api.schemas import (
    CodeBody,
    EmailCallbackBody,
    Password,
    SignInBody,
    SignUpBody,
    Strict,
    VerificationCode,
)
from authstack_core.domain import accounts, passwords
from authstack_core.domain.context import Deps
from authstack_core.redirects import require_trusted_redirect


@post("/api/v1/auth/password/sign-up", status_code=200, opt={"limit": Limit("password_sign_up")})
async def sign_up(
    auth: AnyAuth, deps: Deps, request: HttpRequest, data: SignUpBody
) -> Response[bytes]:
    callback_url = require_trusted_redirect(auth.project.config, data.verification_callback_url)
    anonymous = auth.user.user_id if auth.user and auth.user.is_anonymous else None
    session = await accounts.sign_up_with_password(
        deps,
        auth.project,
        email=data.email,
        password=data.password,
        anonymous_user_id=anonymous,
        verification_callback_url=callback_url,
        country_code=proxy_country(request.headers),
    )
    return json_response(session.json())


# Every admitted attempt counts against the account until it succeeds, so guesses slow down per
# account whatever address they come from (see ratelimit: the failure gate).
@post(
    "/api/v1/auth/password/sign-in",
    status_code=200,
    opt={"limit": Limit("password_sign_in", account="data.email")},
)
async def sign_in(
    auth: AnyAuth, deps: Deps, request: HttpRequest, data: SignInBody
) -> Response[bytes]:
    session = await accounts.sign_in_with_password(
        deps, auth.project, email=data.email, password=data.password
    )
    await cleared(request, "password_sign_in", account=data.email)
    return json_response(session.json())


class ResetBody(Strict):
    code: VerificationCode
    password: Password


class UpdatePasswordBody(Strict):
    old_password: Password
    new_password: Password


class SetPasswordBody(Strict):
    password: Password


@post(
    "/api/v1/auth/password/send-reset-code",
    status_code=200,
    opt={"limit": Limit("password_reset_send", recipient="data.email")},
)
async def send_reset_code(auth: AnyAuth, deps: Deps, data: EmailCallbackBody) -> Response[bytes]:
    """The same answer, no sooner than a fixed floor, whether or not the email has an account."""
    callback_url = require_trusted_redirect(auth.project.config, data.callback_url)
    await passwords.send_reset_code(deps, auth.project, email=data.email, callback_url=callback_url)
    return json_response(passwords.RESET_SENT_ANSWER)


_RESET = {"limit": Limit("password_reset")}


@post("/api/v1/auth/password/reset", status_code=200, opt=_RESET)
async def reset_password(auth: AnyAuth, deps: Deps, data: ResetBody) -> Response[bytes]:
    await passwords.reset_password(deps, auth.project, code=data.code, password=data.password)
    return json_response(SUCCESS)


@post("/api/v1/auth/password/reset/check-code", status_code=200, opt=_RESET)
async def check_reset_code(auth: AnyAuth, deps: Deps, data: CodeBody) -> Response[bytes]:
    await passwords.check_reset_code(deps, auth.project, data.code)
    return json_response({"is_code_valid": True})


@post("/api/v1/auth/password/update", status_code=200)
async def update_password(
    auth: SchemaUserAuth, deps: Deps, request: HttpRequest, data: UpdatePasswordBody
) -> Response[bytes]:
    """Change the password; every other session ends (the one in x-stack-refresh-token stays).

    Wrong old passwords are slowed per user (password_update.account), as sign-in's are."""
    user_id = auth.user.user_id
    await limit(request, "password_update", account=user_id)
    await passwords.update_password(
        deps,
        auth.project,
        user_id=user_id,
        old_password=data.old_password,
        new_password=data.new_password,
        refresh_token=request.headers.get("x-stack-refresh-token"),
    )
    await cleared(request, "password_update", account=user_id)
    return json_response(SUCCESS)


@post("/api/v1/auth/password/set", status_code=200)
async def set_password(
    auth: SchemaUserAuth, deps: Deps, request: HttpRequest, data: SetPasswordBody
) -> Response[bytes]:
    """Set a first password; every other session ends (the one in x-stack-refresh-token stays)."""
    await passwords.set_password(
        deps,
        auth.project,
        user_id=auth.user.user_id,
        password=data.password,
        refresh_token=request.headers.get("x-stack-refresh-token"),
    )
    return json_response(SUCCESS)
