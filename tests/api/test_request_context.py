"""How handlers get their request context: ``auth`` from its annotation, checked at startup."""

from __future__ import annotations

import httpx
import pytest
from litestar import get, post
from litestar.exceptions import ImproperlyConfiguredException
from litestar.handlers import HTTPRouteHandler

from authstack_api.app import discover_routes
from authstack_api.auth import AnyAuth, Auth, ServerAuth
from authstack_api.context import bind_request_context
from authstack_api.limits import Limit
from tests.api.helpers import assert_known_error, unique_email
from tests.conftest import Project

SIGN_UP = "/api/v1/auth/password/sign-up"


@get("/plain-auth")
async def _plain_auth(auth: Auth) -> None: ...


@get("/misnamed-auth")
async def _misnamed_auth(caller: ServerAuth) -> None: ...


@post("/limited", opt={"limit": Limit("otp_send", recipient="data.email")})
async def _limit_without_data(auth: AnyAuth) -> None: ...


@pytest.mark.parametrize(
    ("handler", "complaint"),
    [
        (_plain_auth, "annotate auth with an access type"),
        (_misnamed_auth, "only a parameter named auth"),
        (_limit_without_data, "its limit reads 'data'"),
    ],
)
def test_a_handler_that_does_not_say_who_may_call_it_is_refused_at_startup(
    handler: HTTPRouteHandler, complaint: str
) -> None:
    """An ``auth`` without an access type, an access type on another parameter, a limit keyed on
    an argument the handler does not take: each stops the app from starting."""
    with pytest.raises(ImproperlyConfiguredException, match=complaint):
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
