"""An admin with TOTP signs in to the dashboard in two steps: password, then the current code."""

from __future__ import annotations

import base64
import os
import re
import time

import httpx
import pyotp

from tests.api.helpers import PASSWORD
from tests.conftest import ApiServer
from tests.dashboard.conftest import DashboardServer
from tests.dashboard.helpers import internal_client_headers, internal_sign_up, unique

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
ATTEMPT = re.compile(r'name="attempt_code" value="([0-9a-z]+)"')


def totp_admin(api: ApiServer) -> tuple[str, pyotp.TOTP]:
    """A new internal user with a TOTP secret: (email, its authenticator)."""
    email = f"{unique('mfa-admin')}@example.com"
    secret = os.urandom(20)
    with api.client() as http:
        token, _ = internal_sign_up(http, email)
        r = http.patch(
            "/api/v1/users/me",
            headers=internal_client_headers(token),
            json={"totp_secret_base64": base64.b64encode(secret).decode()},
        )
        assert r.status_code == 200, r.text
    return email, pyotp.TOTP(base64.b32encode(secret).decode())


def password_step(client: httpx.Client, email: str) -> tuple[str, str]:
    """Sign in with the password: (the MFA page's CSRF token, its attempt code)."""
    page = client.get("/sign-in")
    csrf = CSRF.search(page.text)
    assert csrf is not None
    r = client.post(
        "/sign-in",
        data={"csrf_token": csrf.group(1), "email": email, "password": PASSWORD, "next": "/"},
    )
    assert r.status_code == 200, r.text
    assert "Two-factor code" in r.text
    assert "authstack_session" not in r.cookies  # no session from the password alone
    csrf, attempt = CSRF.search(r.text), ATTEMPT.search(r.text)
    assert csrf is not None
    assert attempt is not None
    return csrf.group(1), attempt.group(1)


def current_code(totp: pyotp.TOTP) -> str:
    if time.time() % 30 > 26:  # not at a step's edge, so the API computes the same step
        time.sleep(4.5)
    return totp.now()


def test_an_admin_with_totp_needs_the_code_after_the_password(
    dashboard: DashboardServer, api: ApiServer
) -> None:
    email, totp = totp_admin(api)
    with httpx.Client(base_url=dashboard.url, timeout=30) as client:
        csrf, attempt = password_step(client, email)
        code = current_code(totp)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        r = client.post(
            "/sign-in/mfa",
            data={"csrf_token": csrf, "attempt_code": attempt, "totp": wrong, "next": "/"},
        )
        assert r.status_code == 400
        assert "not valid" in r.text
        assert "authstack_session" not in r.cookies
        r = client.post(
            "/sign-in/mfa",
            data={"csrf_token": csrf, "attempt_code": attempt, "totp": code, "next": "/"},
        )
        assert r.status_code == 303, r.text
        assert "authstack_session" in r.cookies
        projects = client.get("/projects")
        assert projects.status_code == 200
        assert "Create a project" in projects.text


def test_the_second_step_checks_csrf_and_a_dead_attempt_starts_over(
    dashboard: DashboardServer, api: ApiServer
) -> None:
    email, totp = totp_admin(api)
    with httpx.Client(base_url=dashboard.url, timeout=30) as client:
        csrf, attempt = password_step(client, email)
        forged = client.post(
            "/sign-in/mfa",
            data={"csrf_token": "0" * 64, "attempt_code": attempt, "totp": totp.now()},
        )
        assert forged.status_code == 403
        assert "authstack_session" not in forged.cookies
        unknown = client.post(
            "/sign-in/mfa",
            data={"csrf_token": csrf, "attempt_code": "a" * 45, "totp": totp.now()},
        )
        assert unknown.status_code == 400
        assert "Sign in again" in unknown.text
        assert "authstack_session" not in unknown.cookies
