"""Email OTP / magic-link sign-in."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from authstack_api.auth import authenticate, deps_of, require
from authstack_api.limits import limit
from authstack_api.responses import json_response
from authstack_api.schemas import CodeBody, Email, Strict, Url
from authstack_core.domain import otp
from authstack_core.redirects import require_trusted_redirect


class SendSignInCodeBody(Strict):
    email: Email
    callback_url: Url
    bot_challenge_token: str | None = None
    bot_challenge_phase: str | None = None
    bot_challenge_unavailable: str | None = None


@post("/api/v1/auth/otp/send-sign-in-code", status_code=200)
async def send_sign_in_code(
    request: Request[Any, Any, Any], data: SendSignInCodeBody
) -> Response[bytes]:
    """Email a magic link and a six-character code; the answer holds the code's nonce."""
    await limit(request, "otp_send", recipient=data.email)
    auth = require(await authenticate(request), "client", "server", "admin")
    callback_url = require_trusted_redirect(auth.project.config, data.callback_url)
    nonce = await otp.send_sign_in_code(
        deps_of(request), auth.project, email=data.email, callback_url=callback_url
    )
    return json_response({"nonce": nonce})


@post("/api/v1/auth/otp/sign-in", status_code=200)
async def sign_in(request: Request[Any, Any, Any], data: CodeBody) -> Response[bytes]:
    """Sign in (or up) with the link's code, or with ``lower(otp) + nonce``."""
    await limit(request, "otp_check")
    auth = require(await authenticate(request), "client", "server", "admin")
    result = await otp.sign_in(deps_of(request), auth.project, data.code)
    return json_response(result.json())


@post("/api/v1/auth/otp/sign-in/check-code", status_code=200)
async def check_code(request: Request[Any, Any, Any], data: CodeBody) -> Response[bytes]:
    await limit(request, "otp_check")
    auth = require(await authenticate(request), "client", "server", "admin")
    await otp.check(deps_of(request), auth.project, data.code)
    return json_response({"is_code_valid": True})
