"""Anonymous sign-up: a user with no sign-in method, upgraded later by a real sign-up."""

from __future__ import annotations

from litestar import Response, post

from authstack_api.auth import AnyAuth, HttpRequest
from authstack_api.limits import Limit
from authstack_api.middleware import proxy_country
from authstack_api.responses import json_response
from authstack_core.domain import accounts
from authstack_core.domain.context import Deps


@post(
    "/api/v1/auth/anonymous/sign-up",
    status_code=200,
    opt={"limit": Limit("anonymous_sign_up")},
)
async def sign_up_anonymously(auth: AnyAuth, deps: Deps, request: HttpRequest) -> Response[bytes]:
    """Returns ``{access_token, refresh_token, user_id}``; the token audience is ``<pid>:anon``."""
    country = proxy_country(request.headers)
    session = await accounts.sign_up_anonymously(deps, auth.project, country_code=country)
    return json_response(session.json())
