"""Driving a whole OAuth sign-in over HTTP, as a browser and an app (the SDK) would.

``Flow`` is one app's attempt: its PKCE pair and state. ``Browser`` keeps one cookie jar across
the API and the provider, follows nothing by itself, and answers the provider's development login
and consent forms. ``sign_in`` runs authorize -> provider login -> callback -> app redirect ->
token, asserting each hop's status on the way.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.api.helpers import as_user
from tests.factories import Project, create_project

# Every built-in provider; the API under test has MOCK shared keys for each.
BUILTIN = ("github", "google", "microsoft", "discord", "gitlab", "bitbucket", "linkedin",
           "spotify", "twitch", "x", "facebook", "apple")  # fmt: skip
GENERIC_SECRET = "generic-oidc-secret-for-tests"
APP_CALLBACK = "http://localhost:3000/handler/oauth-callback"
ERROR_CALLBACK = "http://localhost:3000/handler/oauth-error"
CALLBACK_PATH = "/api/v1/auth/oauth/callback/"


@dataclass(frozen=True)
class OAuthEnv:
    api_url: str
    database_url: str
    provider_url: str


def shared(provider_type: str, **extra: Any) -> dict[str, Any]:
    """A config entry enabling a built-in provider with the shared (here: MOCK) keys."""
    return {
        f"auth.oauth.providers.{provider_type}": {
            "type": provider_type,
            "isShared": True,
            "allowSignIn": True,
            "allowConnectedAccounts": True,
            **extra,
        }
    }


def generic(config_id: str, issuer_url: str, client_id: str = "generic-oidc") -> dict[str, Any]:
    """A config entry of a generic OpenID Connect provider, found by its issuer URL."""
    return {
        f"auth.oauth.providers.{config_id}": {
            "type": "custom_oidc",
            "isShared": False,
            "clientId": client_id,
            "clientSecret": GENERIC_SECRET,
            "issuerUrl": issuer_url,
            "allowSignIn": True,
            "allowConnectedAccounts": True,
        }
    }


def oauth_project(env: OAuthEnv, *entries: dict[str, Any], **config: Any) -> Project:
    merged: dict[str, Any] = {}
    for entry in entries:
        merged.update(entry)
    return create_project(env.database_url, {**merged, **config})


def unique_login(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(5)}@example.com"


@dataclass
class Flow:
    """One sign-in attempt of an app: its state and S256 PKCE pair."""

    project: Project
    provider_id: str
    redirect_uri: str = APP_CALLBACK
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def query(self, **extra: str) -> dict[str, str]:
        """The authorize query the SDK sends (contract §5.2), plus ``extra``."""
        return {
            "client_id": self.project.id,
            "client_secret": self.project.publishable_client_key,
            "redirect_uri": self.redirect_uri,
            "scope": "legacy",
            "state": self.state,
            "grant_type": "authorization_code",
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
            "response_type": "code",
            "type": "authenticate",
            "error_redirect_url": ERROR_CALLBACK,
            **extra,
        }

    def token_form(self, code: str, **extra: str) -> dict[str, str]:
        return {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.verifier,
            "client_id": self.project.id,
            "client_secret": self.project.publishable_client_key,
            **extra,
        }


class Browser:
    """One browser: a cookie jar shared by the API and the provider, no automatic redirects."""

    def __init__(self, env: OAuthEnv) -> None:
        self.env = env
        self.http = httpx.Client(follow_redirects=False, timeout=30)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def authorize(self, flow: Flow, **extra: str) -> httpx.Response:
        url = f"{self.env.api_url}/api/v1/auth/oauth/authorize/{flow.provider_id}"
        return self.http.get(url, params=flow.query(**extra))

    def login_at_provider(self, location: str, login: str) -> str:
        """Go through the provider's login and consent; the callback URL it sends us to."""
        url = location
        for _ in range(12):
            if CALLBACK_PATH in urlsplit(url).path:
                return url
            r = self.http.get(url)
            if r.status_code in (302, 303):
                url = urljoin(url, r.headers["location"])
                continue
            assert r.status_code == 200, f"{r.status_code} at {url}: {r.text[:300]}"
            form = (
                {"prompt": "login", "login": login, "password": "any"}
                if 'value="login"' in r.text
                else {"prompt": "consent"}
            )
            submitted = self.http.post(url, data=form)
            assert submitted.status_code in (302, 303), submitted.text[:300]
            url = urljoin(url, submitted.headers["location"])
        raise AssertionError(f"the provider never sent us back to the callback (at {url})")

    def to_callback(self, flow: Flow, login: str, **extra: str) -> str:
        """Authorize (redirect mode) and sign in at the provider: the provider's callback URL."""
        r = self.authorize(flow, **extra)
        assert r.status_code == 307, r.text
        return self.login_at_provider(r.headers["location"], login)

    def callback(self, url: str) -> httpx.Response:
        return self.http.get(url)

    def token(self, form: dict[str, str]) -> httpx.Response:
        return self.http.post(f"{self.env.api_url}/api/v1/auth/oauth/token", data=form)


def code_from(response: httpx.Response, flow: Flow) -> str:
    """The code of a callback's 303 to the app, after checking where it went."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(flow.redirect_uri), location
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [flow.state]
    return query["code"][0]


def error_from(response: httpx.Response) -> dict[str, str]:
    """The query of a callback's redirect to the app's error_redirect_url."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(ERROR_CALLBACK), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(env: OAuthEnv, flow: Flow, login: str, **authorize_extra: str) -> dict[str, Any]:
    """The whole flow in a fresh browser; the token endpoint's JSON answer."""
    with Browser(env) as browser:
        callback_url = browser.to_callback(flow, login, **authorize_extra)
        code = code_from(browser.callback(callback_url), flow)
        r = browser.token(flow.token_form(code))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def me(http: httpx.Client, project: Project, access_token: str) -> dict[str, Any]:
    """The signed-in user as a client reads it (anonymous users allowed)."""
    headers = {**as_user(project, access_token), "x-stack-allow-anonymous-user": "true"}
    r = http.get("/api/v1/users/me", headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@dataclass(frozen=True)
class OAuth:
    """One test's OAuth API and its client, with the steps most tests take: a project with
    providers, a whole sign-in as a fresh app attempt, and the user it signed in."""

    env: OAuthEnv
    http: httpx.Client

    def project(self, *entries: dict[str, Any], **config: Any) -> Project:
        return oauth_project(self.env, *entries, **config)

    def sign_in(
        self, project: Project, provider: str, login: str, **authorize_extra: str
    ) -> dict[str, Any]:
        return sign_in(self.env, Flow(project, provider), login, **authorize_extra)

    def me(self, project: Project, access_token: str) -> dict[str, Any]:
        return me(self.http, project, access_token)
