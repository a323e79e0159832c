"""Email OTP / magic-link sign-in."""

from __future__ import annotations

from litestar import Response, post

from authstack_api.auth import AnyAuth, HttpRequest
from authstack_api.limits import Limit
from authstack_api.middleware import proxy_country
from authstack_api.responses import json_response
from authstack_api.schemas import BotChallenge, CodeBody, Email, Url
from authstack_core.domain import otp
from authstack_core.domain.context import Deps
from authstack_core.redirects import require_trusted_redirect


class SendSignInCodeBody(BotChallenge):
    email: Email
    callback_url: Url


@post(
    "/api/v1/auth/otp/send-sign-in-code",
    status_code=200,
    opt={"limit": Limit("otp_send", recipient="data.email")},
)
async def send_sign_in_code(auth: AnyAuth, deps: Deps, data: SendSignInCodeBody) -> Response[bytes]:
    """Email a magic link and a six-character code; the answer holds the code's nonce."""
    callback_url = require_trusted_redirect(auth.project.config, data.callback_url)
    nonce = await otp.send_sign_in_code(
        deps, auth.project, email=data.email, callback_url=callback_url
    )
    return json_response({"nonce": nonce})


_OTP_CHECK = {"limit": Limit("otp_check")}


@post("/api/v1/auth/otp/sign-in", status_code=200, opt=_OTP_CHECK)
async def sign_in(
    auth: AnyAuth, deps: Deps, request: HttpRequest, data: CodeBody
) -> Response[bytes]:
    """Sign in (or up) with the link's code, or with ``lower(otp) + nonce``."""
    country = proxy_country(request.headers)
    result = await otp.sign_in(deps, auth.project, data.code, country_code=country)
    return json_response(result.json())


@post("/api/v1/auth/otp/sign-in/check-code", status_code=200, opt=_OTP_CHECK)
async def check_code(auth: AnyAuth, deps: Deps, data: CodeBody) -> Response[bytes]:
    await otp.check(deps, auth.project, data.code)
    return json_response({"is_code_valid": True})
