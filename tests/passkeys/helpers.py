"""The passkey routes as the SDK calls them, a software authenticator in the browser's place."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import as_user, sign_up
from tests.conftest import Project
from tests.passkeys.authenticator import SoftAuthenticator

BASE = "/api/v1/auth/passkey"
INITIATE_REGISTRATION = f"{BASE}/initiate-passkey-registration"
REGISTER = f"{BASE}/register"
INITIATE_AUTHENTICATION = f"{BASE}/initiate-passkey-authentication"
SIGN_IN = f"{BASE}/sign-in"
APP_ORIGIN = "https://app.example.com"
# A project with passkeys on, one trusted domain, and localhost not allowed.
PASSKEY_CONFIG: dict[str, Any] = {
    "auth.passkey.allowSignIn": True,
    "domains.allowLocalhost": False,
    "domains.trustedDomains.app": {"baseUrl": f"{APP_ORIGIN}/", "handlerPath": "/handler"},
}


def initiate_registration(
    http: httpx.Client, project: Project, access_token: str
) -> tuple[dict[str, Any], str]:
    r = http.post(INITIATE_REGISTRATION, headers=as_user(project, access_token), json={})
    assert r.status_code == 200, r.text
    body = r.json()
    return body["options_json"], body["code"]


def register_response(
    http: httpx.Client, project: Project, access_token: str, credential: Any, code: str
) -> httpx.Response:
    return http.post(
        REGISTER,
        headers=as_user(project, access_token),
        json={"credential": credential, "code": code},
    )


def register(
    http: httpx.Client,
    project: Project,
    access_token: str,
    authenticator: SoftAuthenticator,
    *,
    origin: str = APP_ORIGIN,
) -> httpx.Response:
    """The SDK's registerPasskey() on the page ``origin``; the answer of /register, unchecked."""
    options, code = initiate_registration(http, project, access_token)
    credential = authenticator.create(options, origin=origin)
    return register_response(http, project, access_token, credential, code)


def registered(
    http: httpx.Client, project: Project, **kw: Any
) -> tuple[dict[str, Any], SoftAuthenticator]:
    """A new user of ``project`` with a registered passkey: (its tokens, its authenticator);
    ``kw`` goes to the authenticator."""
    tokens = sign_up(http, project)
    authenticator = SoftAuthenticator(**kw)
    r = register(http, project, tokens["access_token"], authenticator)
    assert r.status_code == 200, r.text
    return tokens, authenticator


def initiate_authentication(http: httpx.Client, project: Project) -> tuple[dict[str, Any], str]:
    r = http.post(INITIATE_AUTHENTICATION, headers=project.headers(), json={})
    assert r.status_code == 200, r.text
    body = r.json()
    return body["options_json"], body["code"]


def sign_in_response(
    http: httpx.Client, project: Project, response: Any, code: str
) -> httpx.Response:
    return http.post(
        SIGN_IN,
        headers=project.headers(),
        json={"authentication_response": response, "code": code},
    )


def sign_in(
    http: httpx.Client,
    project: Project,
    authenticator: SoftAuthenticator,
    *,
    origin: str = APP_ORIGIN,
    **bend: Any,
) -> httpx.Response:
    """The SDK's signInWithPasskey() on the page ``origin``; the answer of /sign-in, unchecked.
    ``bend`` goes to the authenticator (rp_id, counter, type)."""
    options, code = initiate_authentication(http, project)
    response = authenticator.get(options, origin=origin, **bend)
    return sign_in_response(http, project, response, code)


def get_user(http: httpx.Client, project: Project, user_id: str) -> dict[str, Any]:
    r = http.get(f"/api/v1/users/{user_id}", headers=project.headers("server"))
    assert r.status_code == 200, r.text
    user: dict[str, Any] = r.json()
    return user


def b_passkey_ids(http: httpx.Client, project: Project, access_token: str) -> dict[str, str]:
    """For the isolation matrix: project B's user registers a passkey (on a localhost page); a
    live registration code of that user, a live sign-in code, and an assertion the passkey made
    for that sign-in code."""
    authenticator = SoftAuthenticator()
    origin = "http://localhost:3000"
    r = register(http, project, access_token, authenticator, origin=origin)
    assert r.status_code == 200, r.text
    _, registration_code = initiate_registration(http, project, access_token)
    options, sign_in_code = initiate_authentication(http, project)
    assertion = authenticator.get(options, origin=origin)
    return {
        "b_passkey_registration_code": registration_code,
        "b_passkey_sign_in_code": sign_in_code,
        "b_passkey_credential": assertion["id"],
        "b_passkey_client_data": assertion["response"]["clientDataJSON"],
        "b_passkey_authenticator_data": assertion["response"]["authenticatorData"],
        "b_passkey_signature": assertion["response"]["signature"],
    }
