"""Any OpenID Connect provider, found from its issuer URL: the config API's entry, the legacy
``oauth_providers`` item with ``issuer_url``, and every ID-token check (signature, ``iss``,
``aud``, ``nonce``, expiry) against an issuer that lies."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import assert_known_error
from tests.conftest import ApiServer, create_project
from tests.oauth.flow import GENERIC_SECRET, Browser, Flow, OAuth, code_from, generic, unique_login
from tests.oauth.rogue_issuer import MODES, SUBJECT


def test_generic_provider_signs_in_with_the_claims_of_its_id_token_and_userinfo(
    oauth: OAuth,
) -> None:
    project = oauth.project(generic("acme-sso", oauth.env.provider_url))
    login = unique_login("acme")
    tokens = oauth.sign_in(project, "acme-sso", login)
    assert tokens["is_new_user"] is True
    user = oauth.me(project, tokens["access_token"])
    assert (user["primary_email"], user["primary_email_verified"]) == (login, True)
    assert user["display_name"] == f"Name of {login}"  # scope "openid email profile"


def test_generic_provider_email_it_does_not_verify_stays_unverified(oauth: OAuth) -> None:
    project = oauth.project(generic("acme-sso", oauth.env.provider_url))
    address = unique_login("plain")
    tokens = oauth.sign_in(project, "acme-sso", f"unverified:{address}")
    user = oauth.me(project, tokens["access_token"])
    assert (user["primary_email"], user["primary_email_verified"]) == (address, False)


def test_legacy_config_adds_a_generic_provider_by_issuer_url(oauth: OAuth) -> None:
    """``PATCH /internal/projects/current`` with an ``oauth_providers`` item carrying
    ``issuer_url``; its callback is ``/api/v1/auth/oauth/callback/<its id>``."""
    project = oauth.project()
    item = {
        "id": "acme-legacy",
        "type": "standard",
        "client_id": "generic-oidc",
        "client_secret": GENERIC_SECRET,
        "issuer_url": oauth.env.provider_url,
    }
    r = oauth.http.patch(
        "/api/v1/internal/projects/current",
        headers=project.headers("admin"),
        json={"config": {"oauth_providers": [item]}},
    )
    assert r.status_code == 200, r.text
    listed = r.json()["config"]["oauth_providers"]
    assert [(p["id"], p["type"], p["issuer_url"]) for p in listed] == [
        ("acme-legacy", "standard", oauth.env.provider_url)
    ]
    tokens = oauth.sign_in(project, "acme-legacy", unique_login("legacy"))
    assert tokens["is_new_user"] is True


@pytest.mark.parametrize(
    "item",
    [
        {"id": "acme", "type": "standard", "client_id": "c", "client_secret": "s"},
        {"id": "acme", "type": "shared", "issuer_url": "https://idp.example.com"},
        {"id": "github", "type": "standard", "client_id": "c", "client_secret": "s",
         "issuer_url": "https://idp.example.com"},
    ],
    ids=["unknown-id-without-issuer", "issuer-with-shared-keys", "builtin-id-with-issuer"],
)  # fmt: skip
def test_legacy_provider_items_must_be_builtin_or_generic_with_own_keys(
    oauth: OAuth, item: dict[str, str]
) -> None:
    project = oauth.project()
    r = oauth.http.patch(
        "/api/v1/internal/projects/current",
        headers=project.headers("admin"),
        json={"config": {"oauth_providers": [item]}},
    )
    assert_known_error(r, "SCHEMA_ERROR", 400)


def _rogue_callback(oauth: OAuth, rogue: str, mode: str) -> httpx.Response:
    """The whole flow against the rogue issuer ``mode``: the callback's answer."""
    project = oauth.project(generic("rogue", f"{rogue}/{mode}"))
    flow = Flow(project, "rogue")
    with Browser(oauth.env) as browser:
        r = browser.authorize(flow)
        assert r.status_code == 307, r.text
        approved = browser.http.get(r.headers["location"])
        assert approved.status_code == 302, approved.text
        return browser.callback(approved.headers["location"])


def test_the_rogue_issuer_signs_in_when_it_tells_the_truth(oauth: OAuth, rogue: str) -> None:
    """The control for the attacks below: same flow, honest ID token, a new user."""
    r = _rogue_callback(oauth, rogue, "honest")
    assert r.status_code == 303, r.text
    assert "code=" in r.headers["location"]


@pytest.mark.parametrize("mode", [m for m in MODES if m != "honest"])
def test_an_id_token_that_fails_a_check_signs_nobody_in(
    oauth: OAuth, rogue: str, mode: str
) -> None:
    """Wrong ``aud``, wrong ``iss``, wrong or missing ``nonce``, a signature by another key under
    the published kid, or expired: refused, and no user is created."""
    r = _rogue_callback(oauth, rogue, mode)
    assert r.status_code == 400, r.text
    assert "ID token is not valid" in r.text
    assert "location" not in r.headers


def test_a_private_issuer_is_refused_by_default(api: ApiServer, rogue: str) -> None:
    """The session API keeps STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS at its default (off): a
    project's own issuer on loopback is never contacted."""
    project = create_project(api.database_url, generic("rogue", f"{rogue}/honest"))
    flow = Flow(project, "rogue")
    with api.client() as http:
        r = http.get("/api/v1/auth/oauth/authorize/rogue", params=flow.query())
    assert r.status_code == 400, r.text
    assert "private or reserved network" in r.text
    assert "location" not in r.headers


def test_rogue_subject_is_the_signed_in_account(oauth: OAuth, rogue: str) -> None:
    project = oauth.project(generic("rogue", f"{rogue}/honest"))
    flow = Flow(project, "rogue")
    with Browser(oauth.env) as browser:
        r = browser.authorize(flow)
        approved = browser.http.get(r.headers["location"])
        code = code_from(browser.callback(approved.headers["location"]), flow)
        tokens = browser.token(flow.token_form(code)).json()
    assert oauth.me(project, tokens["access_token"])["primary_email"] == SUBJECT
