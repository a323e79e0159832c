"""The framework helpers' options, in process against a live API: optional users, per-route
restricted users, and 503 (not 401) when the keys cannot be fetched."""

# No `from __future__ import annotations`: FastAPI must see the route-local Annotated aliases.

from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from flask import Flask, g

from authstack_sdk import AccessTokenClaims, AccessTokenVerifier
from authstack_sdk.integrations import fastapi as stack_fastapi
from authstack_sdk.integrations import flask as stack_flask
from authstack_sdk.integrations._common import access_token_from_cookie
from tests.conftest import ApiServer
from tests.factories import Project, free_port
from tests.sdk.verify_support import issuing_api, sign_up

__all__ = ["issuing_api"]  # the module's fixture, imported


def _fastapi_app(verifier: AccessTokenVerifier) -> FastAPI:
    app = FastAPI()
    maybe = Annotated[AccessTokenClaims | None, Depends(stack_fastapi.optional_user(verifier))]
    lenient = Annotated[
        AccessTokenClaims, Depends(stack_fastapi.current_user(verifier, allow_restricted=True))
    ]
    strict = Annotated[AccessTokenClaims, Depends(stack_fastapi.current_user(verifier))]

    @app.get("/maybe")
    async def maybe_route(user: maybe) -> dict[str, Any]:
        return {"user_id": user.user_id if user else None}

    @app.get("/lenient")
    async def lenient_route(user: lenient) -> dict[str, Any]:
        return {"user_id": user.user_id, "restricted": user.is_restricted}

    @app.get("/strict")
    async def strict_route(user: strict) -> dict[str, Any]:
        return {"user_id": user.user_id}

    return app


def test_fastapi_optional_user_and_per_route_restricted_users(
    issuing_api: ApiServer, make_project: Any
) -> None:
    project = make_project({"onboarding.requireEmailVerification": True})
    unverified = sign_up(issuing_api, project)
    client = TestClient(_fastapi_app(AccessTokenVerifier(issuing_api.url, project.id)))
    header = {"x-stack-access-token": unverified.access_token}
    assert client.get("/maybe").json() == {"user_id": None}
    assert client.get("/maybe", headers={"x-stack-access-token": "bad"}).status_code == 401
    assert client.get("/maybe", headers=header).status_code == 403  # restricted, not allowed
    assert client.get("/lenient", headers=header).json() == {
        "user_id": unverified.user_id,
        "restricted": True,
    }
    r = client.get("/strict", headers=header)
    assert r.status_code == 403
    assert r.json()["detail"]["code"] == "RESTRICTED_USER_NOT_ALLOWED"


def test_fastapi_answers_503_when_the_keys_are_out_of_reach(
    issuing_api: ApiServer, project: Project
) -> None:
    user = sign_up(issuing_api, project)
    nowhere = AccessTokenVerifier(
        f"http://127.0.0.1:{free_port()}", project.id, issuer_base_url=issuing_api.url, timeout=2
    )
    r = TestClient(_fastapi_app(nowhere)).get(
        "/strict", headers={"x-stack-access-token": user.access_token}
    )
    assert r.status_code == 503
    assert r.json()["detail"]["code"] == "JWKS_UNAVAILABLE"


def test_flask_optional_decorator(issuing_api: ApiServer, project: Project) -> None:
    user = sign_up(issuing_api, project)
    verifier = AccessTokenVerifier(issuing_api.url, project.id)
    app = Flask(__name__)

    @app.get("/maybe")
    @stack_flask.stack_user_required(verifier, optional=True)
    def maybe() -> dict[str, Any]:
        return {"user_id": g.stack_user.user_id if g.stack_user else None}

    @app.get("/async")
    @stack_flask.stack_user_required(verifier)
    async def async_view() -> dict[str, Any]:
        return {"user_id": g.stack_user.user_id}

    client = app.test_client()
    assert client.get("/maybe").json == {"user_id": None}
    headers = {"x-stack-access-token": user.access_token}
    assert client.get("/maybe", headers=headers).json == {"user_id": user.user_id}
    assert client.get("/maybe", headers={"x-stack-access-token": "bad"}).status_code == 401
    assert client.get("/async").status_code == 401
    assert client.get("/async", headers=headers).json == {"user_id": user.user_id}


def test_cookie_values_in_every_spelling() -> None:
    token = "aaa.bbb.ccc"
    for value in (
        '["refresh","aaa.bbb.ccc"]',
        "%5B%22refresh%22%2C%22aaa.bbb.ccc%22%5D",
        '"%5B%22refresh%22%2C%22aaa.bbb.ccc%22%5D"',
        "aaa.bbb.ccc",
    ):
        assert access_token_from_cookie(value) == token, value
    for value in ("", "[]", '["only-one"]', "%5Bnot json", "plain", "[1, 2]"):
        assert access_token_from_cookie(value) is None, value
