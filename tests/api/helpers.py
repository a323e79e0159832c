"""Small helpers shared by the API tests: unique emails, sign-up, known-error assertions."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx

from tests.conftest import Project
from tests.factories import query_value

PASSWORD = "correct-horse-battery-1"


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def spell(headers: dict[str, str], prefix: str) -> dict[str, str]:
    """Rewrite ``x-stack-*`` header names to ``prefix`` (``x-stack-`` or ``x-hexclave-``)."""
    return {
        (prefix + k[len("x-stack-") :] if k.startswith("x-stack-") else k): v
        for k, v in headers.items()
    }


def assert_known_error(
    r: httpx.Response, code: str, status: int, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The response is the KnownError ``code`` in the contract's wire format; returns the body."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("x-stack-known-error") == code, r.headers
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = r.json()
    assert body["code"] == code
    assert isinstance(body["error"], str)
    assert body["error"]
    if details is not None:
        assert body.get("details") == details, body
    return body


def sign_up(
    http: httpx.Client,
    project: Project,
    email: str | None = None,
    password: str = PASSWORD,
    *,
    verification_callback_url: str | None = None,
    **extra_headers: str,
) -> dict[str, Any]:
    """Sign a new password user up as a client; returns {access_token, refresh_token, user_id}.

    With ``verification_callback_url``, the project also emails the address a verification link.
    """
    body = {"email": email or unique_email(), "password": password}
    if verification_callback_url is not None:
        body["verification_callback_url"] = verification_callback_url
    r = http.post(
        "/api/v1/auth/password/sign-up", headers=project.headers(**extra_headers), json=body
    )
    assert r.status_code == 200, r.text
    tokens: dict[str, Any] = r.json()
    return tokens


def sign_in_with_password(
    http: httpx.Client, project: Project, email: str, password: str
) -> httpx.Response:
    """The client's password sign-in, answer unchecked."""
    return http.post(
        "/api/v1/auth/password/sign-in",
        headers=project.headers(),
        json={"email": email, "password": password},
    )


def assert_sign_in_refused(http: httpx.Client, project: Project, email: str, password: str) -> None:
    """Signing in as ``email`` with ``password`` is refused with EMAIL_PASSWORD_MISMATCH."""
    r = sign_in_with_password(http, project, email, password)
    assert_known_error(r, "EMAIL_PASSWORD_MISMATCH", 400)


def set_password(http: httpx.Client, headers: dict[str, str], password: str) -> httpx.Response:
    """A signed-in user without a password sets one (``headers`` carry the user); unchecked."""
    return http.post("/api/v1/auth/password/set", headers=headers, json={"password": password})


def update_password(
    http: httpx.Client, headers: dict[str, str], old_password: str, new_password: str
) -> httpx.Response:
    """A signed-in user changes its password (``headers`` carry the user); unchecked."""
    return http.post(
        "/api/v1/auth/password/update",
        headers=headers,
        json={"old_password": old_password, "new_password": new_password},
    )


def as_user(project: Project, access_token: str, access_type: str = "client") -> dict[str, str]:
    return project.headers(access_type, **{"x-stack-access-token": access_token})


def admin_headers(project_id: str, admin_access_token: str) -> dict[str, str]:
    """Admin access to ``project_id`` by an internal user who administers it (owner team)."""
    return {
        "x-stack-access-type": "admin",
        "x-stack-project-id": project_id,
        "x-stack-admin-access-token": admin_access_token,
    }


def create_user(http: httpx.Client, project: Project, **body: Any) -> dict[str, Any]:
    """Create a user with the server key (POST /users); returns the server user object."""
    r = http.post("/api/v1/users", headers=project.headers("server"), json=body)
    assert r.status_code == 201, r.text
    user: dict[str, Any] = r.json()
    return user


def create_session(
    http: httpx.Client, project: Project, user_id: str, **body: Any
) -> dict[str, Any]:
    """Sign ``user_id`` in with the server key (POST /auth/sessions); returns its tokens.

    ``body`` adds fields to the request (``is_impersonation=True``).
    """
    r = http.post(
        "/api/v1/auth/sessions",
        headers=project.headers("server"),
        json={"user_id": user_id, **body},
    )
    assert r.status_code == 200, r.text
    session: dict[str, Any] = r.json()
    return session


def stored_password_hash(database_url: str, project: Project, user_id: str) -> str:
    """The user's password hash as the database holds it."""
    return str(
        query_value(
            database_url,
            "SELECT password_hash FROM password_auth_methods "
            "WHERE tenancy_id = %s AND user_id = %s",
            (project.tenancy_id, user_id),
        )
    )


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, payload) of a JWT, decoded without verification."""
    header_b64, payload_b64, _ = token.split(".")

    def decode(part: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return data

    return decode(header_b64), decode(payload_b64)


def refresh(http: httpx.Client, project: Project, refresh_token: str) -> httpx.Response:
    """The SDK's refresh call: form-encoded, no Stack headers."""
    return http.post(
        "/api/v1/auth/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": project.id,
            "client_secret": project.publishable_client_key,
        },
    )


def rendered_config(http: httpx.Client, admin: dict[str, str]) -> dict[str, Any]:
    """The project's rendered config (``GET /internal/config``), read with admin ``headers``."""
    r = http.get("/api/v1/internal/config", headers=admin)
    assert r.status_code == 200, r.text
    config: dict[str, Any] = json.loads(r.json()["config_string"])
    return config
