"""Attacks on the OAuth flow; each test fails if the defence it names is taken away.

ID-token forgeries against a generic provider are in ``test_generic_oidc.py``; taking over
accounts by email or by linking in ``test_merge.py``.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest

from tests.api.helpers import assert_known_error, sign_up
from tests.factories import query_rows
from tests.oauth.flow import Browser, Flow, OAuth, code_from, error_from, shared, unique_login


def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**query, name: value})))


# --- the inner flow: state and the CSRF cookie -------------------------------------------------
def test_callback_in_another_browser_is_refused_without_the_csrf_cookie(oauth: OAuth) -> None:
    """Login CSRF: the attacker signs in at the provider and sends the victim the callback URL.
    The victim's browser lacks the cookie the attacker's authorize set: no code is issued."""
    project = oauth.project(shared("github"))
    with Browser(oauth.env) as attacker:
        callback_url = attacker.to_callback(Flow(project, "github"), unique_login("attacker"))
    with Browser(oauth.env) as victim:
        r = victim.callback(callback_url)
    assert r.status_code == 400, r.text
    assert "Inner OAuth cookie not found" in r.text
    assert "location" not in r.headers


def test_callback_with_another_state_is_refused(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    with Browser(oauth.env) as browser:
        callback_url = browser.to_callback(Flow(project, "github"), unique_login())
        r = browser.callback(_with_param(callback_url, "state", secrets.token_urlsafe(32)))
    assert r.status_code == 400, r.text
    assert "Invalid OAuth state" in r.text


def test_a_replayed_callback_is_refused(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    flow = Flow(project, "github")
    with Browser(oauth.env) as browser:
        callback_url = browser.to_callback(flow, unique_login())
        code_from(browser.callback(callback_url), flow)
        again = browser.callback(callback_url)
    assert again.status_code == 400, again.text
    assert "Invalid OAuth state" in again.text


def test_callback_for_another_provider_id_is_refused(oauth: OAuth) -> None:
    project = oauth.project(shared("github"), shared("gitlab"))
    with Browser(oauth.env) as browser:
        callback_url = browser.to_callback(Flow(project, "github"), unique_login())
        r = browser.callback(callback_url.replace("/callback/github", "/callback/gitlab"))
    assert r.status_code == 400, r.text


def test_an_expired_flow_goes_to_the_error_url_with_outer_oauth_timeout(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    with Browser(oauth.env) as browser:
        callback_url = browser.to_callback(Flow(project, "github"), unique_login())
        query_rows(
            oauth.env.database_url,
            "UPDATE oauth_outer_infos SET expires_at = now() - interval '1 second' "
            "WHERE tenancy_id = %s RETURNING 1",
            (project.tenancy_id,),
        )
        r = browser.callback(callback_url)
    assert error_from(r)["errorCode"] == "OUTER_OAUTH_TIMEOUT"


def test_the_callback_also_accepts_a_posted_answer(oauth: OAuth) -> None:
    """``response_mode=form_post`` (Apple): the same parameters in a form body."""
    project = oauth.project(shared("github"))
    flow = Flow(project, "github")
    with Browser(oauth.env) as browser:
        callback_url = browser.to_callback(flow, unique_login())
        parts = urlsplit(callback_url)
        form = {k: v[0] for k, v in parse_qs(parts.query).items()}
        r = browser.http.post(urlunsplit(parts._replace(query="")), data=form)
        assert browser.token(flow.token_form(code_from(r, flow))).status_code == 200


# --- the outer flow: PKCE, one use, the redirect URI ---------------------------------------------
def _code(browser: Browser, flow: Flow) -> str:
    return code_from(browser.callback(browser.to_callback(flow, unique_login())), flow)


@pytest.mark.parametrize("verifier", [None, "wrong-" + "v" * 50], ids=["missing", "wrong"])
def test_the_code_needs_its_pkce_verifier(oauth: OAuth, verifier: str | None) -> None:
    project = oauth.project(shared("github"))
    flow = Flow(project, "github")
    with Browser(oauth.env) as browser:
        code = _code(browser, flow)
        form = flow.token_form(code)
        if verifier is None:
            del form["code_verifier"]
        else:
            form["code_verifier"] = verifier
        assert_known_error(browser.token(form), "INVALID_AUTHORIZATION_CODE", 400)
        # Refused before it was spent: its rightful owner still redeems it.
        assert browser.token(flow.token_form(code)).status_code == 200


def test_a_code_works_once(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    flow = Flow(project, "github")
    with Browser(oauth.env) as browser:
        code = _code(browser, flow)
        assert browser.token(flow.token_form(code)).status_code == 200
        assert_known_error(browser.token(flow.token_form(code)), "INVALID_AUTHORIZATION_CODE", 400)


def test_the_code_is_bound_to_its_redirect_uri(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    flow = Flow(project, "github")
    with Browser(oauth.env) as browser:
        code = _code(browser, flow)
        # Trusted too (localhost is allowed), but not the one the code was issued for.
        swapped = flow.token_form(code, redirect_uri="http://localhost:3000/elsewhere")
        r = browser.token(swapped)
        assert r.status_code == 400
        assert "Invalid redirect URI" in r.text
        assert browser.token(flow.token_form(code)).status_code == 200


def test_a_code_of_another_project_is_invalid(oauth: OAuth) -> None:
    project, other = oauth.project(shared("github")), oauth.project(shared("github"))
    flow = Flow(project, "github")
    with Browser(oauth.env) as browser:
        code = _code(browser, flow)
        stolen = flow.token_form(
            code, client_id=other.id, client_secret=other.publishable_client_key
        )
        assert_known_error(browser.token(stolen), "INVALID_AUTHORIZATION_CODE", 400)


@pytest.mark.parametrize(
    "param", ["redirect_uri", "error_redirect_url", "after_callback_redirect_url"]
)
def test_untrusted_urls_are_refused_before_any_redirect(oauth: OAuth, param: str) -> None:
    project = oauth.project(shared("github"))
    with Browser(oauth.env) as browser:
        r = browser.authorize(Flow(project, "github"), **{param: "https://evil.example.com/cb"})
    assert_known_error(r, "REDIRECT_URL_NOT_WHITELISTED", 400)
    assert "location" not in r.headers
    assert "set-cookie" not in r.headers
    assert (
        query_rows(
            oauth.env.database_url,
            "SELECT 1 FROM oauth_outer_infos WHERE tenancy_id = %s",
            (project.tenancy_id,),
        )
        == []
    )


def test_extra_scopes_are_refused_with_shared_keys(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    with Browser(oauth.env) as browser:
        r = browser.authorize(Flow(project, "github"), provider_scope="repo admin:org")
    assert_known_error(r, "OAUTH_EXTRA_SCOPE_NOT_AVAILABLE_WITH_SHARED_OAUTH_KEYS", 400)


def test_a_token_of_another_project_cannot_link(oauth: OAuth) -> None:
    project, other = oauth.project(shared("github")), oauth.project(shared("github"))
    stranger = sign_up(oauth.http, other)
    with Browser(oauth.env) as browser:
        r = browser.authorize(Flow(project, "github"), type="link", token=stranger["access_token"])
    assert r.status_code == 403, r.text
    assert "location" not in r.headers


def test_linking_needs_a_token(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    with Browser(oauth.env) as browser:
        r = browser.authorize(Flow(project, "github"), type="link")
    assert r.status_code == 400, r.text
