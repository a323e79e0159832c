"""Passkeys and the rest of the account: the project switch, TOTP, the user's flag, deletion."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import as_user, assert_known_error, create_user, sign_up
from tests.api.test_mfa import TotpUser, away_from_step_edge, enable_totp, mfa_sign_in
from tests.conftest import ApiServer, Project
from tests.factories import query_value
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.helpers import (
    APP_ORIGIN,
    INITIATE_AUTHENTICATION,
    INITIATE_REGISTRATION,
    get_user,
    initiate_authentication,
    initiate_registration,
    register,
    register_response,
    registered,
    sign_in,
    sign_in_response,
)


def passkey_count(database_url: str, project: Project, user_id: str) -> int:
    count: int = query_value(
        database_url,
        "SELECT count(*) FROM passkey_auth_methods WHERE tenancy_id = %s AND user_id = %s",
        (project.tenancy_id, user_id),
    )
    return count


def set_passkeys_enabled(http: httpx.Client, project: Project, enabled: bool) -> None:
    r = http.patch(
        "/api/v1/internal/projects/current",
        headers=project.headers("admin"),
        json={"config": {"passkey_enabled": enabled}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["config"]["passkey_enabled"] is enabled


def test_the_project_switch_closes_all_four_routes(
    http: httpx.Client, passkey_project: Project
) -> None:
    tokens, authenticator = registered(http, passkey_project)
    # Ceremonies begun while passkeys were on, finished after they were turned off.
    reg_options, reg_code = initiate_registration(http, passkey_project, tokens["access_token"])
    credential = SoftAuthenticator().create(reg_options, origin=APP_ORIGIN)
    auth_options, auth_code = initiate_authentication(http, passkey_project)
    assertion = authenticator.get(auth_options, origin=APP_ORIGIN)
    set_passkeys_enabled(http, passkey_project, False)
    user = as_user(passkey_project, tokens["access_token"])
    answers = [
        http.post(INITIATE_REGISTRATION, headers=user, json={}),
        register_response(http, passkey_project, tokens["access_token"], credential, reg_code),
        http.post(INITIATE_AUTHENTICATION, headers=passkey_project.headers(), json={}),
        sign_in_response(http, passkey_project, assertion, auth_code),
    ]
    for r in answers:
        assert_known_error(r, "PASSKEY_AUTHENTICATION_NOT_ENABLED", 400)
    assert http.get("/api/v1/projects/current", headers=passkey_project.headers()).json()[
        "config"
    ]["passkey_enabled"] is False  # fmt: skip
    set_passkeys_enabled(http, passkey_project, True)
    # The codes were not spent by the refusals.
    r = sign_in_response(http, passkey_project, assertion, auth_code)
    assert r.status_code == 200, r.text


def test_a_new_project_has_passkeys_off(http: httpx.Client, make_project: Any) -> None:
    project = make_project()
    r = http.post(INITIATE_AUTHENTICATION, headers=project.headers(), json={})
    assert_known_error(r, "PASSKEY_AUTHENTICATION_NOT_ENABLED", 400)


def test_a_totp_user_still_needs_the_second_factor(
    http: httpx.Client, passkey_project: Project, api: ApiServer
) -> None:
    tokens, authenticator = registered(http, passkey_project)
    secret = enable_totp(http, passkey_project, tokens["access_token"])
    r = sign_in(http, passkey_project, authenticator)
    body = assert_known_error(r, "MULTI_FACTOR_AUTHENTICATION_REQUIRED", 400)
    attempt_code = body["details"]["attempt_code"]
    data = query_value(
        api.database_url,
        "SELECT data FROM verification_codes WHERE project_id = %s AND type = 'MFA_ATTEMPT'",
        (passkey_project.id,),
    )
    assert data == {"user_id": tokens["user_id"], "is_new_user": False, "first_factor": "passkey"}
    # The passkey's counter moved: the assertion cannot be replayed for another attempt code.
    assert (
        query_value(
            api.database_url,
            "SELECT counter FROM passkey_auth_methods WHERE tenancy_id = %s",
            (passkey_project.tenancy_id,),
        )
        == authenticator.counter
    )
    away_from_step_edge()
    totp = TotpUser("", tokens["user_id"], secret).code()
    r = mfa_sign_in(http, passkey_project, attempt_code, totp)
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == tokens["user_id"]
    assert r.json()["is_new_user"] is False


def test_patching_the_flag_off_removes_the_passkey(
    http: httpx.Client, passkey_project: Project, api: ApiServer
) -> None:
    tokens, authenticator = registered(http, passkey_project)
    user = as_user(passkey_project, tokens["access_token"])
    r = http.patch("/api/v1/users/me", headers=user, json={"passkey_auth_enabled": False})
    assert r.status_code == 200, r.text
    assert r.json()["passkey_auth_enabled"] is False
    assert passkey_count(api.database_url, passkey_project, tokens["user_id"]) == 0
    r = sign_in(http, passkey_project, authenticator)
    assert_known_error(r, "PASSKEY_AUTHENTICATION_FAILED", 400)
    # A server may do it too; the user can register again afterwards.
    assert register(http, passkey_project, tokens["access_token"], authenticator).status_code == 200
    r = http.patch(
        f"/api/v1/users/{tokens['user_id']}",
        headers=passkey_project.headers("server"),
        json={"passkey_auth_enabled": False},
    )
    assert r.status_code == 200, r.text
    assert get_user(http, passkey_project, tokens["user_id"])["passkey_auth_enabled"] is False


def test_the_flag_cannot_be_switched_on_by_hand(
    http: httpx.Client, passkey_project: Project, api: ApiServer
) -> None:
    tokens = sign_up(http, passkey_project)
    for headers, path in (
        (as_user(passkey_project, tokens["access_token"]), "/api/v1/users/me"),
        (passkey_project.headers("server"), f"/api/v1/users/{tokens['user_id']}"),
    ):
        r = http.patch(path, headers=headers, json={"passkey_auth_enabled": True})
        assert r.status_code == 400, r.text
        assert "passkey" in r.text
    assert get_user(http, passkey_project, tokens["user_id"])["passkey_auth_enabled"] is False
    # Creating a user with the flag set gives it no passkey either (as upstream: ignored).
    created = create_user(http, passkey_project, passkey_auth_enabled=True)
    assert created["passkey_auth_enabled"] is False


def test_deleting_the_user_deletes_its_passkey(
    http: httpx.Client, passkey_project: Project, api: ApiServer
) -> None:
    tokens, authenticator = registered(http, passkey_project)
    r = http.delete(f"/api/v1/users/{tokens['user_id']}", headers=passkey_project.headers("server"))
    assert r.status_code == 200, r.text
    assert passkey_count(api.database_url, passkey_project, tokens["user_id"]) == 0
    r = sign_in(http, passkey_project, authenticator)
    assert_known_error(r, "PASSKEY_AUTHENTICATION_FAILED", 400)


def test_registration_needs_a_signed_in_user(http: httpx.Client, passkey_project: Project) -> None:
    r = http.post(INITIATE_REGISTRATION, headers=passkey_project.headers(), json={})
    assert_known_error(r, "SCHEMA_ERROR", 400)
    tokens = sign_up(http, passkey_project)
    options, code = initiate_registration(http, passkey_project, tokens["access_token"])
    credential = SoftAuthenticator().create(options, origin=APP_ORIGIN)
    r = http.post(
        "/api/v1/auth/passkey/register",
        headers=passkey_project.headers(),
        json={"credential": credential, "code": code},
    )
    assert_known_error(r, "USER_AUTHENTICATION_REQUIRED", 401)
