"""Password sign-up and sign-in."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from authstack_api.auth import authenticate, deps_of, require
from authstack_api.responses import json_response
from authstack_api.schemas import SignInBody, SignUpBody
from authstack_core.domain import users
from authstack_core.errors import RedirectUrlNotWhitelisted
from authstack_core.models.config import ProjectConfig
from authstack_core.redirects import is_trusted_redirect


def _check_redirect(config: ProjectConfig, url: str | None) -> None:
    if url is not None and not is_trusted_redirect(config, url):
        raise RedirectUrlNotWhitelisted()


@post("/api/v1/auth/password/sign-up", status_code=200)
async def sign_up(request: Request[Any, Any, Any], data: SignUpBody) -> Response[bytes]:
    auth = require(await authenticate(request), "client", "server", "admin")
    _check_redirect(auth.project.config, data.verification_callback_url)
    anonymous = auth.user.user_id if auth.user and auth.user.is_anonymous else None
    session = await users.sign_up_with_password(
        deps_of(request),
        auth.project,
        email=data.email,
        password=data.password,
        anonymous_user_id=anonymous,
    )
    return json_response(session.json())


@post("/api/v1/auth/password/sign-in", status_code=200)
async def sign_in(request: Request[Any, Any, Any], data: SignInBody) -> Response[bytes]:
    auth = require(await authenticate(request), "client", "server", "admin")
    session = await users.sign_in_with_password(
        deps_of(request), auth.project, email=data.email, password=data.password
    )
    return json_response(session.json())
