"""Users' passwords set by the server (contract §5.3): imported bcrypt hashes, rules, clearing."""

from __future__ import annotations

import bcrypt
import httpx
import pytest

from tests.api.helpers import (
    PASSWORD,
    assert_known_error,
    assert_sign_in_refused,
    create_user,
    sign_in_with_password,
    sign_up,
    unique_email,
)
from tests.conftest import Project

USERS = "/api/v1/users"

# --- passwords set by the server ----------------------------------------------------------------


def _bcrypt(password: str, prefix: bytes = b"2b") -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(10, prefix=prefix)).decode()


@pytest.mark.parametrize("variant", ["2b", "2a", "2y"])
def test_imported_bcrypt_hash_signs_in_with_the_original_password(
    http: httpx.Client, project: Project, variant: str
) -> None:
    password = f"imported-password-{variant}"
    hashed = _bcrypt(password, b"2a" if variant == "2a" else b"2b")
    if variant == "2y":
        hashed = "$2y$" + hashed[4:]
    email = unique_email()
    user = create_user(
        http, project, primary_email=email, primary_email_auth_enabled=True, password_hash=hashed
    )
    assert user["has_password"] is True
    assert sign_in_with_password(http, project, email, password).status_code == 200
    assert_sign_in_refused(http, project, email, "wrong-password")


def test_patched_bcrypt_hash_replaces_the_password(http: httpx.Client, project: Project) -> None:
    email = unique_email()
    tokens = sign_up(http, project, email)
    r = http.patch(
        f"{USERS}/{tokens['user_id']}",
        headers=project.headers("server"),
        json={"password_hash": _bcrypt("migrated-password-9")},
    )
    assert r.status_code == 200, r.text
    assert sign_in_with_password(http, project, email, "migrated-password-9").status_code == 200
    assert_sign_in_refused(http, project, email, PASSWORD)


@pytest.mark.parametrize(
    "bad_hash",
    [
        "plaintext-password",
        "$2b$10$tooshort",
        "$argon2i$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",  # argon2i, not -id
        "$argon2id$v=19$m=4194304,t=1,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",  # 4 GiB: refused
        "$2b$99$" + "a" * 53,
        "",
    ],
)
def test_invalid_password_hash_is_refused(
    http: httpx.Client, project: Project, bad_hash: str
) -> None:
    """Upstream's plain 400, without a known-error code."""
    r = http.post(USERS, headers=project.headers("server"), json={"password_hash": bad_hash})
    assert (r.status_code, r.headers.get("x-stack-known-error")) == (400, None)
    user = create_user(http, project)
    r = http.patch(
        f"{USERS}/{user['id']}", headers=project.headers("server"), json={"password_hash": bad_hash}
    )
    assert (r.status_code, r.headers.get("x-stack-known-error")) == (400, None)


def test_server_password_rules_apply(http: httpx.Client, project: Project) -> None:
    r = http.post(USERS, headers=project.headers("server"), json={"password": "short"})
    assert_known_error(r, "PASSWORD_TOO_SHORT", 400, details={"min_length": 8})
    user = create_user(http, project)
    r = http.patch(
        f"{USERS}/{user['id']}", headers=project.headers("server"), json={"password": "x" * 71}
    )
    assert_known_error(r, "PASSWORD_TOO_LONG", 400, details={"maxLength": 70})


def test_server_sets_and_clears_a_password(http: httpx.Client, project: Project) -> None:
    email = unique_email()
    user = create_user(http, project, primary_email=email, primary_email_auth_enabled=True)
    assert user["has_password"] is False
    r = http.patch(
        f"{USERS}/{user['id']}", headers=project.headers("server"), json={"password": PASSWORD}
    )
    assert r.json()["has_password"] is True
    assert sign_in_with_password(http, project, email, PASSWORD).status_code == 200
    r = http.patch(
        f"{USERS}/{user['id']}", headers=project.headers("server"), json={"password": None}
    )
    assert r.json()["has_password"] is False
    assert_sign_in_refused(http, project, email, PASSWORD)
