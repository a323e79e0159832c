"""The dashboard's project settings in a real browser, checked through the live API."""

from __future__ import annotations

import re
from typing import Any

from tests.api.helpers import assert_known_error
from tests.conftest import ApiServer
from tests.dashboard.conftest import screenshot, sign_in
from tests.dashboard.helpers import (
    PASSWORD,
    admin_headers,
    admin_project,
    internal_sign_in,
    unique,
)


def test_toggle_sign_up_off_then_the_api_answers_sign_up_not_enabled(
    page: Any, api: ApiServer
) -> None:
    with api.client() as http:
        project = admin_project(http, "Sign-up toggle")
        # Set through the API, the page shows the passkey switch on and keeps it on when saving.
        r = http.patch(
            "/api/v1/internal/projects/current",
            headers=admin_headers(project.id, internal_sign_in(http)),
            json={"config": {"passkey_enabled": True}},
        )
        assert r.status_code == 200, r.text
    sign_in(page)
    page.goto(f"/projects/{project.id}/settings")
    assert page.get_by_label(re.compile("passkey", re.IGNORECASE)).is_checked()
    # The page offers only what works: no test email to wait for.
    text = page.locator("main").inner_text()
    for absent in ("test email", "email worker"):
        assert absent.lower() not in text.lower(), absent
    checkbox = page.get_by_label("Allow new users to sign up")
    assert checkbox.is_checked()
    checkbox.uncheck()
    page.get_by_role("button", name="Save sign-in settings").click()
    page.wait_for_url(f"**/projects/{project.id}/settings")
    assert "Sign-in settings saved" in page.locator(".flash-ok").inner_text()
    assert not page.get_by_label("Allow new users to sign up").is_checked()
    screenshot(page, "06_sign_up_disabled")

    body = {"email": f"{unique('late')}@example.com", "password": PASSWORD}
    with api.client() as http:
        r = http.post("/api/v1/auth/password/sign-up", headers=project.headers(), json=body)
        assert_known_error(r, "SIGN_UP_NOT_ENABLED", 400)
        # Other switches were saved as shown (password sign-in stays on).
        config = http.get("/api/v1/projects/current", headers=project.headers()).json()["config"]
    assert config["sign_up_enabled"] is False
    assert config["credential_enabled"] is True
    assert config["passkey_enabled"] is True

    page.get_by_label("Allow new users to sign up").check()
    page.get_by_role("button", name="Save sign-in settings").click()
    with api.client() as http:
        r = http.post("/api/v1/auth/password/sign-up", headers=project.headers(), json=body)
    assert r.status_code == 200, r.text


def test_toggle_passkeys_on_then_off_and_the_api_follows(page: Any, api: ApiServer) -> None:
    initiate = "/api/v1/auth/passkey/initiate-passkey-authentication"
    with api.client() as http:
        project = admin_project(http, "Passkey toggle")
        r = http.post(initiate, headers=project.headers(), json={})
        assert_known_error(r, "PASSKEY_AUTHENTICATION_NOT_ENABLED", 400)
    sign_in(page)
    page.goto(f"/projects/{project.id}/settings")
    switch = page.get_by_label(re.compile("^Passkey sign-in"))
    assert not switch.is_checked()
    switch.check()
    page.get_by_role("button", name="Save sign-in settings").click()
    page.wait_for_url(f"**/projects/{project.id}/settings")
    assert page.get_by_label(re.compile("^Passkey sign-in")).is_checked()
    screenshot(page, "06b_passkeys_enabled")
    with api.client() as http:
        config = http.get("/api/v1/projects/current", headers=project.headers()).json()["config"]
        assert config["passkey_enabled"] is True
        r = http.post(initiate, headers=project.headers(), json={})
        assert r.status_code == 200, r.text
        assert r.json()["options_json"]["rpId"] == "THIS_VALUE_WILL_BE_REPLACED.example.com"

    page.get_by_label(re.compile("^Passkey sign-in")).uncheck()
    page.get_by_role("button", name="Save sign-in settings").click()
    page.wait_for_url(f"**/projects/{project.id}/settings")
    assert not page.get_by_label(re.compile("^Passkey sign-in")).is_checked()
    with api.client() as http:
        r = http.post(initiate, headers=project.headers(), json={})
        assert_known_error(r, "PASSKEY_AUTHENTICATION_NOT_ENABLED", 400)


def test_toggle_common_password_refusal_off_then_the_api_accepts_one(
    page: Any, api: ApiServer
) -> None:
    with api.client() as http:
        project = admin_project(http, "Common passwords")
        body = {"email": f"{unique('common')}@example.com", "password": "password"}
        r = http.post("/api/v1/auth/password/sign-up", headers=project.headers(), json=body)
        assert_known_error(r, "PASSWORD_REQUIREMENTS_NOT_MET", 400)
    sign_in(page)
    page.goto(f"/projects/{project.id}/settings")
    checkbox = page.get_by_label("Refuse common passwords")
    assert checkbox.is_checked()
    checkbox.uncheck()
    page.get_by_role("button", name="Save sign-in settings").click()
    page.wait_for_url(f"**/projects/{project.id}/settings")
    assert not page.get_by_label("Refuse common passwords").is_checked()
    with api.client() as http:
        r = http.post("/api/v1/auth/password/sign-up", headers=project.headers(), json=body)
    assert r.status_code == 200, r.text


def test_add_a_trusted_domain(page: Any, api: ApiServer) -> None:
    with api.client() as http:
        project = admin_project(http, "Domains")
    callback = "https://app.example.com/handler/email-verification"
    body = {
        "email": f"{unique('dom')}@example.com",
        "password": PASSWORD,
        "verification_callback_url": callback,
    }
    with api.client() as http:
        r = http.post("/api/v1/auth/password/sign-up", headers=project.headers(), json=body)
        assert_known_error(r, "REDIRECT_URL_NOT_WHITELISTED", 400)

    sign_in(page)
    page.goto(f"/projects/{project.id}/settings")
    page.get_by_label("Domain URL").fill("https://app.example.com")
    page.get_by_role("button", name="Add domain").click()
    page.wait_for_url(f"**/projects/{project.id}/settings")
    assert (
        "https://app.example.com is now a trusted domain" in page.locator(".flash-ok").inner_text()
    )
    assert page.locator("code.domain").all_inner_texts() == ["https://app.example.com"]
    screenshot(page, "07_trusted_domain_added")

    with api.client() as http:
        r = http.post("/api/v1/auth/password/sign-up", headers=project.headers(), json=body)
        assert r.status_code == 200, r.text
        current = http.get(
            "/api/v1/internal/projects/current", headers=project.headers("admin")
        ).json()
    assert current["config"]["domains"] == [
        {"domain": "https://app.example.com", "handler_path": "/handler"}
    ]

    # A URL the API would refuse is refused with a readable message.
    page.get_by_label("Domain URL").fill("ftp://files.example.com")
    page.get_by_role("button", name="Add domain").click()
    assert "trusted domain is a URL" in page.locator(".flash-error").inner_text()


def test_new_project_allows_localhost_only_when_the_box_is_ticked(
    page: Any, api: ApiServer
) -> None:
    sign_in(page)
    created: dict[bool, str] = {}
    for tick in (False, True):
        page.goto("/projects")
        page.get_by_label("Name").fill(unique("Localhost app"))
        if tick:
            page.get_by_label("Allow redirects to localhost (for development)").check()
        page.get_by_role("button", name="Create project").click()
        page.wait_for_url(re.compile(r"/projects/[0-9a-f-]{36}/api-keys$"))
        created[tick] = page.url.rstrip("/").split("/")[-2]
    with api.client() as http:
        admin = internal_sign_in(http)
        for tick, project_id in created.items():
            config = http.get(
                "/api/v1/internal/projects/current", headers=admin_headers(project_id, admin)
            ).json()["config"]
            assert config["allow_localhost"] is tick
