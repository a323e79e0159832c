"""How handlers get their request context: ``auth`` from its annotation, checked at startup."""

from __future__ import annotations

import httpx
import pytest
from litestar import Response, get, post
from litestar.exceptions import ImproperlyConfiguredException

from authstack_api.app import discover_routes
from authstack_api.auth import AnyAuth, Auth, ServerAuth
from authstack_api.context import bind_request_context
from authstack_api.limits import Limit
from tests.api.helpers import assert_known_error, unique_email
from tests.conftest import Project

SIGN_UP = "/api/v1/auth/password/sign-up"


def test_a_handler_whose_auth_has_no_access_type_is_refused_at_startup() -> None:
    @get("/plain-auth")
    async def handler(auth: Auth) -> Response[bytes]:
        raise AssertionError("never called")

    with pytest.raises(ImproperlyConfiguredException, match="annotate auth"):
        bind_request_context(handler)


def test_an_access_type_on_another_parameter_is_refused_at_startup() -> None:
    @get("/misnamed-auth")
    async def handler(caller: ServerAuth) -> Response[bytes]:
        raise AssertionError("never called")

    with pytest.raises(ImproperlyConfiguredException, match="only a parameter named auth"):
        bind_request_context(handler)


def test_a_limit_keyed_on_a_missing_argument_is_refused_at_startup() -> None:
    @post("/limited", opt={"limit": Limit("otp_send", recipient="data.email")})
    async def handler(auth: AnyAuth) -> Response[bytes]:
        raise AssertionError("never called")

    with pytest.raises(ImproperlyConfiguredException, match="'data'"):
        bind_request_context(handler)


def test_every_route_handler_binds_and_none_takes_auth_from_litestar() -> None:
    """Binding is idempotent (apps built twice in one process) and leaves no ``auth`` for
    Litestar to resolve as a query parameter."""
    for _ in range(2):
        for handler in discover_routes():
            assert "auth" not in handler.parsed_fn_signature.parameters, handler


def test_a_request_wrong_in_body_and_key_gets_the_schema_error_first(
    http: httpx.Client, project: Project
) -> None:
    """Litestar validates the body before ``auth`` is resolved, as before handlers declared it."""
    headers = project.headers(**{"x-stack-publishable-client-key": "pck_not_this_projects"})
    r = http.post(SIGN_UP, headers=headers, json={"email": unique_email()})
    assert_known_error(r, "SCHEMA_ERROR", 400)
    r = http.post(SIGN_UP, headers=headers, json={"email": unique_email(), "password": "x" * 12})
    assert_known_error(r, "INVALID_PUBLISHABLE_CLIENT_KEY", 401)
