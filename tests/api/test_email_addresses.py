"""Email addresses over HTTP: look-alikes are refused or kept apart; mail goes to stored ones."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.api.helpers import PASSWORD, as_user, assert_known_error, create_user, sign_up
from tests.conftest import ApiServer, Project
from tests.core.test_email_address import _fullwidth

SIGN_UP = "/api/v1/auth/password/sign-up"
SIGN_IN = "/api/v1/auth/password/sign-in"
RESET = "/api/v1/auth/password/send-reset-code"
CALLBACK = "http://localhost:3000/handler/password-reset"


def _tag() -> str:
    return uuid.uuid4().hex[:10]


def _auth_channels(api: ApiServer, project: Project) -> list[str]:
    with psycopg.connect(api.database_url) as conn:
        rows = conn.execute(
            "SELECT value FROM contact_channels WHERE tenancy_id = %s AND used_for_auth",
            (project.tenancy_id,),
        ).fetchall()
    return sorted(r[0] for r in rows)


def _outbox(api: ApiServer, project: Project) -> list[tuple[Any, ...]]:
    with psycopg.connect(api.database_url) as conn:
        return conn.execute(
            "SELECT template, to_user_id::text, to_email FROM email_outbox WHERE tenancy_id = %s",
            (project.tenancy_id,),
        ).fetchall()


@pytest.mark.parametrize("existing", [True, False])
def test_trailing_newline_is_refused_whether_or_not_the_address_exists(
    http: httpx.Client, api: ApiServer, project: Project, existing: bool
) -> None:
    email = f"a1-{_tag()}@example.com"
    if existing:
        sign_up(http, project, email)
    r = http.post(
        SIGN_UP, headers=project.headers(), json={"email": email + "\n", "password": PASSWORD}
    )
    assert_known_error(r, "SCHEMA_ERROR", 400)
    assert _auth_channels(api, project) == ([email] if existing else [])


@pytest.mark.parametrize(
    "spelling",
    [
        "a1\u200b-{tag}@example.com",  # zero-width space
        "a1-{tag}@exam\u200dple.com",  # zero-width joiner
        "\ufeffa1-{tag}@example.com",  # byte-order mark
        "a1-{tag}@example.com\u202e",  # right-to-left override
        " a1-{tag}@example.com",
    ],
)
def test_invisible_characters_are_refused_everywhere_an_email_is_taken(
    http: httpx.Client, api: ApiServer, project: Project, spelling: str
) -> None:
    email = spelling.format(tag=_tag())
    body = {"email": email, "password": PASSWORD}
    assert_known_error(
        http.post(SIGN_UP, headers=project.headers(), json=body), "SCHEMA_ERROR", 400
    )
    r = http.post("/api/v1/users", headers=project.headers("server"), json={"primary_email": email})
    assert_known_error(r, "SCHEMA_ERROR", 400)
    r = http.post(RESET, headers=project.headers(), json={"email": email, "callback_url": CALLBACK})
    assert_known_error(r, "SCHEMA_ERROR", 400)
    assert _auth_channels(api, project) == []


def test_dotted_capital_i_does_not_reach_the_victim(
    http: httpx.Client, api: ApiServer, project: Project
) -> None:
    """victim@gmail.com exists; 'victim@gmaİl.com' (U+0130) neither signs in nor gets its mail."""
    victim = sign_up(http, project, "victim@gmail.com")
    look_alike = "victim@gmaİl.com"

    r = http.post(
        RESET, headers=project.headers(), json={"email": look_alike, "callback_url": CALLBACK}
    )
    assert r.status_code == 200, r.text  # the enumeration-safe answer, but no mail at all
    assert [row for row in _outbox(api, project) if row[0] == "password_reset"] == []

    r = http.post(
        SIGN_IN, headers=project.headers(), json={"email": look_alike, "password": PASSWORD}
    )
    assert_known_error(r, "EMAIL_PASSWORD_MISMATCH", 400)

    # It is another (internationalised) domain, so it may sign up: as a different account.
    other = sign_up(http, project, look_alike)
    assert other["user_id"] != victim["user_id"]
    me = http.get("/api/v1/users/me", headers=as_user(project, other["access_token"])).json()
    assert me["primary_email"] == "victim@gmai\u0307l.com"  # İ maps to i + combining dot (UTS-46)


def test_ascii_case_still_finds_the_account_and_mail_goes_to_the_stored_address(
    http: httpx.Client, api: ApiServer, project: Project
) -> None:
    victim = sign_up(http, project, "victim@gmail.com")
    r = http.post(
        SIGN_IN, headers=project.headers(), json={"email": "VICTIM@Gmail.com", "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == victim["user_id"]

    r = http.post(
        RESET,
        headers=project.headers(),
        json={"email": "VICTIM@Gmail.com", "callback_url": CALLBACK},
    )
    assert r.status_code == 200, r.text
    resets = [row for row in _outbox(api, project) if row[0] == "password_reset"]
    assert resets == [("password_reset", victim["user_id"], "victim@gmail.com")]

    dup = http.post(
        SIGN_UP, headers=project.headers(), json={"email": "Victim@GMAIL.com", "password": PASSWORD}
    )
    assert_known_error(dup, "USER_EMAIL_ALREADY_EXISTS", 409)


def test_otp_code_for_an_existing_account_goes_to_its_stored_address(
    http: httpx.Client, api: ApiServer, make_project: Any
) -> None:
    project: Project = make_project({"auth.otp.allowSignIn": True})
    user = create_user(
        http,
        project,
        primary_email="Owner@example.com",
        primary_email_verified=True,
        primary_email_auth_enabled=True,
    )
    r = http.post(
        "/api/v1/auth/otp/send-sign-in-code",
        headers=project.headers(),
        json={"email": "OWNER@EXAMPLE.COM", "callback_url": "http://localhost:3000/handler/x"},
    )
    assert r.status_code == 200, r.text
    magic = [row for row in _outbox(api, project) if row[0] == "magic_link"]
    assert magic == [("magic_link", user["id"], "Owner@example.com")]


def test_fullwidth_and_unicode_domains_are_stored_in_one_spelling(
    http: httpx.Client, api: ApiServer, project: Project
) -> None:
    tag = _tag()
    sign_up(http, project, _fullwidth(f"user{tag}") + "@" + _fullwidth("example") + ".com")
    sign_up(http, project, f"user{tag}@MÜLLER.de")
    assert _auth_channels(api, project) == sorted(
        [f"user{tag}@example.com", f"user{tag}@müller.de"]
    )
    # The punycode spelling of the same domain is the same address, so the same account.
    r = http.post(
        SIGN_UP,
        headers=project.headers(),
        json={"email": f"user{tag}@xn--mller-kva.de", "password": PASSWORD},
    )
    assert_known_error(r, "USER_EMAIL_ALREADY_EXISTS", 409)
