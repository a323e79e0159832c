"""Passkeys end to end with a software authenticator: registration, sign-in, the user's flag."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.api.helpers import as_user, assert_known_error, refresh, sign_up
from tests.conftest import ApiServer, Project
from tests.factories import query_row, query_value
from tests.passkeys.authenticator import SENTINEL_RP_ID, SoftAuthenticator, b64url
from tests.passkeys.helpers import (
    APP_ORIGIN,
    PASSKEY_CONFIG,
    get_user,
    initiate_authentication,
    initiate_registration,
    register,
    sign_in,
)


def test_initiate_registration_answers_the_options_the_sdk_expects(
    http: httpx.Client, passkey_project: Project, api: ApiServer
) -> None:
    tokens = sign_up(http, passkey_project)
    options, code = initiate_registration(http, passkey_project, tokens["access_token"])
    assert options["rp"]["id"] == SENTINEL_RP_ID
    assert options["rp"]["name"].startswith("Test project")
    assert options["user"]["id"] == b64url(tokens["user_id"].encode())
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["timeout"] == 60_000
    assert {p["alg"] for p in options["pubKeyCredParams"]} >= {-7, -257}
    assert len(code) == 45
    lifetime, data = query_row(
        api.database_url,
        "SELECT expires_at - created_at, data FROM verification_codes "
        "WHERE project_id = %s AND type = 'PASSKEY_REGISTRATION_CHALLENGE'",
        (passkey_project.id,),
    )
    assert abs(lifetime - timedelta(seconds=65)) < timedelta(seconds=1)
    assert data == {"challenge": options["challenge"], "user_id": tokens["user_id"]}


def test_initiate_authentication_answers_the_options_the_sdk_expects(
    http: httpx.Client, passkey_project: Project, api: ApiServer
) -> None:
    options, code = initiate_authentication(http, passkey_project)
    assert options["rpId"] == SENTINEL_RP_ID
    assert options["allowCredentials"] == []
    assert options["userVerification"] == "preferred"
    assert len(code) == 45
    lifetime = query_value(
        api.database_url,
        "SELECT expires_at - created_at FROM verification_codes "
        "WHERE project_id = %s AND type = 'PASSKEY_AUTHENTICATION_CHALLENGE'",
        (passkey_project.id,),
    )
    assert abs(lifetime - timedelta(seconds=65)) < timedelta(seconds=1)


def test_register_then_sign_in(
    http: httpx.Client, passkey_project: Project, api: ApiServer
) -> None:
    tokens = sign_up(http, passkey_project)
    user_id = tokens["user_id"]
    assert get_user(http, passkey_project, user_id)["passkey_auth_enabled"] is False
    authenticator = SoftAuthenticator()
    r = register(http, passkey_project, tokens["access_token"], authenticator)
    assert r.status_code == 200, r.text
    assert r.json() == {"user_handle": b64url(authenticator.credential_id)}
    assert get_user(http, passkey_project, user_id)["passkey_auth_enabled"] is True
    me = http.get("/api/v1/users/me", headers=as_user(passkey_project, tokens["access_token"]))
    assert me.json()["passkey_auth_enabled"] is True

    r = sign_in(http, passkey_project, authenticator)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "refresh_token", "user_id", "is_new_user"}
    assert body["user_id"] == user_id
    assert body["is_new_user"] is False
    # The tokens are a working session of that user.
    mine = http.get("/api/v1/users/me", headers=as_user(passkey_project, body["access_token"]))
    assert mine.json()["id"] == user_id
    assert refresh(http, passkey_project, body["refresh_token"]).status_code == 200
    stored = query_row(
        api.database_url,
        "SELECT credential_id, user_handle, transports, counter FROM passkey_auth_methods "
        "WHERE tenancy_id = %s AND user_id = %s",
        (passkey_project.tenancy_id, user_id),
    )
    assert stored == (
        b64url(authenticator.credential_id),
        b64url(authenticator.credential_id),
        ["internal", "hybrid"],
        authenticator.counter,
    )


def test_an_authenticator_without_a_counter_signs_in_again_and_again(
    http: httpx.Client, passkey_project: Project
) -> None:
    tokens = sign_up(http, passkey_project)
    authenticator = SoftAuthenticator(counter=0)
    assert register(http, passkey_project, tokens["access_token"], authenticator).status_code == 200
    for _ in range(2):
        r = sign_in(http, passkey_project, authenticator)
        assert r.status_code == 200, r.text
        assert r.json()["user_id"] == tokens["user_id"]


def test_registering_again_replaces_the_passkey(
    http: httpx.Client, passkey_project: Project
) -> None:
    tokens = sign_up(http, passkey_project)
    old, new = SoftAuthenticator(), SoftAuthenticator()
    assert register(http, passkey_project, tokens["access_token"], old).status_code == 200
    assert register(http, passkey_project, tokens["access_token"], new).status_code == 200
    assert sign_in(http, passkey_project, new).status_code == 200
    r = sign_in(http, passkey_project, old)
    assert_known_error(r, "PASSKEY_AUTHENTICATION_FAILED", 400)


def test_a_localhost_page_registers_when_the_project_allows_localhost(
    http: httpx.Client, make_project: Any
) -> None:
    project = make_project({**PASSKEY_CONFIG, "domains.allowLocalhost": True})
    tokens = sign_up(http, project)
    authenticator = SoftAuthenticator()
    origin = "http://localhost:3000"
    r = register(http, project, tokens["access_token"], authenticator, origin=origin)
    assert r.status_code == 200, r.text
    assert sign_in(http, project, authenticator, origin=origin).status_code == 200
    # The page's origin decides the RP ID: the trusted domain's page cannot use it.
    r = sign_in(http, project, authenticator, origin=APP_ORIGIN, rp_id="localhost")
    assert_known_error(r, "PASSKEY_AUTHENTICATION_FAILED", 400)
