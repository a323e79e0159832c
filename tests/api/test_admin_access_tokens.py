"""Admin access tokens (contract §2): an internal user's token standing in for the admin key."""

from __future__ import annotations

import time
import uuid

import httpx
import psycopg

from authstack_core.crypto.tokens import TokenService
from tests.api.helpers import (
    admin_headers,
    assert_known_error,
    create_user,
    sign_up,
    spell,
    unique_email,
)
from tests.conftest import SERVER_SECRET, Project
from tests.factories import ADMIN_USER_ID, INTERNAL_TEAM_ID

USERS = "/api/v1/users"


def _get(http: httpx.Client, path: str, headers: dict[str, str], prefix: str) -> httpx.Response:
    return http.get(path, headers=spell(headers, prefix))


# --- admin access tokens --------------------------------------------------------------------------


def _admin_token_headers(project: Project, token: str) -> dict[str, str]:
    return admin_headers(project.id, token)


def test_admin_access_token_of_owner_team_member_grants_admin_access(
    http: httpx.Client, project: Project, admin_access_token: str, prefix: str
) -> None:
    create_user(http, project, primary_email=unique_email("listed"))
    r = _get(http, USERS, _admin_token_headers(project, admin_access_token), prefix)
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 1


def test_admin_access_token_replaces_the_key_for_server_access(
    http: httpx.Client, project: Project, admin_access_token: str
) -> None:
    headers = {**_admin_token_headers(project, admin_access_token), "x-stack-access-type": "server"}
    r = http.get(USERS, headers=headers)
    assert r.status_code == 200, r.text


def test_admin_access_token_of_non_member_is_not_admin(
    http: httpx.Client, project: Project, internal: Project, prefix: str
) -> None:
    outsider = sign_up(http, internal, unique_email("outsider"))
    r = _get(http, USERS, _admin_token_headers(project, outsider["access_token"]), prefix)
    assert_known_error(r, "ADMIN_ACCESS_TOKEN_IS_NOT_ADMIN", 401)


def test_non_internal_token_as_admin_token_is_unparsable(
    http: httpx.Client, project: Project, prefix: str
) -> None:
    tokens = sign_up(http, project)
    r = _get(http, USERS, _admin_token_headers(project, tokens["access_token"]), prefix)
    assert_known_error(r, "UNPARSABLE_ADMIN_ACCESS_TOKEN", 401)


def test_garbage_admin_token_is_unparsable(http: httpx.Client, project: Project) -> None:
    r = http.get(USERS, headers=_admin_token_headers(project, "not-a-jwt"))
    assert_known_error(r, "UNPARSABLE_ADMIN_ACCESS_TOKEN", 401)


def test_expired_admin_access_token_is_admin_access_token_expired(
    http: httpx.Client, project: Project
) -> None:
    issued = int(time.time()) - 3600
    token = TokenService(SERVER_SECRET, "http://localhost:8102", 600).sign_access_token(
        project_id="internal",
        branch_id="main",
        user_id=ADMIN_USER_ID,
        refresh_token_id=str(uuid.uuid4()),
        display_name=None,
        primary_email="admin@example.com",
        primary_email_verified=True,
        selected_team_id=None,
        signed_up_at_seconds=issued,
        is_anonymous=False,
        restricted_reason=None,
        requires_totp_mfa=False,
        now=issued,
    )
    r = http.get(USERS, headers=_admin_token_headers(project, token))
    assert_known_error(
        r, "ADMIN_ACCESS_TOKEN_EXPIRED", 401, details={"expired_at_millis": (issued + 600) * 1000}
    )


def test_admin_access_follows_owner_team_membership(
    http: httpx.Client, project: Project, internal: Project, migrated_database: str
) -> None:
    """A new member of the owner team gains admin access; once deleted, its token is refused."""
    member = sign_up(http, internal, unique_email("member"))
    headers = _admin_token_headers(project, member["access_token"])
    assert_known_error(http.get(USERS, headers=headers), "ADMIN_ACCESS_TOKEN_IS_NOT_ADMIN", 401)
    with psycopg.connect(migrated_database) as conn:
        conn.execute(
            "INSERT INTO team_members (tenancy_id, team_id, user_id) "
            "SELECT t.id, %s, %s FROM tenancies t "
            "WHERE t.project_id = 'internal' AND t.branch_id = 'main'",
            (INTERNAL_TEAM_ID, member["user_id"]),
        )
    assert http.get(USERS, headers=headers).status_code == 200
    deleted = http.delete(f"{USERS}/{member['user_id']}", headers=internal.headers("server"))
    assert deleted.status_code == 200, deleted.text
    r = http.get(USERS, headers=headers)
    assert r.status_code == 401
    assert "x-stack-known-error" not in r.headers
