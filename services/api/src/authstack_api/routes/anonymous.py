"""Anonymous sign-up: a user with no sign-in method, upgraded later by a real sign-up."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from authstack_api.auth import authenticate, deps_of, require
from authstack_api.limits import limit
from authstack_api.responses import json_response
from authstack_core.domain import users


@post("/api/v1/auth/anonymous/sign-up", status_code=200)
async def sign_up_anonymously(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Returns ``{access_token, refresh_token, user_id}``; the token audience is ``<pid>:anon``."""
    await limit(request, "anonymous_sign_up")
    auth = require(await authenticate(request), "client", "server", "admin")
    session = await users.sign_up_anonymously(deps_of(request), auth.project)
    return json_response(session.json())
