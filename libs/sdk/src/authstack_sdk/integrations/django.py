"""Django: a middleware that sets ``request.stack_user``, and a view decorator answering 401.

    # settings.py
    STACK_AUTH = {"base_url": "https://api.example.com", "project_id": "<project id>"}
    MIDDLEWARE = [..., "authstack_sdk.integrations.django.StackAuthMiddleware"]

    # views.py
    from authstack_sdk.integrations.django import stack_user_required

    @stack_user_required
    def me(request):
        return JsonResponse({"user_id": request.stack_user.user_id})

``STACK_AUTH`` takes AccessTokenVerifier's keywords (``allow_anonymous``, ``issuer_base_url``...).
The middleware verifies the token, if any (see ``_common.access_token_from`` for where it is
looked for), and sets ``request.stack_user`` to the claims or None, and
``request.stack_auth_error`` to why a token sent was refused (or None). It never refuses a request
itself: views decide, with ``stack_user_required`` or ``unauthorized(request)``. It works under
WSGI and ASGI.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase, JsonResponse

from authstack_sdk.integrations._common import access_token_from, error_body, error_headers
from authstack_sdk.token_errors import MissingTokenError, TokenVerificationError
from authstack_sdk.verify import AccessTokenVerifier, verifier_from_mapping

View = TypeVar("View", bound=Callable[..., Any])


def _verifier_from_settings() -> AccessTokenVerifier:
    config = getattr(settings, "STACK_AUTH", None)
    if not isinstance(config, dict) or "base_url" not in config or "project_id" not in config:
        raise ImproperlyConfigured(
            "settings.STACK_AUTH must be a dict with at least 'base_url' and 'project_id'"
        )
    return verifier_from_mapping(config)


class StackAuthMiddleware:
    """Sets ``request.stack_user`` (AccessTokenClaims or None) and ``request.stack_auth_error``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.verifier = _verifier_from_settings()  # one per process: it holds the JWKS cache
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self._acall(request)
        token = self._start(request)
        if token is not None:
            try:
                request.stack_user = self.verifier.verify_access_token(token)
            except TokenVerificationError as error:
                request.stack_auth_error = error
        return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> Any:
        token = self._start(request)
        if token is not None:
            try:
                request.stack_user = await self.verifier.verify_access_token_async(token)
            except TokenVerificationError as error:
                request.stack_auth_error = error
        return await cast(Callable[[HttpRequest], Awaitable[Any]], self.get_response)(request)

    @staticmethod
    def _start(request: HttpRequest) -> str | None:
        request.stack_user = None
        request.stack_auth_error = None
        return access_token_from(request.headers.get, request.COOKIES)


def unauthorized(request: HttpRequest) -> JsonResponse:
    """The 401 (403 for a refused restricted user, 503 without keys) a view answers when the
    request has no valid user: body ``{code, error}``, as the API's errors."""
    error = getattr(request, "stack_auth_error", None)
    if not isinstance(error, TokenVerificationError):
        error = MissingTokenError("sign in first: no access token was sent")
    return JsonResponse(error_body(error), status=error.status, headers=error_headers(error))


def stack_user_required(view: View) -> View:
    """Answer ``unauthorized(request)`` unless the middleware found a valid user."""

    def refused(request: HttpRequest) -> HttpResponseBase | None:
        if getattr(request, "stack_user", None) is None:
            return unauthorized(request)
        return None

    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            return refused(request) or await view(request, *args, **kwargs)

        return cast(View, async_wrapper)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return refused(request) or view(request, *args, **kwargs)

    return cast(View, wrapper)
