"""FastAPI: a dependency giving the signed-in user's verified claims, or answering 401.

    from typing import Annotated
    from fastapi import Depends, FastAPI
    from authstack_sdk import AccessTokenClaims, AccessTokenVerifier
    from authstack_sdk.integrations.fastapi import current_user

    verifier = AccessTokenVerifier("https://api.example.com", "<project id>")
    User = Annotated[AccessTokenClaims, Depends(current_user(verifier))]

    app = FastAPI()

    @app.get("/me")
    async def me(user: User) -> dict[str, str]:
        return {"user_id": user.user_id}

The token is read from the ``x-stack-access-token`` header, ``Authorization: Bearer``, the JS
SDK's ``x-stack-auth`` header (``user.getAuthHeaders()``) or its access-token cookie. A missing
or bad token answers 401 with ``{"detail": {"code", "error"}}`` (403 for a restricted user when
they are not allowed, 503 if the project's keys cannot be fetched).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request

from authstack_sdk.claims import AccessTokenClaims
from authstack_sdk.integrations._common import access_token_from, error_body, error_headers
from authstack_sdk.token_errors import MissingTokenError, TokenVerificationError
from authstack_sdk.verify import AccessTokenVerifier


def _http_error(error: TokenVerificationError) -> HTTPException:
    return HTTPException(error.status, detail=error_body(error), headers=error_headers(error))


async def _claims_of(
    request: Request,
    verifier: AccessTokenVerifier,
    allow_anonymous: bool | None,
    allow_restricted: bool | None,
) -> AccessTokenClaims | None:
    token = access_token_from(request.headers.get, request.cookies)
    if token is None:
        return None
    try:
        return await verifier.verify_access_token_async(
            token, allow_anonymous=allow_anonymous, allow_restricted=allow_restricted
        )
    except TokenVerificationError as error:
        raise _http_error(error) from None


def current_user(
    verifier: AccessTokenVerifier,
    *,
    allow_anonymous: bool | None = None,
    allow_restricted: bool | None = None,
) -> Callable[[Request], Awaitable[AccessTokenClaims]]:
    """A dependency returning the request's verified claims; 401 when there is no token or a bad
    one. ``allow_*`` override the verifier's defaults for the routes using it."""

    async def dependency(request: Request) -> AccessTokenClaims:
        claims = await _claims_of(request, verifier, allow_anonymous, allow_restricted)
        if claims is None:
            raise _http_error(MissingTokenError("sign in first: no access token was sent"))
        return claims

    return dependency


def optional_user(
    verifier: AccessTokenVerifier,
    *,
    allow_anonymous: bool | None = None,
    allow_restricted: bool | None = None,
) -> Callable[[Request], Awaitable[AccessTokenClaims | None]]:
    """As current_user, but None when no token was sent (a bad token still answers 401)."""

    async def dependency(request: Request) -> AccessTokenClaims | None:
        return await _claims_of(request, verifier, allow_anonymous, allow_restricted)

    return dependency
