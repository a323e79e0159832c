"""The official SDK's passkey calls in Chromium, with a virtual WebAuthn authenticator, once per
pinned SDK version.

``sdk/passkey/app.js`` is a tiny app on ``@stackframe/js``, bundled for the browser by esbuild
(aliased to each version's package) and served on ``http://localhost:<port>``. Chromium's
authenticator is a virtual one added through the DevTools protocol (``WebAuthn`` domain: CTAP2,
internal, resident keys, user verification, presence simulated), so ``navigator.credentials``
really creates and uses a key pair; the SDK's ``@simplewebauthn/browser`` drives it.

The flow: password sign-up through the SDK, ``user.registerPasskey()`` (the authenticator then
holds one discoverable credential for ``localhost``, the API stored that credential and says
``passkey_auth_enabled``), sign-out, ``stackApp.signInWithPasskey()`` (the SDK goes on to
``afterSignIn``, where the same user is signed in; the stored counter follows the authenticator's).
Then the project's passkey switch goes off: ``signInWithPasskey()`` answers an error and no
session, without asking the authenticator. Every ``/auth/passkey/*`` request the SDK sends passes
through Playwright's routing, which notes it before handing the API's answer back to the page, and
is checked (paths, the version's headers, bodies, answers).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ApiServer
from tests.e2e.browser_app import app_on_localhost, bundle_per_version
from tests.e2e.test_sdk import VERSIONS, node_ready
from tests.factories import Project, create_project, query_row

__all__ = ["node_ready"]  # the SDK's node_modules, a fixture of test_sdk.py

PASSKEY_PREFIX = "/api/v1/auth/passkey/"
SENTINEL_RP_ID = "THIS_VALUE_WILL_BE_REPLACED.example.com"  # what the SDK expects and replaces
PASSWORD = "correct-horse-battery-staple-1"
# The headers' prefix each SDK version sends (2.8.108 renamed them).
HEADER_PREFIX = {"2.8.108": "x-hexclave-", "2.8.102": "x-stack-"}
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture(scope="module")
def bundles(node_ready: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``sdk/passkey/app.js`` bundled once per SDK version: version -> the folder holding it."""
    return bundle_per_version("passkey/app.js", tmp_path_factory.mktemp("sdk-passkey"))


@dataclass
class Exchange:
    """One ``/auth/passkey/*`` request the SDK sent, and the API's answer."""

    route: str  # the path after /api/v1/auth/passkey/
    headers: dict[str, str]
    body: Any
    status: int  # the API's status (the SDK asks for errors as 200 + x-stack-actual-status)
    known_error: str | None
    answer: Any


@dataclass
class Wire:
    """The page's ``/auth/passkey/*`` exchanges, in order."""

    exchanges: list[Exchange] = field(default_factory=list)

    def on_route(self, route: Any) -> None:
        """Pass a request the page sends to ``/auth/passkey/*`` on to the API, note the exchange,
        then hand the API's answer to the page (which therefore sees it only once noted)."""
        request = route.request
        if request.method != "POST":  # a CORS preflight goes on untouched
            route.continue_()
            return
        response = route.fetch()
        try:
            answer = response.json()
        except ValueError:  # an answer that is not JSON is kept as text
            answer = response.text()
        path = "/" + request.url.split("?")[0].split("://", 1)[1].partition("/")[2]
        self.exchanges.append(
            Exchange(
                route=path.removeprefix(PASSKEY_PREFIX),
                headers=dict(request.headers),
                body=request.post_data_json,
                status=int(response.headers.get("x-stack-actual-status", response.status)),
                known_error=response.headers.get("x-stack-known-error"),
                answer=answer,
            )
        )
        route.fulfill(response=response)

    def take(self, *routes: str) -> list[Exchange]:
        """The exchanges since the last take; they must be to ``routes``, in that order."""
        taken, self.exchanges = self.exchanges, []
        assert [e.route for e in taken] == list(routes), [(e.route, e.status) for e in taken]
        return taken


@dataclass
class Browser:
    """The app's page, its virtual authenticator and the recorded passkey exchanges."""

    page: Any
    cdp: Any
    authenticator_id: str
    wire: Wire
    app_url: str

    def call(self, expression: str, *args: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.page.evaluate(expression, list(args))
        return result

    def credentials(self) -> list[dict[str, Any]]:
        found = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id})
        credentials: list[dict[str, Any]] = found["credentials"]
        return credentials

    def sign_out(self) -> None:
        """``signOut()``, which goes on to ``/`` (afterSignOut), where nobody is signed in."""
        with self.page.expect_navigation(url=f"{self.app_url}/"):
            self.page.evaluate("() => window.startSignOut()")
        self.page.locator("body[data-ready]").wait_for(state="attached")
        assert self.call("() => window.currentUser()")["user"] is None

    def sign_in_with_passkey(self) -> None:
        """``signInWithPasskey()``: it succeeds when the SDK then goes on to ``/signed-in``."""
        with self.page.expect_navigation(url=f"{self.app_url}/signed-in"):
            self.page.evaluate("() => window.startPasskeySignIn()")

    def signed_in_user(self) -> dict[str, Any]:
        body = self.page.locator("body[data-user], body[data-error]")
        body.wait_for(state="attached")
        assert body.get_attribute("data-error") is None, body.get_attribute("data-error")
        user: dict[str, Any] = json.loads(body.get_attribute("data-user"))
        return user

    def failed_passkey_sign_in(self) -> dict[str, Any]:
        self.page.evaluate("() => window.startPasskeySignIn()")
        body = self.page.locator("body[data-passkey-sign-in]")
        body.wait_for(state="attached")
        outcome: dict[str, Any] = json.loads(body.get_attribute("data-passkey-sign-in"))
        return outcome


@contextmanager
def app_in_chromium(
    browser: Any, bundle: Path, api_url: str, project: Project
) -> Iterator[Browser]:
    """The app's page in a new browser context with a virtual authenticator of its own."""
    config = {"baseUrl": api_url, "projectId": project.id,
              "publishableClientKey": project.publishable_client_key}  # fmt: skip
    context = browser.new_context()
    context.set_default_timeout(20_000)
    try:
        with app_on_localhost(bundle, config, "SDK passkey app") as served:
            app_url = served.url
            page = context.new_page()
            wire = Wire()
            page.route(f"{api_url}{PASSKEY_PREFIX}**", wire.on_route)
            cdp = context.new_cdp_session(page)
            cdp.send("WebAuthn.enable")
            added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
            page.goto(app_url + "/")
            page.locator("body[data-ready]").wait_for(state="attached")
            yield Browser(page, cdp, added["authenticatorId"], wire, app_url)
    finally:
        context.close()


def _set_passkey_switch(api: ApiServer, project: Project, on: bool) -> None:
    """``auth.passkey.allowSignIn`` through the admin config API."""
    override = json.dumps({"auth.passkey.allowSignIn": on})
    with api.client() as http:
        r = http.patch(
            "/api/v1/internal/config/override/branch",
            headers=project.headers("admin"),
            json={"config_override_string": override},
        )
        assert r.status_code == 200, r.text
        config = http.get("/api/v1/projects/current", headers=project.headers()).json()["config"]
    assert config["passkey_enabled"] is on


def _b64url(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _client_data(response: dict[str, Any]) -> dict[str, Any]:
    client_data: dict[str, Any] = json.loads(_b64url(response["clientDataJSON"]))
    return client_data


def _assert_sdk_headers(exchange: Exchange, version: str, project: Project, user: bool) -> None:
    """The SDK's client headers (its version's prefix); a user's access token when signed in."""
    prefix = HEADER_PREFIX[version]
    assert exchange.headers[f"{prefix}access-type"] == "client"
    assert exchange.headers[f"{prefix}project-id"] == project.id
    assert exchange.headers[f"{prefix}publishable-client-key"] == project.publishable_client_key
    assert (f"{prefix}access-token" in exchange.headers) is user


def _register(app: Browser, version: str, project: Project) -> dict[str, Any]:
    """``user.registerPasskey()``; the authenticator's one credential."""
    registered = app.call("() => window.registerPasskey()")
    assert registered["status"] == "ok", registered
    assert registered["user"]["passkeyAuthEnabled"] is True  # the SDK's refreshed user

    initiate, register = app.wire.take("initiate-passkey-registration", "register")
    _assert_sdk_headers(initiate, version, project, user=True)
    assert (initiate.body, initiate.status) == ({}, 200)
    options = initiate.answer["options_json"]
    assert options["rp"]["id"] == SENTINEL_RP_ID
    assert options["authenticatorSelection"]["residentKey"] == "required"

    _assert_sdk_headers(register, version, project, user=True)
    assert register.status == 200, register.answer
    assert set(register.body) == {"credential", "code"}
    assert register.body["code"] == initiate.answer["code"]
    credential = register.body["credential"]
    assert credential["type"] == "public-key"
    assert credential["id"] == credential["rawId"]
    client_data = _client_data(credential["response"])
    assert client_data["type"] == "webauthn.create"
    assert client_data["origin"] == app.app_url
    assert client_data["challenge"] == options["challenge"]
    assert set(register.answer) == {"user_handle"}

    (stored,) = app.credentials()
    assert stored["rpId"] == "localhost"  # the SDK put the page's hostname for the sentinel
    assert stored["isResidentCredential"] is True
    assert _b64url(credential["id"]) == base64.b64decode(stored["credentialId"])
    assert base64.b64decode(stored["userHandle"]) == _b64url(options["user"]["id"])
    return stored


def _server_user(api: ApiServer, project: Project, user_id: str) -> dict[str, Any]:
    with api.client() as http:
        r = http.get(f"/api/v1/users/{user_id}", headers=project.headers("server"))
    assert r.status_code == 200, r.text
    user: dict[str, Any] = r.json()
    return user


def _sign_in(app: Browser, version: str, project: Project, stored: dict[str, Any]) -> str:
    """``signInWithPasskey()`` with the registered credential; the signed-in user's id."""
    app.sign_in_with_passkey()
    user = app.signed_in_user()

    initiate, sign_in = app.wire.take("initiate-passkey-authentication", "sign-in")
    _assert_sdk_headers(initiate, version, project, user=False)
    assert (initiate.body, initiate.status) == ({}, 200)
    options = initiate.answer["options_json"]
    assert (options["rpId"], options.get("allowCredentials", [])) == (SENTINEL_RP_ID, [])

    _assert_sdk_headers(sign_in, version, project, user=False)
    assert sign_in.status == 200, sign_in.answer
    assert set(sign_in.body) == {"authentication_response", "code"}
    assert sign_in.body["code"] == initiate.answer["code"]
    response = sign_in.body["authentication_response"]
    assert response["id"] == _b64url_text(stored["credentialId"])
    client_data = _client_data(response["response"])
    assert (client_data["type"], client_data["origin"]) == ("webauthn.get", app.app_url)
    assert client_data["challenge"] == options["challenge"]
    assert (sign_in.answer["user_id"], sign_in.answer["is_new_user"]) == (user["id"], False)
    user_id: str = user["id"]
    return user_id


def _refused_when_switched_off(app: Browser) -> None:
    """With the passkey switch off, ``signInWithPasskey()`` answers an error, nobody is signed
    in, and the authenticator was not asked."""
    (before,) = app.credentials()
    refused = app.failed_passkey_sign_in()
    assert refused["status"] == "error", refused
    assert refused["error"]["code"] == "PASSKEY_AUTHENTICATION_FAILED"  # the SDK's wrapper
    assert refused["user"] is None
    (initiate,) = app.wire.take("initiate-passkey-authentication")
    not_enabled = "PASSKEY_AUTHENTICATION_NOT_ENABLED"
    assert (initiate.status, initiate.known_error) == (400, not_enabled)
    assert initiate.answer["code"] == not_enabled
    assert app.credentials() == [before]


def _stored_passkey(api: ApiServer, project: Project, user_id: str) -> tuple[str, int]:
    """The user's passkey as the API stored it: (credential id, signature counter)."""
    row = query_row(
        api.database_url,
        "SELECT credential_id, counter FROM passkey_auth_methods "
        "WHERE tenancy_id = %s AND user_id = %s",
        (project.tenancy_id, user_id),
    )
    assert row is not None, "no stored passkey"
    return row[0], row[1]


@pytest.mark.parametrize("version", VERSIONS)
def test_sdk_registers_a_passkey_and_signs_in_with_it_in_chromium(
    browser: Any, bundles: dict[str, Path], api: ApiServer, version: str
) -> None:
    """registerPasskey, then signInWithPasskey signs the same user in; with the project's passkey
    switch off, signInWithPasskey is refused and nobody is signed in."""
    project = create_project(api.database_url)
    _set_passkey_switch(api, project, True)
    email = f"passkey-{version.replace('.', '')}-{uuid.uuid4().hex[:10]}@example.com"

    with app_in_chromium(browser, bundles[version], api.url, project) as app:
        signed_up = app.call("([email, password]) => window.signUp(email, password)", email,
                             PASSWORD)  # fmt: skip
        assert signed_up["status"] == "ok", signed_up
        user = signed_up["user"]
        assert (user["primaryEmail"], user["passkeyAuthEnabled"]) == (email, False)
        assert app.credentials() == []

        stored = _register(app, version, project)
        assert _server_user(api, project, user["id"])["passkey_auth_enabled"] is True
        credential_id = _b64url_text(stored["credentialId"])
        assert _stored_passkey(api, project, user["id"]) == (credential_id, stored["signCount"])

        app.sign_out()
        assert _sign_in(app, version, project, stored) == user["id"]
        (used,) = app.credentials()
        assert used["signCount"] > stored["signCount"]
        assert _stored_passkey(api, project, user["id"]) == (credential_id, used["signCount"])

        _set_passkey_switch(api, project, False)
        app.page.goto(app.app_url + "/")
        app.page.locator("body[data-ready]").wait_for(state="attached")
        app.sign_out()
        _refused_when_switched_off(app)


def _b64url_text(standard: str) -> str:
    """A base64 (standard, padded) string as base64url without padding, as WebAuthn JSON has."""
    return base64.urlsafe_b64encode(base64.b64decode(standard)).decode().rstrip("=")
