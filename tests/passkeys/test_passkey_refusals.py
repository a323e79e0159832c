"""What a passkey ceremony refuses: foreign origins and RP IDs, replays, counter regressions,
other users' and other projects' credentials, forged responses."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_known_error, sign_up
from tests.conftest import ApiServer, Project
from tests.factories import query_row, query_value
from tests.passkeys.authenticator import SoftAuthenticator, b64url, unb64url
from tests.passkeys.helpers import (
    APP_ORIGIN,
    PASSKEY_CONFIG,
    initiate_authentication,
    initiate_registration,
    register,
    register_response,
    registered,
    sign_in,
    sign_in_response,
)

REG_FAILED = "PASSKEY_REGISTRATION_FAILED"
AUTH_FAILED = "PASSKEY_AUTHENTICATION_FAILED"


def code_used(database_url: str, project: Project, type_: str) -> bool:
    used: bool = query_value(
        database_url,
        "SELECT used_at IS NOT NULL FROM verification_codes WHERE project_id = %s AND type = %s "
        "ORDER BY created_at DESC LIMIT 1",
        (project.id, f"PASSKEY_{type_}_CHALLENGE"),
    )
    return used


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.net",  # not trusted
        "http://app.example.com",  # the trusted host over another scheme
        "https://app.example.com:8443",  # another port
        "https://app.example.com.evil.net",  # a suffix trick
        "https://APP.example.com",  # no browser writes an origin this way
        "https://app.example.com/",  # nor with a path
        "https://user@app.example.com",
        "http://localhost:3000",  # this project does not allow localhost
        "null",
        "",
    ],
)
def test_an_untrusted_origin_registers_nothing(
    http: httpx.Client, passkey_project: Project, api: ApiServer, origin: str
) -> None:
    tokens = sign_up(http, passkey_project)
    options, code = initiate_registration(http, passkey_project, tokens["access_token"])
    # The RP ID is the trusted domain's, so only the origin is wrong.
    credential = SoftAuthenticator().create(options, origin=origin, rp_id="app.example.com")
    r = register_response(http, passkey_project, tokens["access_token"], credential, code)
    body = assert_known_error(r, REG_FAILED, 400)
    assert body["details"] == {"message": body["error"]}
    assert "origin" in body["error"]
    assert code_used(api.database_url, passkey_project, "REGISTRATION")  # the ceremony is over
    assert (
        query_value(
            api.database_url,
            "SELECT count(*) FROM passkey_auth_methods WHERE tenancy_id = %s",
            (passkey_project.tenancy_id,),
        )
        == 0
    )


def test_an_untrusted_origin_signs_nothing_in(http: httpx.Client, passkey_project: Project) -> None:
    _, authenticator = registered(http, passkey_project)
    r = sign_in(http, passkey_project, authenticator, origin="https://evil.example.net",
                rp_id="app.example.com")  # fmt: skip
    assert_known_error(r, AUTH_FAILED, 400)


@pytest.mark.parametrize("rp_id", ["evil.example.net", "example.com", "localhost"])
def test_a_wrong_rp_id_is_refused(http: httpx.Client, passkey_project: Project, rp_id: str) -> None:
    tokens = sign_up(http, passkey_project)
    options, code = initiate_registration(http, passkey_project, tokens["access_token"])
    credential = SoftAuthenticator().create(options, origin=APP_ORIGIN, rp_id=rp_id)
    r = register_response(http, passkey_project, tokens["access_token"], credential, code)
    assert_known_error(r, REG_FAILED, 400)
    _, authenticator = registered(http, passkey_project)
    assert_known_error(sign_in(http, passkey_project, authenticator, rp_id=rp_id), AUTH_FAILED, 400)


def test_a_challenge_answers_once(
    http: httpx.Client, passkey_project: Project, api: ApiServer
) -> None:
    tokens, authenticator = registered(http, passkey_project)
    options, code = initiate_authentication(http, passkey_project)
    response = authenticator.get(options, origin=APP_ORIGIN)
    assert sign_in_response(http, passkey_project, response, code).status_code == 200
    again = sign_in_response(http, passkey_project, response, code)
    assert_known_error(again, "VERIFICATION_CODE_ALREADY_USED", 409)
    # The same assertion with a fresh code: its challenge is not the new one.
    _, fresh = initiate_authentication(http, passkey_project)
    assert_known_error(sign_in_response(http, passkey_project, response, fresh), AUTH_FAILED, 400)
    # A registration answer replayed: its code is spent too.
    options, code = initiate_registration(http, passkey_project, tokens["access_token"])
    credential = SoftAuthenticator().create(options, origin=APP_ORIGIN)
    first = register_response(http, passkey_project, tokens["access_token"], credential, code)
    assert first.status_code == 200, first.text
    r = register_response(http, passkey_project, tokens["access_token"], credential, code)
    assert_known_error(r, "VERIFICATION_CODE_ALREADY_USED", 409)


def test_a_failed_ceremony_spends_its_code(
    http: httpx.Client, passkey_project: Project, api: ApiServer
) -> None:
    _, authenticator = registered(http, passkey_project)
    options, code = initiate_authentication(http, passkey_project)
    wrong = authenticator.get(options, origin=APP_ORIGIN, rp_id="evil.example.net")
    assert_known_error(sign_in_response(http, passkey_project, wrong, code), AUTH_FAILED, 400)
    right = authenticator.get(options, origin=APP_ORIGIN)
    r = sign_in_response(http, passkey_project, right, code)
    assert_known_error(r, "VERIFICATION_CODE_ALREADY_USED", 409)


def test_a_counter_that_does_not_grow_is_refused(
    http: httpx.Client, passkey_project: Project, api: ApiServer
) -> None:
    tokens, authenticator = registered(http, passkey_project, counter=5)
    assert sign_in(http, passkey_project, authenticator, counter=9).status_code == 200
    for stale in (9, 3, 0):  # a clone of the authenticator, behind the original
        r = sign_in(http, passkey_project, authenticator, counter=stale)
        assert_known_error(r, AUTH_FAILED, 400)
    assert (
        query_value(
            api.database_url,
            "SELECT counter FROM passkey_auth_methods WHERE tenancy_id = %s AND user_id = %s",
            (passkey_project.tenancy_id, tokens["user_id"]),
        )
        == 9
    )
    assert sign_in(http, passkey_project, authenticator, counter=10).status_code == 200


def test_another_users_credential_signs_nobody_in(
    http: httpx.Client, passkey_project: Project, api: ApiServer
) -> None:
    victim, victim_key = registered(http, passkey_project)
    attacker, attacker_key = registered(http, passkey_project)
    # The attacker presents the victim's credential id, signed with its own key.
    forged = SoftAuthenticator(credential_id=victim_key.credential_id, key=attacker_key.key,
                               user_handle=victim_key.user_handle, counter=50)  # fmt: skip
    assert_known_error(sign_in(http, passkey_project, forged), AUTH_FAILED, 400)
    # ... or its own credential under the victim's user handle.
    attacker_key.user_handle = victim_key.user_handle
    assert_known_error(sign_in(http, passkey_project, attacker_key), AUTH_FAILED, 400)
    # Registering a credential with the victim's id (the authenticator picks ids) takes nothing.
    stolen_id = SoftAuthenticator(credential_id=victim_key.credential_id)
    r = register(http, passkey_project, attacker["access_token"], stolen_id)
    assert_known_error(r, REG_FAILED, 400)
    owner = query_row(
        api.database_url,
        "SELECT user_id::text FROM passkey_auth_methods WHERE tenancy_id = %s "
        "AND credential_id = %s",
        (passkey_project.tenancy_id, b64url(victim_key.credential_id)),
    )
    assert owner == (victim["user_id"],)
    r = sign_in(http, passkey_project, victim_key)
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == victim["user_id"]


def test_a_registration_code_of_another_user_is_not_found(
    http: httpx.Client, passkey_project: Project, api: ApiServer
) -> None:
    victim = sign_up(http, passkey_project)
    attacker = sign_up(http, passkey_project)
    options, code = initiate_registration(http, passkey_project, victim["access_token"])
    credential = SoftAuthenticator().create(options, origin=APP_ORIGIN)
    r = register_response(http, passkey_project, attacker["access_token"], credential, code)
    assert_known_error(r, "VERIFICATION_CODE_NOT_FOUND", 404)
    assert not code_used(api.database_url, passkey_project, "REGISTRATION")  # still the victim's
    r = register_response(http, passkey_project, victim["access_token"], credential, code)
    assert r.status_code == 200, r.text


def test_another_projects_passkey_and_codes_are_unknown(
    http: httpx.Client, passkey_project: Project, make_project: Any
) -> None:
    other = make_project(PASSKEY_CONFIG)  # the same trusted domain, even
    _, authenticator = registered(http, other)
    r = sign_in(http, passkey_project, authenticator)
    body = assert_known_error(r, AUTH_FAILED, 400)
    assert other.id not in r.text
    assert "user" not in body["error"].lower()
    # The other project's challenge code is unknown here, with a response made for it.
    options, code = initiate_authentication(http, other)
    response = authenticator.get(options, origin=APP_ORIGIN)
    r = sign_in_response(http, passkey_project, response, code)
    assert_known_error(r, "VERIFICATION_CODE_NOT_FOUND", 404)
    assert sign_in_response(http, other, response, code).status_code == 200


def test_a_registration_response_is_no_assertion(
    http: httpx.Client, passkey_project: Project
) -> None:
    _, authenticator = registered(http, passkey_project)
    r = sign_in(http, passkey_project, authenticator, type="webauthn.create")
    assert_known_error(r, AUTH_FAILED, 400)


def test_a_forged_client_data_origin_breaks_the_signature(
    http: httpx.Client, passkey_project: Project, make_project: Any
) -> None:
    """An assertion made on an evil page, its clientDataJSON rewritten to name the trusted one."""
    _, authenticator = registered(http, passkey_project)
    options, code = initiate_authentication(http, passkey_project)
    response = authenticator.get(options, origin="https://evil.example.net",
                                 rp_id="app.example.com")  # fmt: skip
    client_data = json.loads(unb64url(response["response"]["clientDataJSON"]))
    client_data["origin"] = APP_ORIGIN
    response["response"]["clientDataJSON"] = b64url(json.dumps(client_data).encode())
    assert_known_error(sign_in_response(http, passkey_project, response, code), AUTH_FAILED, 400)


def test_a_code_of_the_other_ceremony_is_not_found(
    http: httpx.Client, passkey_project: Project
) -> None:
    """A registration code answers no sign-in, and a sign-in code no registration."""
    tokens, authenticator = registered(http, passkey_project)
    auth_options, auth_code = initiate_authentication(http, passkey_project)
    reg_options, reg_code = initiate_registration(http, passkey_project, tokens["access_token"])
    assertion = authenticator.get(auth_options, origin=APP_ORIGIN)
    r = sign_in_response(http, passkey_project, assertion, reg_code)
    assert_known_error(r, "VERIFICATION_CODE_NOT_FOUND", 404)
    credential = SoftAuthenticator().create(reg_options, origin=APP_ORIGIN)
    r = register_response(http, passkey_project, tokens["access_token"], credential, auth_code)
    assert_known_error(r, "VERIFICATION_CODE_NOT_FOUND", 404)
    # Both still answer their own ceremony.
    assert sign_in_response(http, passkey_project, assertion, auth_code).status_code == 200
    r = register_response(http, passkey_project, tokens["access_token"], credential, reg_code)
    assert r.status_code == 200, r.text
