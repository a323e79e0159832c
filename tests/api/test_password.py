"""Password sign-up and sign-in (contract §5.1)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import httpx
import psycopg
import pytest

from tests.api.helpers import (
    PASSWORD,
    as_user,
    assert_known_error,
    assert_sign_in_refused,
    create_session,
    sign_in_with_password,
    sign_up,
    stored_password_hash,
    unique_email,
)
from tests.conftest import Project

SIGN_UP = "/api/v1/auth/password/sign-up"
SIGN_IN = "/api/v1/auth/password/sign-in"
REFRESH_TOKEN = re.compile(r"^[0-9a-hjkmnp-tv-z]{45}$")  # lowercase Crockford base32


def test_sign_up_returns_tokens_and_user_id(http: httpx.Client, project: Project) -> None:
    email = unique_email()
    r = http.post(SIGN_UP, headers=project.headers(), json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "refresh_token", "user_id"}
    assert REFRESH_TOKEN.match(body["refresh_token"]), body["refresh_token"]
    assert body["access_token"].count(".") == 2
    me = http.get("/api/v1/users/me", headers=as_user(project, body["access_token"]))
    assert me.json()["id"] == body["user_id"]
    assert me.json()["primary_email"] == email
    assert me.json()["has_password"] is True


def test_sign_up_tokens_are_different_for_every_session(
    http: httpx.Client, project: Project
) -> None:
    a, b = sign_up(http, project), sign_up(http, project)
    assert a["refresh_token"] != b["refresh_token"]
    assert a["user_id"] != b["user_id"]


@pytest.mark.parametrize("transform", [str, str.upper, str.title])
def test_duplicate_email_is_user_email_already_exists(
    http: httpx.Client, project: Project, transform: Callable[[str], str]
) -> None:
    email = unique_email("dup")
    sign_up(http, project, email)
    again = transform(email)
    r = http.post(SIGN_UP, headers=project.headers(), json={"email": again, "password": PASSWORD})
    assert_known_error(
        r,
        "USER_EMAIL_ALREADY_EXISTS",
        409,
        # The details carry the normalised address, whatever spelling the request used.
        details={"email": again.lower(), "would_work_if_email_was_verified": False},
    )


def test_same_email_may_sign_up_in_two_projects(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    email = unique_email("shared")
    a = sign_up(http, make_project(), email)
    b = sign_up(http, make_project(), email)
    assert a["user_id"] != b["user_id"]


@pytest.mark.parametrize("password", ["", "short", "1234567"])
def test_too_short_password_is_refused(http: httpx.Client, project: Project, password: str) -> None:
    r = http.post(
        SIGN_UP, headers=project.headers(), json={"email": unique_email(), "password": password}
    )
    assert_known_error(r, "PASSWORD_TOO_SHORT", 400, details={"min_length": 8})


def test_too_long_password_is_refused(http: httpx.Client, project: Project) -> None:
    r = http.post(
        SIGN_UP, headers=project.headers(), json={"email": unique_email(), "password": "p" * 71}
    )
    assert_known_error(r, "PASSWORD_TOO_LONG", 400, details={"maxLength": 70})


def test_password_limits_are_inclusive(http: httpx.Client, project: Project) -> None:
    # Not "p" * 8: that one is on the common-password list.
    for password in ("p4Q!x9Lz", "p" * 70):
        email = unique_email()
        sign_up(http, project, email, password)
        r = sign_in_with_password(http, project, email, password)
        assert r.status_code == 200, r.text


def test_seventy_character_multibyte_password_signs_in(
    http: httpx.Client, project: Project
) -> None:
    password = ("пароль-" * 10)[:70]  # 70 characters, 130 bytes: past bcrypt's 72-byte limit
    assert len(password) == 70
    email = unique_email()
    sign_up(http, project, email, password)
    r = sign_in_with_password(http, project, email, password)
    assert r.status_code == 200, r.text


def test_invalid_email_is_schema_error(http: httpx.Client, project: Project) -> None:
    r = http.post(
        SIGN_UP, headers=project.headers(), json={"email": "not-an-email", "password": PASSWORD}
    )
    assert_known_error(r, "SCHEMA_ERROR", 400)


def test_sign_up_disabled_is_refused(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"auth.allowSignUp": False})
    r = http.post(
        SIGN_UP, headers=project.headers(), json={"email": unique_email(), "password": PASSWORD}
    )
    assert_known_error(r, "SIGN_UP_NOT_ENABLED", 400)


def test_password_auth_disabled_refuses_sign_up_and_sign_in(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"auth.password.allowSignIn": False})
    body = {"email": unique_email(), "password": PASSWORD}
    r = http.post(SIGN_UP, headers=project.headers(), json=body)
    assert_known_error(r, "PASSWORD_AUTHENTICATION_NOT_ENABLED", 400)
    r = http.post(SIGN_IN, headers=project.headers(), json=body)
    assert_known_error(r, "PASSWORD_AUTHENTICATION_NOT_ENABLED", 400)


def test_sign_up_needs_project_auth(http: httpx.Client) -> None:
    r = http.post(SIGN_UP, json={"email": unique_email(), "password": PASSWORD})
    assert_known_error(r, "ACCESS_TYPE_REQUIRED", 400)


TRUSTED = {
    "domains.allowLocalhost": False,
    "domains.trustedDomains.x": {"baseUrl": "https://app.example.com", "handlerPath": "/handler"},
}


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:3000/handler/email-verification",
        "https://evil.example.com/handler/email-verification",
        "https://app.example.com.evil.com/handler",
        "http://app.example.com/handler/email-verification",
        "https://app.example.com:8443/handler/email-verification",
        "javascript:alert(1)",
    ],
)
def test_untrusted_verification_callback_url_is_refused(
    http: httpx.Client, make_project: Callable[..., Project], url: str
) -> None:
    project = make_project(TRUSTED)
    r = http.post(
        SIGN_UP,
        headers=project.headers(),
        json={"email": unique_email(), "password": PASSWORD, "verification_callback_url": url},
    )
    assert_known_error(r, "REDIRECT_URL_NOT_WHITELISTED", 400)


@pytest.mark.parametrize(
    ("config", "url"),
    [
        (TRUSTED, "https://app.example.com/handler/email-verification"),
        (TRUSTED, "https://app.example.com:443/handler/email-verification?after=1"),
        # A new project allows localhost.
        (None, "http://localhost:3000/handler/email-verification"),
    ],
)
def test_trusted_verification_callback_url_is_accepted(
    http: httpx.Client,
    make_project: Callable[..., Project],
    config: dict[str, object] | None,
    url: str,
) -> None:
    sign_up(http, make_project(config), verification_callback_url=url)


def test_sign_in_returns_a_new_session(http: httpx.Client, project: Project) -> None:
    email = unique_email()
    first = sign_up(http, project, email)
    r = sign_in_with_password(http, project, email, PASSWORD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "refresh_token", "user_id"}
    assert body["user_id"] == first["user_id"]
    assert body["refresh_token"] != first["refresh_token"]
    assert REFRESH_TOKEN.match(body["refresh_token"])


def test_sign_in_email_is_case_insensitive(http: httpx.Client, project: Project) -> None:
    email = unique_email()
    user = sign_up(http, project, email)
    r = sign_in_with_password(http, project, email.upper(), PASSWORD)
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == user["user_id"]


def test_wrong_password_and_unknown_email_give_identical_answers(
    http: httpx.Client, project: Project
) -> None:
    email = unique_email()
    sign_up(http, project, email)
    wrong = sign_in_with_password(http, project, email, "wrong-password-1")
    unknown = sign_in_with_password(http, project, unique_email("nobody"), "wrong-password-1")
    body = assert_known_error(wrong, "EMAIL_PASSWORD_MISMATCH", 400)
    assert "details" not in body
    assert_known_error(unknown, "EMAIL_PASSWORD_MISMATCH", 400)
    assert wrong.content == unknown.content


def test_user_of_another_project_cannot_sign_in_here(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    a, b = make_project(), make_project()
    email = unique_email()
    sign_up(http, a, email)
    assert_sign_in_refused(http, b, email, PASSWORD)


def test_refresh_token_is_stored_only_as_its_sha256(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    tokens = sign_up(http, project)
    plaintext = tokens["refresh_token"]
    with psycopg.connect(migrated_database) as conn:
        rows = conn.execute(
            "SELECT token_hash, rt::text FROM refresh_tokens rt WHERE tenancy_id = %s",
            (project.tenancy_id,),
        ).fetchall()
        dump = conn.execute(
            "SELECT count(*) FROM refresh_tokens rt WHERE rt::text ILIKE %s",
            (f"%{plaintext}%",),
        ).fetchone()
    assert len(rows) == 1
    assert bytes(rows[0][0]) == hashlib.sha256(plaintext.encode()).digest()
    assert plaintext not in rows[0][1]
    assert dump == (0,)


def test_password_is_stored_as_a_pre_hashed_bcrypt_hash(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    tokens = sign_up(http, project)
    stored = stored_password_hash(migrated_database, project, tokens["user_id"])
    # passlib's bcrypt_sha256 v2 format: bcrypt cost 10 over base64(HMAC-SHA256(salt, password)).
    assert re.fullmatch(
        r"\$bcrypt-sha256\$v=2,t=2b,r=10\$[./A-Za-z0-9]{22}\$[./A-Za-z0-9]{31}", stored
    )
    assert PASSWORD not in stored


def test_sign_up_with_anonymous_token_upgrades_that_user(
    http: httpx.Client, project: Project
) -> None:
    anon = http.post(
        "/api/v1/users", headers=project.headers("server"), json={"is_anonymous": True}
    ).json()
    session = create_session(http, project, anon["id"])
    email = unique_email("upgraded")
    r = http.post(
        SIGN_UP,
        headers={
            **as_user(project, session["access_token"]),
            "x-stack-allow-anonymous-user": "true",
        },
        json={"email": email, "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == anon["id"]
    me = http.get("/api/v1/users/me", headers=as_user(project, r.json()["access_token"])).json()
    assert me["is_anonymous"] is False
    assert me["primary_email"] == email
    assert me["has_password"] is True
