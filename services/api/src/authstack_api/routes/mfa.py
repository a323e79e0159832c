"""TOTP multi-factor sign-in: the second step after a first factor answered MFA-required."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Response, post
from msgspec import Meta

from authstack_api.auth import AnyAuth, HttpRequest
from authstack_api.limits import cleared, limit
from authstack_api.responses import json_response
from authstack_api.schemas import Strict, VerificationCode
from authstack_core.domain import mfa
from authstack_core.domain.context import Deps


class MfaSignInBody(Strict):
    type: Literal["totp"]
    totp: Annotated[str, Meta(pattern=r"^[0-9]{6}$")]
    code: VerificationCode


@post("/api/v1/auth/mfa/sign-in", status_code=200)
async def sign_in(
    auth: AnyAuth, deps: Deps, request: HttpRequest, data: MfaSignInBody
) -> Response[bytes]:
    """Exchange the attempt code of MULTI_FACTOR_AUTHENTICATION_REQUIRED and a TOTP for tokens."""
    # Guesses are counted per user, across every attempt code the user's password can fetch;
    # an unknown code is counted under one bucket per project (and per IP, as always).
    owner = await mfa.attempt_owner(deps, auth.project, data.code)
    account = owner or "unknown-attempt-code"
    await limit(request, "mfa_sign_in", account=account)
    result = await mfa.sign_in(deps, auth.project, code=data.code, totp=data.totp)
    await cleared(request, "mfa_sign_in", account=account)
    return json_response(result.json())
