"""Password policy over the API: every byte counts, common passwords are refused (per project),
and imported argon2id / scrypt / PBKDF2 / bcrypt hashes sign in and are upgraded."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import argon2
import bcrypt
import httpx
import pytest
from passlib.hash import pbkdf2_sha256 as passlib_pbkdf2
from passlib.hash import scrypt as passlib_scrypt
from werkzeug.security import generate_password_hash

from tests.api.helpers import (
    PASSWORD,
    as_user,
    assert_known_error,
    assert_sign_in_refused,
    create_session,
    create_user,
    rendered_config,
    set_password,
    sign_in_with_password,
    sign_up,
    stored_password_hash,
    unique_email,
    update_password,
)
from tests.conftest import Project

SIGN_UP = "/api/v1/auth/password/sign-up"
USERS = "/api/v1/users"
E36 = "é" * 36  # 36 characters, 72 bytes: all that plain bcrypt reads
TOO_COMMON = {
    "message": "This password is too common. Choose a less predictable one.",
    "reason": "PASSWORD_TOO_COMMON",
}


def _assert_too_common(r: httpx.Response) -> None:
    assert_known_error(r, "PASSWORD_REQUIREMENTS_NOT_MET", 400, details=TOO_COMMON)


# --- pre-hashing ---------------------------------------------------------------------------------


def test_characters_past_bcrypts_72_bytes_count(http: httpx.Client, project: Project) -> None:
    email = unique_email("long")
    sign_up(http, project, email, password=E36 + "SUFFIX1")
    assert_sign_in_refused(http, project, email, E36)
    assert_sign_in_refused(http, project, email, E36 + "SUFFIX2")
    assert sign_in_with_password(http, project, email, E36 + "SUFFIX1").status_code == 200


# --- common passwords ----------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["password", "12345678", "Password", "qwertyuiop"])
def test_sign_up_with_a_common_password_is_refused(
    http: httpx.Client, project: Project, password: str
) -> None:
    email = unique_email("common")
    r = http.post(SIGN_UP, headers=project.headers(), json={"email": email, "password": password})
    _assert_too_common(r)
    # Nothing was created: the address is still free.
    assert_sign_in_refused(http, project, email, password)
    sign_up(http, project, email)


def test_every_way_of_setting_a_password_refuses_common_ones(
    http: httpx.Client, project: Project
) -> None:
    tokens = sign_up(http, project)
    me = as_user(project, tokens["access_token"])
    r = update_password(http, me, PASSWORD, "iloveyou")
    _assert_too_common(r)

    passwordless = create_user(http, project, primary_email=unique_email())
    session = create_session(http, project, passwordless["id"])
    r = set_password(http, as_user(project, session["access_token"]), "sunshine")
    _assert_too_common(r)

    r = http.post(USERS, headers=project.headers("server"), json={"password": "football"})
    _assert_too_common(r)
    r = http.patch(
        f"{USERS}/{tokens['user_id']}",
        headers=project.headers("server"),
        json={"password": "baseball"},
    )
    _assert_too_common(r)
    # The refused changes left the password as it was.
    assert (
        sign_in_with_password(http, project, _email_of(http, project, tokens), PASSWORD).status_code
        == 200
    )


def _email_of(http: httpx.Client, project: Project, tokens: dict[str, Any]) -> str:
    user = http.get(f"{USERS}/{tokens['user_id']}", headers=project.headers("server")).json()
    return str(user["primary_email"])


def test_common_passwords_already_in_place_still_sign_in(
    http: httpx.Client, project: Project
) -> None:
    """The list governs new passwords only: an imported hash of one keeps working."""
    email = unique_email("legacy-common")
    hashed = bcrypt.hashpw(b"password", bcrypt.gensalt(10)).decode()
    create_user(
        http, project, primary_email=email, primary_email_auth_enabled=True, password_hash=hashed
    )
    assert sign_in_with_password(http, project, email, "password").status_code == 200


def test_a_project_can_turn_the_common_password_check_off(
    http: httpx.Client, project: Project, make_project: Any
) -> None:
    relaxed = make_project({"auth.password.rejectCommonPasswords": False})
    email = unique_email("relaxed")
    sign_up(http, relaxed, email, password="password")
    assert sign_in_with_password(http, relaxed, email, "password").status_code == 200

    # The same switch through the admin API: written through the legacy project config object,
    # which does not show it (upstream's has no such field); the rendered config does.
    admin = project.headers("admin")
    assert rendered_config(http, admin)["auth"]["password"]["rejectCommonPasswords"] is True
    r = http.patch(
        "/api/v1/internal/projects/current",
        headers=admin,
        json={"config": {"reject_common_passwords": False}},
    )
    assert r.status_code == 200, r.text
    assert "reject_common_passwords" not in r.json()["config"]
    assert rendered_config(http, admin)["auth"]["password"]["rejectCommonPasswords"] is False
    sign_up(http, project, password="12345678")


# --- imported hashes -----------------------------------------------------------------------------

IMPORTED_PASSWORD = "Tr0ub4dor&3-imported-é"


def _django_pbkdf2(password: str) -> str:
    salt, iterations = "bS2ZdQk4Vx7LrJ1p", 120_000
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


def _django_scrypt(password: str) -> str:
    salt, n, r, p = "Qm9kZUtHcU1xWmR3", 2**14, 8, 1
    digest = hashlib.scrypt(
        password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=2**26, dklen=64
    )
    return f"scrypt${n}${salt}${r}${p}${base64.b64encode(digest).decode()}"


IMPORTERS: dict[str, Callable[[str], str]] = {
    "bcrypt": lambda pw: bcrypt.hashpw(pw.encode(), bcrypt.gensalt(10)).decode(),
    "argon2id": lambda pw: argon2.PasswordHasher().hash(pw),
    "scrypt-passlib": lambda pw: passlib_scrypt.using(rounds=15).hash(pw),
    "scrypt-werkzeug": lambda pw: generate_password_hash(pw, method="scrypt"),
    "scrypt-django": _django_scrypt,
    "pbkdf2-django": _django_pbkdf2,
    "pbkdf2-passlib": passlib_pbkdf2.hash,
    "pbkdf2-werkzeug": lambda pw: generate_password_hash(pw, method="pbkdf2:sha256:200000"),
}


@pytest.mark.parametrize("scheme", list(IMPORTERS))
def test_imported_hash_signs_in_and_is_upgraded(
    http: httpx.Client, project: Project, migrated_database: str, scheme: str
) -> None:
    imported = IMPORTERS[scheme](IMPORTED_PASSWORD)
    email = unique_email(scheme)
    user = create_user(
        http, project, primary_email=email, primary_email_auth_enabled=True, password_hash=imported
    )
    assert user["has_password"] is True
    assert "password_hash" not in user  # the stored hash never leaves the server
    assert stored_password_hash(migrated_database, project, user["id"]) == imported

    assert_sign_in_refused(http, project, email, IMPORTED_PASSWORD + "x")
    assert (
        stored_password_hash(migrated_database, project, user["id"]) == imported
    )  # no upgrade on a miss

    assert sign_in_with_password(http, project, email, IMPORTED_PASSWORD).status_code == 200
    upgraded = stored_password_hash(migrated_database, project, user["id"])
    assert upgraded.startswith("$bcrypt-sha256$v=2,t=2b,r=10$"), upgraded
    assert sign_in_with_password(http, project, email, IMPORTED_PASSWORD).status_code == 200
    assert_sign_in_refused(http, project, email, IMPORTED_PASSWORD[:-1])


def test_imported_hash_through_patch_replaces_the_password(
    http: httpx.Client, project: Project
) -> None:
    email = unique_email("patched")
    tokens = sign_up(http, project, email)
    r = http.patch(
        f"{USERS}/{tokens['user_id']}",
        headers=project.headers("server"),
        json={"password_hash": argon2.PasswordHasher().hash("moved-from-elsewhere-1")},
    )
    assert r.status_code == 200, r.text
    assert sign_in_with_password(http, project, email, "moved-from-elsewhere-1").status_code == 200
    assert_sign_in_refused(http, project, email, PASSWORD)


@pytest.mark.parametrize(
    "bad_hash",
    [
        "$argon2id$v=19$m=2097152,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",  # 2 GiB
        "$scrypt$ln=22,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",  # 512 MiB
        "pbkdf2_sha256$50000000$salt$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=",
        "sha1$salt$" + "ab" * 20,
    ],
)
def test_unbounded_or_unknown_hashes_are_refused(
    http: httpx.Client, project: Project, bad_hash: str
) -> None:
    r = http.post(USERS, headers=project.headers("server"), json={"password_hash": bad_hash})
    assert r.status_code == 400  # upstream's plain 400, no known-error code
    assert "x-stack-known-error" not in r.headers
    assert "argon2id" in r.text
