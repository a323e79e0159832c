"""Flask: a view decorator that verifies the request's access token into ``g.stack_user``.

    from flask import Flask, g
    from authstack_sdk import AccessTokenVerifier
    from authstack_sdk.integrations.flask import stack_user_required

    verifier = AccessTokenVerifier("https://api.example.com", "<project id>")
    app = Flask(__name__)

    @app.get("/me")
    @stack_user_required(verifier)
    def me():
        return {"user_id": g.stack_user.user_id}

No token, or a bad one, answers 401 with ``{code, error}`` (403 for a restricted user when they
are not allowed, 503 if the project's keys cannot be fetched). ``optional=True`` lets requests
without a token through with ``g.stack_user = None``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import g, jsonify, request
from flask.typing import ResponseReturnValue

from authstack_sdk.claims import AccessTokenClaims
from authstack_sdk.integrations._common import access_token_from, error_body, error_headers
from authstack_sdk.token_errors import MissingTokenError, TokenVerificationError
from authstack_sdk.verify import AccessTokenVerifier

View = TypeVar("View", bound=Callable[..., Any])


def _refusal(error: TokenVerificationError) -> ResponseReturnValue:
    return jsonify(error_body(error)), error.status, error_headers(error)


def _authenticate(
    verifier: AccessTokenVerifier,
    optional: bool,
    allow_anonymous: bool | None,
    allow_restricted: bool | None,
) -> ResponseReturnValue | None:
    """Set ``g.stack_user``; the refusal to answer with, or None to run the view."""
    g.stack_user = None
    token = access_token_from(request.headers.get, request.cookies)
    if token is None:
        if optional:
            return None
        return _refusal(MissingTokenError("sign in first: no access token was sent"))
    try:
        claims: AccessTokenClaims = verifier.verify_access_token(
            token, allow_anonymous=allow_anonymous, allow_restricted=allow_restricted
        )
    except TokenVerificationError as error:
        return _refusal(error)
    g.stack_user = claims
    return None


def stack_user_required(
    verifier: AccessTokenVerifier,
    *,
    optional: bool = False,
    allow_anonymous: bool | None = None,
    allow_restricted: bool | None = None,
) -> Callable[[View], View]:
    """Decorate a view (sync or async) so that it runs only with a verified user in
    ``g.stack_user``."""

    def decorate(view: View) -> View:
        check = functools.partial(
            _authenticate, verifier, optional, allow_anonymous, allow_restricted
        )
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                refusal = check()
                return refusal if refusal is not None else await view(*args, **kwargs)

            return cast(View, async_wrapper)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            refusal = check()
            return refusal if refusal is not None else view(*args, **kwargs)

        return cast(View, wrapper)

    return decorate
