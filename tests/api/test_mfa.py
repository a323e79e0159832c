"""TOTP multi-factor sign-in: first factors answer MFA-required, /auth/mfa/sign-in completes."""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pyotp
import pytest

from tests.api.helpers import (
    PASSWORD,
    as_user,
    assert_known_error,
    create_user,
    jwt_parts,
    refresh,
    sign_up,
    unique_email,
)
from tests.conftest import ApiServer, Project
from tests.factories import query_row, query_value

SIGN_IN = "/api/v1/auth/password/sign-in"
MFA_SIGN_IN = "/api/v1/auth/mfa/sign-in"
STEP = 30
MAX_TOTP_GUESSES = 5  # domain.mfa.MAX_TOTP_GUESSES; spelled out so a change is deliberate


class TotpUser:
    """A password user with a TOTP secret, and the codes its authenticator app would show."""

    def __init__(self, email: str, user_id: str, secret: bytes) -> None:
        self.email = email
        self.user_id = user_id
        self.secret = secret
        self.totp = pyotp.TOTP(base64.b32encode(secret).decode())

    def code(self, offset_steps: int = 0) -> str:
        return self.totp.at(time.time(), counter_offset=offset_steps)


def away_from_step_edge() -> None:
    """Wait out the last seconds of a 30 s step, so the server computes the step we did."""
    into = time.time() % STEP
    if into > STEP - 4:
        time.sleep(STEP - into + 0.2)


def enable_totp(http: httpx.Client, project: Project, access_token: str) -> bytes:
    secret = os.urandom(20)
    r = http.patch(
        "/api/v1/users/me",
        headers=as_user(project, access_token),
        json={"totp_secret_base64": base64.b64encode(secret).decode()},
    )
    assert r.status_code == 200, r.text
    assert r.json()["requires_totp_mfa"] is True
    return secret


def totp_user(http: httpx.Client, project: Project) -> TotpUser:
    email = unique_email("mfa")
    tokens = sign_up(http, project, email)
    secret = enable_totp(http, project, tokens["access_token"])
    return TotpUser(email, tokens["user_id"], secret)


def password_sign_in(http: httpx.Client, project: Project, email: str) -> httpx.Response:
    body = {"email": email, "password": PASSWORD}
    return http.post(SIGN_IN, headers=project.headers(), json=body)


def attempt_code(http: httpx.Client, project: Project, user: TotpUser) -> str:
    r = password_sign_in(http, project, user.email)
    body = assert_known_error(r, "MULTI_FACTOR_AUTHENTICATION_REQUIRED", 400)
    code: str = body["details"]["attempt_code"]
    return code


def mfa_sign_in(http: httpx.Client, project: Project, code: str, totp: str) -> httpx.Response:
    return http.post(
        MFA_SIGN_IN, headers=project.headers(), json={"type": "totp", "totp": totp, "code": code}
    )


def wrong(totp: str) -> str:
    return f"{(int(totp) + 1) % 1_000_000:06d}"


def session_count(database_url: str, project: Project, user_id: str) -> int:
    count: int = query_value(
        database_url,
        "SELECT count(*) FROM refresh_tokens WHERE tenancy_id = %s AND user_id = %s",
        (project.tenancy_id, user_id),
    )
    return count


def latest_mfa_attempt(
    database_url: str, project: Project
) -> tuple[timedelta, dict[str, Any], int]:
    """(lifetime, data, attempt_count) of the project's newest MFA attempt code."""
    row = query_row(
        database_url,
        "SELECT expires_at - created_at, data, attempt_count FROM verification_codes "
        "WHERE project_id = %s AND type = 'MFA_ATTEMPT' ORDER BY created_at DESC LIMIT 1",
        (project.id,),
    )
    assert row is not None
    return row[0], row[1], row[2]


def test_password_sign_in_of_a_totp_user_issues_no_tokens_until_the_totp(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    user = totp_user(http, project)
    before = session_count(migrated_database, project, user.user_id)

    r = password_sign_in(http, project, user.email)
    body = assert_known_error(r, "MULTI_FACTOR_AUTHENTICATION_REQUIRED", 400)
    assert set(body) == {"code", "details", "error"}
    assert set(body["details"]) == {"attempt_code"}
    code = body["details"]["attempt_code"]
    assert len(code) == 45
    assert "access_token" not in r.text
    assert "refresh_token" not in r.text
    assert session_count(migrated_database, project, user.user_id) == before

    lifetime, data, _ = latest_mfa_attempt(migrated_database, project)
    assert abs(lifetime - timedelta(minutes=5)) < timedelta(seconds=5)
    assert data["user_id"] == user.user_id
    assert code not in str(data)

    away_from_step_edge()
    done = mfa_sign_in(http, project, code, user.code())
    assert done.status_code == 200, done.text
    tokens = done.json()
    assert set(tokens) == {"access_token", "refresh_token", "user_id", "is_new_user"}
    assert tokens["user_id"] == user.user_id
    assert tokens["is_new_user"] is False
    assert session_count(migrated_database, project, user.user_id) == before + 1
    assert jwt_parts(tokens["access_token"])[1]["requires_totp_mfa"] is True
    me = http.get("/api/v1/users/me", headers=as_user(project, tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == user.user_id
    assert me.json()["requires_totp_mfa"] is True
    assert refresh(http, project, tokens["refresh_token"]).status_code == 200


def test_attempt_code_is_single_use(http: httpx.Client, project: Project) -> None:
    user = totp_user(http, project)
    code = attempt_code(http, project, user)
    away_from_step_edge()
    assert mfa_sign_in(http, project, code, user.code()).status_code == 200
    # Even with a TOTP that would pass (the next step's), the spent attempt code is refused.
    again = mfa_sign_in(http, project, code, user.code(+1))
    assert_known_error(again, "VERIFICATION_CODE_ALREADY_USED", 409)


def test_a_spent_totp_step_is_refused_with_a_new_attempt_code(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    user = totp_user(http, project)
    away_from_step_edge()
    totp = user.code()
    assert mfa_sign_in(http, project, attempt_code(http, project, user), totp).status_code == 200
    sessions = session_count(migrated_database, project, user.user_id)

    second = attempt_code(http, project, user)
    assert_known_error(mfa_sign_in(http, project, second, totp), "INVALID_TOTP_CODE", 400)
    # An earlier step than the spent one is no better.
    assert_known_error(mfa_sign_in(http, project, second, user.code(-1)), "INVALID_TOTP_CODE", 400)
    assert session_count(migrated_database, project, user.user_id) == sessions
    # The refusals left the attempt code alive: the next step's code completes it.
    assert mfa_sign_in(http, project, second, user.code(+1)).status_code == 200


def test_one_step_of_drift_either_way_passes_two_steps_do_not(
    http: httpx.Client, project: Project
) -> None:
    user = totp_user(http, project)
    away_from_step_edge()
    for offset in (-2, +2):
        r = mfa_sign_in(http, project, attempt_code(http, project, user), user.code(offset))
        assert_known_error(r, "INVALID_TOTP_CODE", 400)
    # In increasing order, since a used step also spends every earlier one.
    for offset in (-1, 0, +1):
        r = mfa_sign_in(http, project, attempt_code(http, project, user), user.code(offset))
        assert r.status_code == 200, (offset, r.text)


def test_wrong_totps_are_counted_and_the_cap_kills_the_attempt_code(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    user = totp_user(http, project)
    away_from_step_edge()

    # One short of the cap, the right TOTP still passes.
    code = attempt_code(http, project, user)
    for _ in range(MAX_TOTP_GUESSES - 1):
        assert_known_error(
            mfa_sign_in(http, project, code, wrong(user.code())), "INVALID_TOTP_CODE", 400
        )
    assert mfa_sign_in(http, project, code, user.code()).status_code == 200
    sessions = session_count(migrated_database, project, user.user_id)

    # At the cap the attempt code is dead, even for a right TOTP.
    code = attempt_code(http, project, user)
    for _ in range(MAX_TOTP_GUESSES):
        assert_known_error(
            mfa_sign_in(http, project, code, wrong(user.code(+1))), "INVALID_TOTP_CODE", 400
        )
    dead = mfa_sign_in(http, project, code, user.code(+1))
    assert_known_error(dead, "VERIFICATION_CODE_MAX_ATTEMPTS_REACHED", 400)
    assert session_count(migrated_database, project, user.user_id) == sessions
    assert latest_mfa_attempt(migrated_database, project)[2] == MAX_TOTP_GUESSES + 1


def test_expired_attempt_code_is_refused(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    user = totp_user(http, project)
    code = attempt_code(http, project, user)
    with psycopg.connect(migrated_database) as conn:
        conn.execute(
            "UPDATE verification_codes SET expires_at = %s "
            "WHERE project_id = %s AND type = 'MFA_ATTEMPT'",
            (datetime.now(UTC) - timedelta(seconds=1), project.id),
        )
    away_from_step_edge()
    r = mfa_sign_in(http, project, code, user.code())
    assert_known_error(r, "VERIFICATION_CODE_EXPIRED", 400)


def test_attempt_code_of_one_project_is_unknown_in_another(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    a, b = make_project(), make_project()
    user = totp_user(http, a)
    code = attempt_code(http, a, user)
    away_from_step_edge()
    assert_known_error(mfa_sign_in(http, b, code, user.code()), "VERIFICATION_CODE_NOT_FOUND", 404)
    assert mfa_sign_in(http, a, code, user.code()).status_code == 200


def test_removing_the_secret_turns_mfa_off(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    email = unique_email("mfa-off")
    tokens = sign_up(http, project, email)
    assert jwt_parts(tokens["access_token"])[1]["requires_totp_mfa"] is False
    enable_totp(http, project, tokens["access_token"])
    assert_known_error(
        password_sign_in(http, project, email), "MULTI_FACTOR_AUTHENTICATION_REQUIRED", 400
    )

    r = http.patch(
        "/api/v1/users/me",
        headers=as_user(project, tokens["access_token"]),
        json={"totp_secret_base64": None},
    )
    assert r.status_code == 200, r.text
    assert r.json()["requires_totp_mfa"] is False
    row = query_row(
        migrated_database,
        "SELECT totp_secret FROM users WHERE tenancy_id = %s AND id = %s",
        (project.tenancy_id, tokens["user_id"]),
    )
    assert row == (None,)
    signed_in = password_sign_in(http, project, email)
    assert signed_in.status_code == 200, signed_in.text
    assert jwt_parts(signed_in.json()["access_token"])[1]["requires_totp_mfa"] is False


def test_a_new_secret_starts_with_no_spent_step(http: httpx.Client, project: Project) -> None:
    email = unique_email("mfa-new")
    tokens = sign_up(http, project, email)
    away_from_step_edge()
    first = TotpUser(email, tokens["user_id"], enable_totp(http, project, tokens["access_token"]))
    assert mfa_sign_in(http, project, attempt_code(http, project, first), first.code()).is_success
    second = TotpUser(email, tokens["user_id"], enable_totp(http, project, tokens["access_token"]))
    # The old secret's codes are worthless now, and the step spent under it does not block.
    old = mfa_sign_in(http, project, attempt_code(http, project, second), first.code(+1))
    assert_known_error(old, "INVALID_TOTP_CODE", 400)
    assert mfa_sign_in(http, project, attempt_code(http, project, second), second.code()).is_success


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("not base64!", id="not-base64"),
        pytest.param("", id="empty"),
        pytest.param(base64.b64encode(b"x" * 10).decode(), id="10-bytes"),
        pytest.param(base64.b64encode(b"x" * 65).decode(), id="65-bytes"),
    ],
)
def test_unusable_totp_secret_is_a_schema_error(
    http: httpx.Client, project: Project, secret: str
) -> None:
    tokens = sign_up(http, project)
    r = http.patch(
        "/api/v1/users/me",
        headers=as_user(project, tokens["access_token"]),
        json={"totp_secret_base64": secret},
    )
    assert_known_error(r, "SCHEMA_ERROR", 400)
    me = http.get("/api/v1/users/me", headers=as_user(project, tokens["access_token"]))
    assert me.json()["requires_totp_mfa"] is False


def test_server_created_user_with_a_secret_needs_mfa(http: httpx.Client, project: Project) -> None:
    email = unique_email("mfa-server")
    secret = os.urandom(20)
    created = create_user(
        http,
        project,
        primary_email=email,
        primary_email_auth_enabled=True,
        password=PASSWORD,
        totp_secret_base64=base64.b64encode(secret).decode(),
    )
    assert created["requires_totp_mfa"] is True
    user = TotpUser(email, created["id"], secret)
    away_from_step_edge()
    done = mfa_sign_in(http, project, attempt_code(http, project, user), user.code())
    assert done.status_code == 200, done.text
    assert done.json()["user_id"] == user.user_id


def test_server_session_creation_is_not_gated(http: httpx.Client, project: Project) -> None:
    """POST /auth/sessions with the secret server key is the admin/impersonation path."""
    user = totp_user(http, project)
    r = http.post(
        "/api/v1/auth/sessions",
        headers=project.headers("server"),
        json={"user_id": user.user_id},
    )
    assert r.status_code == 200, r.text
    assert set(r.json()) >= {"access_token", "refresh_token"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "sms", "totp": "123456"}, "SCHEMA_ERROR"),
        ({"type": "totp", "totp": "12345"}, "SCHEMA_ERROR"),
        ({"type": "totp", "totp": "12345a"}, "SCHEMA_ERROR"),
        ({"type": "totp"}, "SCHEMA_ERROR"),
        ({"type": "totp", "totp": "123456", "code": "short"}, "SCHEMA_ERROR"),
        ({"type": "totp", "totp": "123456", "code": "a" * 45}, "VERIFICATION_CODE_NOT_FOUND"),
    ],
)
def test_malformed_mfa_sign_in_is_a_client_error(
    http: httpx.Client, project: Project, body: dict[str, Any], code: str
) -> None:
    body = {"code": "b" * 45, **body}
    r = http.post(MFA_SIGN_IN, headers=project.headers(), json=body)
    assert_known_error(r, code, 404 if code == "VERIFICATION_CODE_NOT_FOUND" else 400)


def test_mfa_sign_in_needs_project_authentication(http: httpx.Client) -> None:
    r = http.post(MFA_SIGN_IN, json={"type": "totp", "totp": "123456", "code": "a" * 45})
    assert r.status_code == 400
    assert r.headers["x-stack-known-error"] == "ACCESS_TYPE_REQUIRED"


def test_concurrent_sign_ins_with_one_totp_let_exactly_one_through(
    api: ApiServer, project: Project
) -> None:
    """Two attempt codes, the same TOTP, sent at once: the conditional step update admits one."""
    with api.client() as http:
        user = totp_user(http, project)
        codes = [attempt_code(http, project, user) for _ in range(2)]
        away_from_step_edge()
        totp = user.code()
    statuses: list[int] = []
    barrier = threading.Barrier(len(codes))

    def go(code: str) -> None:
        with api.client() as own:
            barrier.wait()
            statuses.append(mfa_sign_in(own, project, code, totp).status_code)

    threads = [threading.Thread(target=go, args=(c,)) for c in codes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 400]
