"""Native Sign in with Apple (``POST /auth/oauth/callback/apple/native``): an app's Apple ID token,
checked against Apple's key set (here the rogue issuer's, through STACK_APPLE_JWKS_URL) and the
project's bundle ids, signs the user in or up as the browser flow would."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import PASSWORD, assert_known_error, sign_in_with_password, sign_up
from tests.factories import Project
from tests.oauth.flow import OAuth, shared, unique_login
from tests.oauth.rogue_issuer import apple_id_token

NATIVE = "/api/v1/auth/oauth/callback/apple/native"
BUNDLE = "com.example.app"


def _apple_project(oauth: OAuth, **entry: object) -> Project:
    return oauth.project(shared("apple", appleBundles=[BUNDLE, "com.example.other"], **entry))


def _native(http: httpx.Client, project: Project, id_token: str) -> httpx.Response:
    return http.post(NATIVE, headers=project.headers(), json={"id_token": id_token})


def test_an_apple_id_token_signs_up_then_signs_in_the_same_user(oauth: OAuth) -> None:
    project = _apple_project(oauth)
    subject, email = "001234.apple-subject", unique_login("apple")
    token = apple_id_token(BUNDLE, subject, email=email, email_verified="true")
    first = _native(oauth.http, project, token)
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"access_token", "refresh_token", "user_id", "is_new_user"}
    assert body["is_new_user"] is True
    user = oauth.me(project, body["access_token"])
    assert (user["id"], user["primary_email"], user["primary_email_verified"]) == (
        body["user_id"], email, True
    )  # fmt: skip
    assert user["oauth_providers"] == [{"id": "apple", "account_id": subject, "email": email}]
    # Another bundle id of the project's, and no email this time (Apple sends it once).
    again = _native(oauth.http, project, apple_id_token("com.example.other", subject))
    assert again.status_code == 200, again.text
    assert (again.json()["user_id"], again.json()["is_new_user"]) == (body["user_id"], False)


def test_a_verified_apple_email_joins_the_verified_account_that_has_it(oauth: OAuth) -> None:
    project = _apple_project(oauth)
    email = unique_login("merge")
    existing = sign_up(oauth.http, project, email)
    oauth.http.patch(
        f"/api/v1/users/{existing['user_id']}",
        headers=project.headers("server"),
        json={"primary_email_verified": True},
    )
    token = apple_id_token(BUNDLE, "apple-merge", email=email, email_verified=True)
    r = _native(oauth.http, project, token)
    assert (r.json()["user_id"], r.json()["is_new_user"]) == (existing["user_id"], False)
    assert sign_in_with_password(oauth.http, project, email, PASSWORD).status_code == 200


@pytest.mark.parametrize("mode", ["wrong-aud", "wrong-iss", "expired", "bad-signature"])
def test_a_token_apple_did_not_issue_for_this_app_is_refused(oauth: OAuth, mode: str) -> None:
    project = _apple_project(oauth)
    r = _native(oauth.http, project, apple_id_token(BUNDLE, f"apple-{mode}", mode))
    assert_known_error(r, "INVALID_APPLE_CREDENTIALS", 400)
    for garbage in ("not-a-jwt", "a.b.c"):
        assert_known_error(_native(oauth.http, project, garbage), "INVALID_APPLE_CREDENTIALS", 400)


def test_apple_must_be_enabled_with_bundle_ids(oauth: OAuth) -> None:
    token = apple_id_token(BUNDLE, "apple-config")
    cases = [
        (oauth.project(shared("github")), "OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED"),
        (_apple_project(oauth, allowSignIn=False), "OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED"),
        (oauth.project(shared("apple")), "APPLE_BUNDLE_ID_NOT_CONFIGURED"),
    ]
    for project, code in cases:
        assert_known_error(_native(oauth.http, project, token), code, 400)


def test_upstreams_map_of_bundle_ids_is_read_too(oauth: OAuth) -> None:
    """The config file's shape: ``appleBundles.<id>.bundleId``."""
    project = oauth.project(shared("apple", appleBundles={"ios": {"bundleId": BUNDLE}}))
    r = _native(oauth.http, project, apple_id_token(BUNDLE, "apple-map"))
    assert r.status_code == 200, r.text
