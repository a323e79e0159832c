"""Users (contract §5.3): /users/me for clients, /users/{id} for servers, shapes and metadata."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.helpers import (
    PASSWORD,
    as_user,
    assert_known_error,
    create_user,
    sign_in_with_password,
    sign_up,
    unique_email,
)
from tests.conftest import Project

ME = "/api/v1/users/me"
USERS = "/api/v1/users"

CLIENT_KEYS = {
    "id", "primary_email", "primary_email_verified", "display_name", "client_metadata",
    "client_read_only_metadata", "profile_image_url", "signed_up_at_millis", "has_password",
    "auth_with_email", "oauth_providers", "selected_team_id", "selected_team",
    "requires_totp_mfa", "otp_auth_enabled", "passkey_auth_enabled", "is_anonymous",
    "is_restricted", "restricted_reason", "restricted_by_admin", "restricted_by_admin_reason",
}  # fmt: skip
SERVER_KEYS = CLIENT_KEYS | {
    "primary_email_auth_enabled", "server_metadata", "last_active_at_millis",
    "restricted_by_admin_private_details", "country_code", "risk_scores",
}  # fmt: skip


# --- /users/me ----------------------------------------------------------------------------------


def test_client_reads_itself_in_the_client_shape(http: httpx.Client, project: Project) -> None:
    email = unique_email()
    tokens = sign_up(http, project, email)
    r = http.get(ME, headers=as_user(project, tokens["access_token"]))
    assert r.status_code == 200, r.text
    me = r.json()
    assert set(me) == CLIENT_KEYS
    assert me["id"] == tokens["user_id"]
    assert me["primary_email"] == email
    assert me["primary_email_verified"] is False
    assert me["has_password"] is True
    assert me["auth_with_email"] is True
    assert me["oauth_providers"] == []
    assert me["is_anonymous"] is False
    assert me["is_restricted"] is False
    assert me["restricted_reason"] is None
    assert me["selected_team"] is None
    assert isinstance(me["signed_up_at_millis"], int)


def test_server_reads_me_in_the_server_shape(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    r = http.get(ME, headers=as_user(project, tokens["access_token"], "server"))
    assert r.status_code == 200, r.text
    assert set(r.json()) == SERVER_KEYS


def test_me_without_a_user_is_refused(http: httpx.Client, project: Project) -> None:
    for access_type in ("client", "server"):
        for method in ("GET", "PATCH", "DELETE"):
            r = http.request(
                method,
                ME,
                headers=project.headers(access_type),
                json={} if method == "PATCH" else None,
            )
            assert_known_error(r, "CANNOT_GET_OWN_USER_WITHOUT_USER", 400)
    r = http.get(f"{USERS}/me", headers=project.headers("server"))
    assert_known_error(r, "CANNOT_GET_OWN_USER_WITHOUT_USER", 400)


def test_client_updates_itself(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    headers = as_user(project, tokens["access_token"])
    r = http.patch(
        ME,
        headers=headers,
        json={"display_name": "Alice Liddell", "client_metadata": {"theme": "dark", "n": [1, 2]}},
    )
    assert r.status_code == 200, r.text
    assert set(r.json()) == CLIENT_KEYS
    assert r.json()["display_name"] == "Alice Liddell"
    again = http.get(ME, headers=headers).json()
    assert again["display_name"] == "Alice Liddell"
    assert again["client_metadata"] == {"theme": "dark", "n": [1, 2]}
    # Sending only one field leaves the others alone; null clears.
    http.patch(ME, headers=headers, json={"display_name": None})
    after = http.get(ME, headers=headers).json()
    assert after["display_name"] is None
    assert after["client_metadata"] == {"theme": "dark", "n": [1, 2]}


@pytest.mark.parametrize(
    "field",
    ["client_read_only_metadata", "server_metadata", "password", "restricted_by_admin", "nope"],
)
def test_client_cannot_set_privileged_fields(
    http: httpx.Client, project: Project, field: str
) -> None:
    tokens = sign_up(http, project)
    headers = as_user(project, tokens["access_token"])
    value: Any = True if field == "restricted_by_admin" else {"x": 1}
    if field == "password":
        value = "a-new-password-1"
    r = http.patch(ME, headers=headers, json={field: value})
    assert_known_error(r, "SCHEMA_ERROR", 400)
    server_view = http.get(f"{USERS}/{tokens['user_id']}", headers=project.headers("server"))
    assert server_view.json()["client_read_only_metadata"] is None
    assert server_view.json()["server_metadata"] is None
    assert server_view.json()["restricted_by_admin"] is False


PNG_1PX = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAAD0lEQVR4AQEEAPv/"
    "ALHBwQRaAjRgT7lCAAAAAElFTkSuQmCC"
)


def test_client_profile_image_must_be_a_data_url(http: httpx.Client, project: Project) -> None:
    headers = as_user(project, sign_up(http, project)["access_token"])
    r = http.patch(ME, headers=headers, json={"profile_image_url": "https://evil.example/x.png"})
    assert (r.status_code, r.text) == (400, "Invalid profile image URL")  # upstream's plain 400
    ok = http.patch(ME, headers=headers, json={"profile_image_url": PNG_1PX})
    assert ok.status_code == 200, ok.text
    assert ok.json()["profile_image_url"].endswith(".png")  # stored; its public URL


def test_metadata_levels_and_their_visibility(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    r = http.patch(
        f"{USERS}/{tokens['user_id']}",
        headers=project.headers("server"),
        json={
            "client_metadata": {"a": 1},
            "client_read_only_metadata": {"plan": "pro"},
            "server_metadata": {"stripe_id": "cus_123"},
        },
    )
    assert r.status_code == 200, r.text
    server = r.json()
    assert server["client_metadata"] == {"a": 1}
    assert server["client_read_only_metadata"] == {"plan": "pro"}
    assert server["server_metadata"] == {"stripe_id": "cus_123"}
    client = http.get(ME, headers=as_user(project, tokens["access_token"]))
    assert client.json()["client_metadata"] == {"a": 1}
    assert client.json()["client_read_only_metadata"] == {"plan": "pro"}
    assert "server_metadata" not in client.json()
    assert "cus_123" not in client.text


@pytest.mark.parametrize("value", [None, 0, "text", [1, "two"], {"deep": {"er": [None]}}, True])
def test_metadata_accepts_any_json_value(http: httpx.Client, project: Project, value: Any) -> None:
    user = create_user(http, project, server_metadata=value, client_metadata=value)
    assert user["server_metadata"] == value
    fetched = http.get(f"{USERS}/{user['id']}", headers=project.headers("server")).json()
    assert fetched["server_metadata"] == value
    assert fetched["client_metadata"] == value


# --- primary email ------------------------------------------------------------------------------


def test_client_changes_primary_email_and_signs_in_with_it(
    http: httpx.Client, project: Project
) -> None:
    old, new = unique_email("old"), unique_email("new")
    tokens = sign_up(http, project, old)
    http.patch(
        f"{USERS}/{tokens['user_id']}",
        headers=project.headers("server"),
        json={"primary_email_verified": True},
    )
    r = http.patch(
        ME, headers=as_user(project, tokens["access_token"]), json={"primary_email": new}
    )
    assert r.status_code == 200, r.text
    assert r.json()["primary_email"] == new
    assert r.json()["primary_email_verified"] is False  # a new address is not verified yet
    server = http.get(f"{USERS}/{tokens['user_id']}", headers=project.headers("server")).json()
    assert server["primary_email_auth_enabled"] is True
    assert sign_in_with_password(http, project, new, PASSWORD).status_code == 200
    assert_known_error(
        sign_in_with_password(http, project, old, PASSWORD), "EMAIL_PASSWORD_MISMATCH", 400
    )
    # The old address is released: someone else may now sign up with it.
    sign_up(http, project, old)


def test_primary_email_taken_by_another_user_is_refused(
    http: httpx.Client, project: Project
) -> None:
    taken = unique_email("taken")
    sign_up(http, project, taken)
    tokens = sign_up(http, project)
    r = http.patch(
        ME, headers=as_user(project, tokens["access_token"]), json={"primary_email": taken.upper()}
    )
    body = assert_known_error(r, "USER_EMAIL_ALREADY_EXISTS", 409)
    assert set(body["details"]) == {"email", "would_work_if_email_was_verified"}
    me = http.get(ME, headers=as_user(project, tokens["access_token"])).json()
    assert me["primary_email"] != taken.upper()


def test_server_sets_email_flags(http: httpx.Client, project: Project) -> None:
    email = unique_email()
    user = create_user(http, project, primary_email=email)
    assert user["primary_email_verified"] is False
    assert user["primary_email_auth_enabled"] is False
    r = http.patch(
        f"{USERS}/{user['id']}",
        headers=project.headers("server"),
        json={"primary_email_verified": True, "primary_email_auth_enabled": True},
    )
    assert r.json()["primary_email_verified"] is True
    assert r.json()["primary_email_auth_enabled"] is True
    # Now that the email signs in, nobody else can sign up with it.
    clash = http.post(
        "/api/v1/auth/password/sign-up",
        headers=project.headers(),
        json={"email": email, "password": PASSWORD},
    )
    assert_known_error(clash, "USER_EMAIL_ALREADY_EXISTS", 409)


def test_email_not_used_for_auth_may_be_shared(http: httpx.Client, project: Project) -> None:
    email = unique_email("contact")
    create_user(http, project, primary_email=email, primary_email_auth_enabled=False)
    second = create_user(http, project, primary_email=email, primary_email_auth_enabled=True)
    assert second["primary_email"] == email


def test_server_removes_primary_email(http: httpx.Client, project: Project) -> None:
    user = create_user(http, project, primary_email=unique_email())
    r = http.patch(
        f"{USERS}/{user['id']}", headers=project.headers("server"), json={"primary_email": None}
    )
    assert r.status_code == 200, r.text
    assert r.json()["primary_email"] is None
    assert r.json()["primary_email_verified"] is False


# --- server create / read / update / delete ------------------------------------------------------


def test_server_creates_user_in_server_shape(http: httpx.Client, project: Project) -> None:
    email = unique_email()
    r = http.post(
        USERS,
        headers=project.headers("server"),
        json={
            "primary_email": email,
            "password": "another-long-password-2",
            "primary_email_auth_enabled": True,
            "display_name": "Bob",
            "risk_scores": {"sign_up": {"bot": 7, "free_trial_abuse": 42}},
            "country_code": "FR",
        },
    )
    assert r.status_code == 201, r.text
    user = r.json()
    assert set(user) == SERVER_KEYS
    assert user["display_name"] == "Bob"
    assert user["has_password"] is True
    assert user["risk_scores"] == {"sign_up": {"bot": 7, "free_trial_abuse": 42}}
    assert user["country_code"] == "FR"
    assert user["primary_email_auth_enabled"] is True
    uuid.UUID(user["id"])
    fetched = http.get(f"{USERS}/{user['id']}", headers=project.headers("server"))
    assert fetched.status_code == 200
    assert fetched.json() == user | {
        "last_active_at_millis": fetched.json()["last_active_at_millis"]
    }
    assert sign_in_with_password(http, project, email, "another-long-password-2").status_code == 200


def test_server_user_defaults(http: httpx.Client, project: Project) -> None:
    user = create_user(http, project)
    assert user["risk_scores"] == {"sign_up": {"bot": 0, "free_trial_abuse": 0}}
    assert user["primary_email"] is None
    assert user["has_password"] is False
    assert user["auth_with_email"] is False
    for key in ("client_metadata", "client_read_only_metadata", "server_metadata"):
        assert user[key] is None


def test_created_email_already_used_for_sign_in_is_refused(
    http: httpx.Client, project: Project
) -> None:
    email = unique_email()
    sign_up(http, project, email)
    r = http.post(
        USERS,
        headers=project.headers("server"),
        json={"primary_email": email.upper(), "primary_email_auth_enabled": True},
    )
    assert_known_error(
        r,
        "USER_EMAIL_ALREADY_EXISTS",
        409,
        # The details carry the normalised address, whatever spelling the request used.
        details={"email": email.lower(), "would_work_if_email_was_verified": False},
    )


def test_client_cannot_use_server_user_routes(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    headers = as_user(project, tokens["access_token"])
    for method, path, body in (
        ("GET", f"{USERS}/{tokens['user_id']}", None),
        ("PATCH", f"{USERS}/{tokens['user_id']}", {"display_name": "x"}),
        ("DELETE", f"{USERS}/{tokens['user_id']}", None),
        ("POST", USERS, {}),
    ):
        r = http.request(method, path, headers=headers, json=body)
        assert_known_error(r, "INSUFFICIENT_ACCESS_TYPE", 401)


def test_unknown_user_is_user_not_found(http: httpx.Client, project: Project) -> None:
    missing = str(uuid.uuid4())
    for method, body in (("GET", None), ("PATCH", {"display_name": "x"}), ("DELETE", None)):
        r = http.request(method, f"{USERS}/{missing}", headers=project.headers("server"), json=body)
        body_ = assert_known_error(r, "USER_NOT_FOUND", 404)
        assert "details" not in body_


def test_malformed_user_id_is_schema_error(http: httpx.Client, project: Project) -> None:
    r = http.get(f"{USERS}/not-a-uuid", headers=project.headers("server"))
    assert_known_error(r, "SCHEMA_ERROR", 400)


def test_server_deletes_user(http: httpx.Client, project: Project) -> None:
    user = create_user(http, project, primary_email=unique_email())
    r = http.delete(f"{USERS}/{user['id']}", headers=project.headers("server"))
    assert r.status_code == 200
    assert r.json() == {"success": True}
    gone = http.get(f"{USERS}/{user['id']}", headers=project.headers("server"))
    assert_known_error(gone, "USER_NOT_FOUND", 404)


def test_restriction_reasons_need_restricted_by_admin(http: httpx.Client, project: Project) -> None:
    user = create_user(http, project)
    r = http.patch(
        f"{USERS}/{user['id']}",
        headers=project.headers("server"),
        json={"restricted_by_admin_reason": "spam"},
    )
    assert_known_error(r, "SCHEMA_ERROR", 400)
    ok = http.patch(
        f"{USERS}/{user['id']}",
        headers=project.headers("server"),
        json={"restricted_by_admin": True, "restricted_by_admin_reason": "spam"},
    )
    assert ok.json()["restricted_by_admin"] is True
    assert ok.json()["is_restricted"] is True
    assert ok.json()["restricted_reason"] == {"type": "restricted_by_administrator"}
    assert ok.json()["restricted_by_admin_reason"] == "spam"
    lifted = http.patch(
        f"{USERS}/{user['id']}",
        headers=project.headers("server"),
        json={"restricted_by_admin": False},
    )
    assert lifted.json()["restricted_by_admin_reason"] is None
    assert lifted.json()["is_restricted"] is False


def test_is_anonymous_can_only_be_set_to_false(http: httpx.Client, project: Project) -> None:
    user = create_user(http, project)
    r = http.patch(
        f"{USERS}/{user['id']}", headers=project.headers("server"), json={"is_anonymous": True}
    )
    assert_known_error(r, "SCHEMA_ERROR", 400)
    anon = create_user(http, project, is_anonymous=True)
    assert anon["is_anonymous"] is True
    assert anon["restricted_reason"] == {"type": "anonymous"}
    upgraded = http.patch(
        f"{USERS}/{anon['id']}", headers=project.headers("server"), json={"is_anonymous": False}
    )
    assert upgraded.json()["is_anonymous"] is False
    assert upgraded.json()["is_restricted"] is False
