"""CLI sign-in (/auth/cli, /poll, /complete): the flow the SDK's promptCliLogin drives, handed
out once, expiry, and the anonymous session a CLI may bring along."""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.cli_auth_helpers import (
    COMPLETE,
    anonymous_session,
    as_anonymous,
    assert_invalid_login_code,
    complete,
    poll,
    poll_status,
    start,
)
from tests.api.helpers import PASSWORD, assert_known_error, jwt_parts, refresh, unique_email
from tests.api.team_helpers import User, new_user
from tests.conftest import ApiServer, Project
from tests.factories import query_rows

NO_ANONYMOUS_SESSION = "No anonymous session associated with this code"


def _expires_in(attempt: dict[str, str]) -> timedelta:
    # JavaScript's toISOString form: milliseconds and a Z.
    text = attempt["expires_at"]
    assert text.endswith("Z"), text
    assert len(text) == len("2026-01-01T00:00:00.000Z"), text
    return datetime.fromisoformat(text.replace("Z", "+00:00")) - datetime.now(UTC)


def _user_of(http: httpx.Client, project: Project, refresh_token: str) -> dict[str, Any]:
    """The claims of an access token fetched with ``refresh_token`` (so it must work)."""
    r = refresh(http, project, refresh_token)
    assert r.status_code == 200, r.text
    return jwt_parts(r.json()["access_token"])[1]


def test_the_cli_polls_until_a_signed_in_user_completes_then_gets_a_session_once(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    attempt = start(http, project)
    assert set(attempt) == {"polling_code", "login_code", "expires_at"}
    assert attempt["polling_code"] != attempt["login_code"]
    assert timedelta(hours=2) - timedelta(seconds=30) < _expires_in(attempt) <= timedelta(hours=2)
    assert poll_status(http, project, attempt["polling_code"]) == "waiting"
    assert poll_status(http, project, attempt["polling_code"]) == "waiting"

    browser = new_user(http, project)
    done = complete(http, project, attempt["login_code"], browser)
    assert (done.status_code, done.json()) == (200, {"success": True})

    taken = poll(http, project, attempt["polling_code"])
    assert taken.status_code == 201, taken.text  # the SDK waits for exactly this status
    assert set(taken.json()) == {"status", "refresh_token"}
    assert taken.json()["status"] == "success"
    cli_token = taken.json()["refresh_token"]
    claims = _user_of(http, project, cli_token)
    assert claims["sub"] == browser.id
    # A session of the CLI's own, next to the browser's, not the browser's handed over.
    assert cli_token != browser.refresh_token
    sessions = http.get(
        "/api/v1/auth/sessions", headers=project.headers("server"), params={"user_id": browser.id}
    ).json()["items"]
    assert claims["refresh_token_id"] in [s["id"] for s in sessions]
    assert len(sessions) == 2

    # Handed out once: later polls say used, the login code is spent.
    assert poll_status(http, project, attempt["polling_code"]) == "used"
    assert poll_status(http, project, attempt["polling_code"]) == "used"
    assert_invalid_login_code(complete(http, project, attempt["login_code"], browser))
    assert_invalid_login_code(complete(http, project, attempt["login_code"], mode="check"))

    # The database holds neither code nor any token, only the codes' SHA-256.
    rows = query_rows(
        migrated_database,
        "SELECT a::text, polling_code_hash, login_code_hash FROM cli_auth_attempts a "
        "WHERE tenancy_id = %s",
        (project.tenancy_id,),
    )
    assert len(rows) == 1
    text, polling_hash, login_hash = rows[0]
    for secret in (attempt["polling_code"], attempt["login_code"], cli_token):
        assert secret not in text
    assert bytes(polling_hash) == hashlib.sha256(attempt["polling_code"].encode()).digest()
    assert bytes(login_hash) == hashlib.sha256(attempt["login_code"].encode()).digest()


def test_concurrent_polls_of_a_completed_attempt_hand_it_out_exactly_once(
    api: ApiServer, project: Project
) -> None:
    with api.client() as http:
        attempt = start(http, project)
        assert complete(http, project, attempt["login_code"], new_user(http, project)).is_success

    def one_poll(_: int) -> httpx.Response:
        with api.client() as own:
            return poll(own, project, attempt["polling_code"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(one_poll, range(8)))
    statuses = sorted((r.status_code, r.json()["status"]) for r in answers)
    assert statuses == [(200, "used")] * 7 + [(201, "success")], statuses


def test_a_second_browser_cannot_complete_an_attempt_again(
    http: httpx.Client, project: Project
) -> None:
    attempt = start(http, project)
    first, second = new_user(http, project), new_user(http, project)
    assert complete(http, project, attempt["login_code"], first).status_code == 200
    assert_invalid_login_code(complete(http, project, attempt["login_code"], second))
    taken = poll(http, project, attempt["polling_code"])
    assert taken.status_code == 201, taken.text
    assert _user_of(http, project, taken.json()["refresh_token"])["sub"] == first.id


def test_an_attempt_expires_whether_completed_or_not(http: httpx.Client, project: Project) -> None:
    waiting = start(http, project, expires_in_millis=1500)
    assert timedelta(0) < _expires_in(waiting) <= timedelta(milliseconds=1500)
    completed = start(http, project, expires_in_millis=1500)
    assert complete(http, project, completed["login_code"], new_user(http, project)).is_success
    assert poll_status(http, project, waiting["polling_code"]) == "waiting"
    time.sleep(1.7)
    assert poll_status(http, project, waiting["polling_code"]) == "expired"
    # Completed but not polled in time: never handed out.
    assert poll_status(http, project, completed["polling_code"]) == "expired"
    assert_invalid_login_code(complete(http, project, waiting["login_code"], mode="check"))
    late = new_user(http, project)
    assert_invalid_login_code(complete(http, project, waiting["login_code"], late))


def test_the_lifetime_is_two_hours_by_default_and_a_day_at_most(
    http: httpx.Client, project: Project
) -> None:
    no_body = http.post("/api/v1/auth/cli", headers=project.headers())
    assert no_body.status_code == 200, no_body.text
    assert _expires_in(no_body.json()) > timedelta(hours=2) - timedelta(seconds=30)
    day = start(http, project, expires_in_millis=24 * 3600 * 1000)
    assert timedelta(hours=24) - timedelta(seconds=30) < _expires_in(day) <= timedelta(hours=24)
    for bad in (24 * 3600 * 1000 + 1, 0, -1000, 1.5, "two hours", None, 10**30, True):
        r = http.post(
            "/api/v1/auth/cli", headers=project.headers(), json={"expires_in_millis": bad}
        )
        assert_known_error(r, "SCHEMA_ERROR", 400)


def test_check_needs_no_user_and_says_none_without_an_anonymous_session(
    http: httpx.Client, project: Project
) -> None:
    attempt = start(http, project)
    r = complete(http, project, attempt["login_code"], mode="check")
    assert (r.status_code, r.json()) == (200, {"cli_session_state": "none"})
    claim = complete(http, project, attempt["login_code"], mode="claim-anon-session")
    assert (claim.status_code, claim.text) == (400, NO_ANONYMOUS_SESSION)
    assert poll_status(http, project, attempt["polling_code"]) == "waiting"


def test_the_browser_claims_the_clis_anonymous_session_once_then_signs_it_up(
    http: httpx.Client, project: Project
) -> None:
    """The SDK's confirm page: check, claim-anon-session (no user yet), sign up as that user,
    complete; the CLI then holds a session of the same, now real, user."""
    cli_anon = anonymous_session(http, project)
    attempt = start(http, project, anon_refresh_token=cli_anon["refresh_token"])
    check = complete(http, project, attempt["login_code"], mode="check")
    assert check.json() == {"cli_session_state": "anonymous"}

    claimed = complete(http, project, attempt["login_code"], mode="claim-anon-session")
    assert claimed.status_code == 200, claimed.text
    assert set(claimed.json()) == {"access_token", "refresh_token"}
    claims = jwt_parts(claimed.json()["access_token"])[1]
    assert (claims["sub"], claims["is_anonymous"]) == (cli_anon["user_id"], True)
    assert claimed.json()["refresh_token"] != cli_anon["refresh_token"]  # a session of its own
    # Once: the attempt no longer carries it.
    again = complete(http, project, attempt["login_code"], mode="claim-anon-session")
    assert (again.status_code, again.text) == (400, NO_ANONYMOUS_SESSION)
    assert complete(http, project, attempt["login_code"], mode="check").json() == {
        "cli_session_state": "none"
    }

    upgraded = http.post(
        "/api/v1/auth/password/sign-up",
        headers=as_anonymous(project, claimed.json()["access_token"]),
        json={"email": unique_email("cli"), "password": PASSWORD},
    )
    assert upgraded.status_code == 200, upgraded.text
    tokens = upgraded.json()
    assert tokens["user_id"] == cli_anon["user_id"]
    user = User(tokens["user_id"], None, tokens["access_token"], tokens["refresh_token"])
    assert complete(http, project, attempt["login_code"], user).status_code == 200
    taken = poll(http, project, attempt["polling_code"])
    assert taken.status_code == 201, taken.text
    cli_claims = _user_of(http, project, taken.json()["refresh_token"])
    assert (cli_claims["sub"], cli_claims["is_anonymous"]) == (cli_anon["user_id"], False)


def test_completing_as_another_user_leaves_the_anonymous_user_alone(
    http: httpx.Client, project: Project
) -> None:
    cli_anon = anonymous_session(http, project)
    attempt = start(http, project, anon_refresh_token=cli_anon["refresh_token"])
    browser = new_user(http, project)
    assert complete(http, project, attempt["login_code"], browser).status_code == 200
    taken = poll(http, project, attempt["polling_code"])
    assert _user_of(http, project, taken.json()["refresh_token"])["sub"] == browser.id
    # Not merged: the anonymous user and its session are as they were.
    assert _user_of(http, project, cli_anon["refresh_token"])["is_anonymous"] is True


def test_an_anonymous_session_that_ended_cannot_be_claimed(
    http: httpx.Client, project: Project
) -> None:
    cli_anon = anonymous_session(http, project)
    attempt = start(http, project, anon_refresh_token=cli_anon["refresh_token"])
    signed_out = http.request(
        "DELETE",
        "/api/v1/auth/sessions/current",
        headers=as_anonymous(project, cli_anon["access_token"]),
        json={},
    )
    assert signed_out.status_code == 200, signed_out.text
    assert complete(http, project, attempt["login_code"], mode="check").json() == {
        "cli_session_state": "none"
    }
    r = complete(http, project, attempt["login_code"], mode="claim-anon-session")
    assert (r.status_code, r.text) == (400, NO_ANONYMOUS_SESSION)


def test_the_anon_refresh_token_must_be_a_live_anonymous_session_of_this_project(
    http: httpx.Client, project: Project, make_project: Any
) -> None:
    real = new_user(http, project)
    other_anon = anonymous_session(http, make_project())
    cases = {
        real.refresh_token: "The provided refresh token does not belong to an anonymous user",
        "not-a-refresh-token": "Invalid anon refresh token",
        other_anon["refresh_token"]: "Invalid anon refresh token",
    }
    for token, text in cases.items():
        r = http.post(
            "/api/v1/auth/cli", headers=project.headers(), json={"anon_refresh_token": token}
        )
        assert (r.status_code, r.text) == (400, text)


def test_complete_needs_a_signed_in_unrestricted_user_and_its_own_refresh_token(
    http: httpx.Client, project: Project
) -> None:
    attempt = start(http, project)
    code = attempt["login_code"]
    browser, other = new_user(http, project), new_user(http, project)
    no_user = complete(http, project, code, refresh_token=browser.refresh_token)
    assert_known_error(no_user, "USER_AUTHENTICATION_REQUIRED", 401)
    no_token = complete(http, project, code, browser, refresh_token=None)
    assert (no_token.status_code, no_token.text) == (
        400,
        "refresh_token is required when mode is 'complete'",
    )
    for token in (other.refresh_token, "not-a-refresh-token"):
        wrong = complete(http, project, code, browser, refresh_token=token)
        assert (wrong.status_code, wrong.text) == (400, "Invalid refresh token")

    restricted = new_user(http, project)
    http.patch(
        f"/api/v1/users/{restricted.id}",
        headers=project.headers("server"),
        json={"restricted_by_admin": True},
    ).raise_for_status()
    # Its access token still says unrestricted; the database is asked.
    refused = complete(http, project, code, restricted)
    assert_known_error(
        refused,
        "RESTRICTED_USER_NOT_ALLOWED",
        403,
        {"restricted_reason": {"type": "restricted_by_administrator"}},
    )
    anon = anonymous_session(http, project)
    as_anon = http.post(
        COMPLETE,
        headers=as_anonymous(project, anon["access_token"]),
        json={"login_code": code, "refresh_token": anon["refresh_token"]},
    )
    assert_known_error(as_anon, "RESTRICTED_USER_NOT_ALLOWED", 403)
    assert poll_status(http, project, attempt["polling_code"]) == "waiting"
