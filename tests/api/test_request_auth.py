"""Request authentication (contract §2), in both header spellings the SDKs send."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from authstack_core.crypto.tokens import TokenService
from tests.api.helpers import (
    as_user,
    assert_known_error,
    create_user,
    jwt_parts,
    sign_up,
    spell,
    unique_email,
)
from tests.conftest import SERVER_SECRET, Project, running_api

ME = "/api/v1/users/me"
USERS = "/api/v1/users"
CURRENT = "/api/v1/projects/current"
OTHER_SECRET = "b3RoZXItc2VydmVyLXNlY3JldC1ub3QtdGhlLWFwaXMtb25l"


def _get(http: httpx.Client, path: str, headers: dict[str, str], prefix: str) -> httpx.Response:
    return http.get(path, headers=spell(headers, prefix))


# --- access type and project id -----------------------------------------------------------------


def test_route_needing_auth_without_access_type_is_access_type_required(
    http: httpx.Client,
) -> None:
    r = http.get(ME)
    body = assert_known_error(r, "ACCESS_TYPE_REQUIRED", 400)
    assert "details" not in body


def test_unknown_access_type_is_invalid_access_type(
    http: httpx.Client, project: Project, prefix: str
) -> None:
    headers = {"x-stack-access-type": "superuser", "x-stack-project-id": project.id}
    assert_known_error(_get(http, CURRENT, headers, prefix), "INVALID_ACCESS_TYPE", 400)


@pytest.mark.parametrize(
    "key_header",
    [
        "x-stack-publishable-client-key",
        "x-stack-secret-server-key",
        "x-stack-super-secret-admin-key",
    ],
)
def test_project_key_without_access_type_is_refused(
    http: httpx.Client, project: Project, prefix: str, key_header: str
) -> None:
    headers = {"x-stack-project-id": project.id, key_header: project.secret_server_key}
    r = _get(http, CURRENT, headers, prefix)
    assert_known_error(r, "PROJECT_KEY_WITHOUT_ACCESS_TYPE", 400)


@pytest.mark.parametrize("access_type", ["client", "server", "admin"])
def test_access_type_without_project_id_names_the_request_type(
    http: httpx.Client, prefix: str, access_type: str
) -> None:
    r = _get(http, CURRENT, {"x-stack-access-type": access_type}, prefix)
    assert_known_error(
        r, "ACCESS_TYPE_WITHOUT_PROJECT_ID", 400, details={"request_type": access_type}
    )


@pytest.mark.parametrize("project_id", [str(uuid.uuid4()), "not-a-project"])
def test_unknown_project_is_current_project_not_found(
    http: httpx.Client, prefix: str, project_id: str
) -> None:
    headers = {"x-stack-access-type": "client", "x-stack-project-id": project_id}
    r = _get(http, CURRENT, headers, prefix)
    assert_known_error(r, "CURRENT_PROJECT_NOT_FOUND", 400, details={"project_id": project_id})


def test_hexclave_headers_authenticate_like_stack_headers(
    http: httpx.Client, project: Project
) -> None:
    r = http.get(CURRENT, headers=spell(project.headers("server"), "x-hexclave-"))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == project.id


# --- project keys ---------------------------------------------------------------------------------


def test_client_without_key_is_allowed_when_project_does_not_require_one(
    http: httpx.Client, project: Project, prefix: str
) -> None:
    headers = {"x-stack-access-type": "client", "x-stack-project-id": project.id}
    r = _get(http, CURRENT, headers, prefix)
    assert r.status_code == 200, r.text


def test_client_without_key_is_refused_when_project_requires_one(
    http: httpx.Client, make_project: Callable[..., Project], prefix: str
) -> None:
    project = make_project({"project.requirePublishableClientKey": True})
    headers = {"x-stack-access-type": "client", "x-stack-project-id": project.id}
    r = _get(http, CURRENT, headers, prefix)
    assert_known_error(
        r,
        "PUBLISHABLE_CLIENT_KEY_REQUIRED_FOR_PROJECT",
        401,
        details={"project_id": project.id},
    )
    # ... and the right key still works on that project.
    assert _get(http, CURRENT, project.headers("client"), prefix).status_code == 200


@pytest.mark.parametrize(
    ("access_type", "key_header", "code"),
    [
        ("client", "x-stack-publishable-client-key", "INVALID_PUBLISHABLE_CLIENT_KEY"),
        ("server", "x-stack-secret-server-key", "INVALID_SECRET_SERVER_KEY"),
        ("admin", "x-stack-super-secret-admin-key", "INVALID_SUPER_SECRET_ADMIN_KEY"),
    ],
)
def test_wrong_key_is_refused_with_project_id(
    http: httpx.Client,
    project: Project,
    prefix: str,
    access_type: str,
    key_header: str,
    code: str,
) -> None:
    headers = project.headers(access_type, **{key_header: "pck_wrong_key_0123456789abcdefghjk"})
    r = _get(http, CURRENT, headers, prefix)
    assert_known_error(r, code, 401, details={"project_id": project.id})


@pytest.mark.parametrize(
    ("access_type", "code"),
    [("server", "SERVER_AUTHENTICATION_REQUIRED"), ("admin", "ADMIN_AUTHENTICATION_REQUIRED")],
)
def test_missing_server_or_admin_key_is_refused(
    http: httpx.Client, project: Project, prefix: str, access_type: str, code: str
) -> None:
    headers = {"x-stack-access-type": access_type, "x-stack-project-id": project.id}
    body = assert_known_error(_get(http, CURRENT, headers, prefix), code, 401)
    assert "details" not in body


def test_server_key_does_not_grant_admin_access(http: httpx.Client, project: Project) -> None:
    headers = {
        "x-stack-access-type": "admin",
        "x-stack-project-id": project.id,
        "x-stack-super-secret-admin-key": project.secret_server_key,
    }
    r = http.get(CURRENT, headers=headers)
    assert_known_error(r, "INVALID_SUPER_SECRET_ADMIN_KEY", 401, details={"project_id": project.id})


@pytest.mark.parametrize(
    ("access_type", "code"),
    [
        ("client", "INVALID_PUBLISHABLE_CLIENT_KEY"),
        ("server", "INVALID_SECRET_SERVER_KEY"),
        ("admin", "INVALID_SUPER_SECRET_ADMIN_KEY"),
    ],
)
def test_key_of_one_project_is_refused_on_another(
    http: httpx.Client,
    make_project: Callable[..., Project],
    prefix: str,
    access_type: str,
    code: str,
) -> None:
    a, b = make_project(), make_project()
    headers = a.headers(access_type, **{"x-stack-project-id": b.id})
    r = _get(http, CURRENT, headers, prefix)
    assert_known_error(r, code, 401, details={"project_id": b.id})


def test_client_on_server_route_is_insufficient_access_type(
    http: httpx.Client, project: Project, prefix: str
) -> None:
    r = _get(http, USERS, project.headers("client"), prefix)
    assert_known_error(
        r,
        "INSUFFICIENT_ACCESS_TYPE",
        401,
        details={"actual_access_type": "client", "allowed_access_types": ["server", "admin"]},
    )


def test_unknown_branch_is_branch_does_not_exist(
    http: httpx.Client, project: Project, prefix: str
) -> None:
    headers = project.headers("server", **{"x-stack-branch-id": "feature-x"})
    r = _get(http, CURRENT, headers, prefix)
    assert_known_error(r, "BRANCH_DOES_NOT_EXIST", 400, details={"branch_id": "feature-x"})


def test_unknown_branch_is_checked_only_after_the_keys(
    http: httpx.Client, project: Project
) -> None:
    headers = project.headers(
        "server",
        **{"x-stack-branch-id": "feature-x", "x-stack-secret-server-key": "ssk_wrong_wrong_wrong"},
    )
    assert_known_error(http.get(CURRENT, headers=headers), "INVALID_SECRET_SERVER_KEY", 401)


# --- user access tokens ---------------------------------------------------------------------------


def test_access_token_of_another_project_is_refused(
    http: httpx.Client, make_project: Callable[..., Project], prefix: str
) -> None:
    a, b = make_project(), make_project()
    tokens = sign_up(http, a)
    r = _get(http, ME, as_user(b, tokens["access_token"]), prefix)
    assert_known_error(
        r,
        "INVALID_PROJECT_FOR_ACCESS_TOKEN",
        401,
        details={"expected_project_id": b.id, "actual_project_id": a.id},
    )


def _past_token(project: Project, user_id: str, refresh_token_id: str, issued_ago: int) -> str:
    service = TokenService(SERVER_SECRET, "http://localhost:8102", 600)
    return service.sign_access_token(
        project_id=project.id,
        branch_id="main",
        user_id=user_id,
        refresh_token_id=refresh_token_id,
        display_name=None,
        primary_email="past@example.com",
        primary_email_verified=False,
        selected_team_id=None,
        signed_up_at_seconds=int(time.time()) - issued_ago,
        is_anonymous=False,
        restricted_reason=None,
        requires_totp_mfa=False,
        now=int(time.time()) - issued_ago,
    )


def test_expired_access_token_is_access_token_expired_with_all_details(
    http: httpx.Client, project: Project, prefix: str
) -> None:
    user_id, refresh_token_id = str(uuid.uuid4()), str(uuid.uuid4())
    token = _past_token(project, user_id, refresh_token_id, issued_ago=3600)
    exp = jwt_parts(token)[1]["exp"]
    r = _get(http, ME, as_user(project, token), prefix)
    assert_known_error(
        r,
        "ACCESS_TOKEN_EXPIRED",
        401,
        details={
            "expired_at_millis": exp * 1000,
            "project_id": project.id,
            "user_id": user_id,
            "refresh_token_id": refresh_token_id,
        },
    )


def test_access_token_lifetime_follows_expiration_setting(
    migrated_database: str, make_project: Callable[..., Project]
) -> None:
    """STACK_ACCESS_TOKEN_EXPIRATION_TIME=1s: the token says so, and is refused once past exp."""
    project = make_project()
    with (
        running_api(migrated_database, STACK_ACCESS_TOKEN_EXPIRATION_TIME="1s") as server,
        server.client() as http,
    ):
        tokens = sign_up(http, project)
        claims = jwt_parts(tokens["access_token"])[1]
        assert claims["exp"] - claims["iat"] == 1
        time.sleep(max(0.0, claims["exp"] + 1.1 - time.time()))
        r = http.get(ME, headers=as_user(project, tokens["access_token"]))
        body = assert_known_error(r, "ACCESS_TOKEN_EXPIRED", 401)
        assert body["details"]["user_id"] == tokens["user_id"]
        assert body["details"]["refresh_token_id"] == claims["refresh_token_id"]
        assert body["details"]["project_id"] == project.id
        assert body["details"]["expired_at_millis"] == claims["exp"] * 1000


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    ],
)
def test_garbage_access_token_is_unparsable(
    http: httpx.Client, project: Project, prefix: str, token: str
) -> None:
    r = _get(http, ME, as_user(project, token), prefix)
    assert_known_error(r, "UNPARSABLE_ACCESS_TOKEN", 401)


def test_token_signed_with_another_secret_is_unparsable(
    http: httpx.Client, project: Project, prefix: str
) -> None:
    tokens = sign_up(http, project)
    claims = jwt_parts(tokens["access_token"])[1]
    forged = TokenService(OTHER_SECRET, "http://localhost:8102", 600).sign_access_token(
        project_id=project.id,
        branch_id="main",
        user_id=claims["sub"],
        refresh_token_id=claims["refresh_token_id"],
        display_name=None,
        primary_email=claims["email"],
        primary_email_verified=False,
        selected_team_id=None,
        signed_up_at_seconds=claims["signed_up_at"],
        is_anonymous=False,
        restricted_reason=None,
        requires_totp_mfa=False,
    )
    r = _get(http, ME, as_user(project, forged), prefix)
    assert_known_error(r, "UNPARSABLE_ACCESS_TOKEN", 401)


def test_token_with_tampered_payload_is_unparsable(http: httpx.Client, project: Project) -> None:
    victim = create_user(http, project, primary_email=unique_email("victim"))
    token = sign_up(http, project)["access_token"]
    header, _, signature = token.split(".")
    claims = jwt_parts(token)[1]
    claims["sub"] = victim["id"]
    forged_payload = (
        base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode("ascii")
    )
    forged = f"{header}.{forged_payload}.{signature}"
    r = http.get(ME, headers=as_user(project, forged))
    assert_known_error(r, "UNPARSABLE_ACCESS_TOKEN", 401)


def _anonymous_session(http: httpx.Client, project: Project) -> dict[str, Any]:
    user = create_user(http, project, is_anonymous=True)
    r = http.post(
        "/api/v1/auth/sessions", headers=project.headers("server"), json={"user_id": user["id"]}
    )
    assert r.status_code == 200, r.text
    tokens: dict[str, Any] = r.json()
    return tokens


def test_anonymous_token_needs_allow_anonymous_header(
    http: httpx.Client, project: Project, prefix: str
) -> None:
    tokens = _anonymous_session(http, project)
    assert jwt_parts(tokens["access_token"])[1]["aud"] == f"{project.id}:anon"
    r = _get(http, ME, as_user(project, tokens["access_token"]), prefix)
    assert_known_error(r, "ANONYMOUS_AUTHENTICATION_NOT_ALLOWED", 401)
    allowed = as_user(project, tokens["access_token"])
    allowed["x-stack-allow-anonymous-user"] = "true"
    ok = _get(http, ME, allowed, prefix)
    assert ok.status_code == 200, ok.text
    assert ok.json()["is_anonymous"] is True


def test_restricted_token_needs_allow_restricted_header(
    http: httpx.Client, project: Project
) -> None:
    user = create_user(http, project, primary_email=unique_email(), restricted_by_admin=True)
    r = http.post(
        "/api/v1/auth/sessions", headers=project.headers("server"), json={"user_id": user["id"]}
    )
    token = r.json()["access_token"]
    assert jwt_parts(token)[1]["aud"] == f"{project.id}:restricted"
    refused = http.get(ME, headers=as_user(project, token))
    assert_known_error(refused, "RESTRICTED_USER_NOT_ALLOWED", 403)
    for header in ("x-stack-allow-restricted-user", "x-stack-allow-anonymous-user"):
        ok = http.get(ME, headers={**as_user(project, token), header: "true"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["restricted_reason"] == {"type": "restricted_by_administrator"}
