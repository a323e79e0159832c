"""User and team API keys (contract §1.4, §5.4): format, hashing, once-only value, revoke,
expiry, ``/check``, gating by ``apiKeys.enabled.*`` and ``$manage_api_keys``."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import psycopg
import pytest

from authstack_core.crypto.api_keys import parse_api_key
from authstack_core.crypto.codes import sha256_bytes
from tests.api.helpers import assert_known_error
from tests.api.team_helpers import (
    add_member,
    assert_team_permission_error,
    create_team,
    grant,
    new_user,
)
from tests.conftest import Project

ENABLED = {"apiKeys.enabled.user": True, "apiKeys.enabled.team": True}
READ_KEYS = {"id", "description", "created_at_millis", "is_public", "value", "type"}


@pytest.fixture
def keyed(make_project: Callable[..., Project]) -> Project:
    return make_project(ENABLED)


def _create_user_key(
    http: httpx.Client, headers: dict[str, str], user_id: str = "me", **extra: object
) -> httpx.Response:
    return http.post(
        "/api/v1/user-api-keys",
        headers=headers,
        json={"description": "ci", "expires_at_millis": None, "user_id": user_id, **extra},
    )


def _check(http: httpx.Client, project: Project, kind: str, key: str) -> httpx.Response:
    return http.post(
        f"/api/v1/{kind}-api-keys/check", headers=project.headers("server"), json={"api_key": key}
    )


def test_user_key_is_shown_once_stored_hashed_and_checks(
    http: httpx.Client, keyed: Project, migrated_database: str
) -> None:
    user = new_user(http, keyed)
    r = _create_user_key(http, user.client(keyed))
    assert r.status_code == 200, r.text
    created = r.json()
    assert set(created) == READ_KEYS | {"user_id"}
    key = created["value"]
    assert isinstance(key, str)
    parsed = parse_api_key(key)
    assert parsed is not None
    assert (str(parsed.id), parsed.type, parsed.is_public) == (created["id"], "user", False)
    assert created["user_id"] == user.id
    with psycopg.connect(migrated_database) as conn:
        stored = conn.execute(
            "SELECT key_hash, last_four FROM project_api_keys WHERE id = %s", (created["id"],)
        ).fetchone()
        dump = conn.execute(
            "SELECT count(*) FROM project_api_keys k WHERE row_to_json(k)::text LIKE %s",
            (f"%{key[3:40]}%",),
        ).fetchone()
    assert stored == (sha256_bytes(key), key[-4:])
    assert dump == (0,)  # the plaintext is nowhere in the row
    listed = http.get("/api/v1/user-api-keys", headers=user.client(keyed), params={"user_id": "me"})
    assert listed.json()["items"] == [{**created, "value": {"last_four": key[-4:]}}]
    read = http.get(f"/api/v1/user-api-keys/{created['id']}", headers=user.client(keyed))
    assert read.json()["value"] == {"last_four": key[-4:]}
    checked = _check(http, keyed, "user", key)
    assert checked.status_code == 200, checked.text
    assert checked.json() == {**created, "value": {"last_four": key[-4:]}}


def test_revoked_expired_unknown_and_wrong_type_keys_fail_the_check(
    http: httpx.Client, keyed: Project
) -> None:
    user = new_user(http, keyed)
    team = create_team(http, keyed, user)
    live = _create_user_key(http, user.client(keyed)).json()
    revoke = http.patch(
        f"/api/v1/user-api-keys/{live['id']}", headers=user.client(keyed), json={"revoked": True}
    )
    assert revoke.status_code == 200, revoke.text
    assert isinstance(revoke.json()["manually_revoked_at_millis"], int)
    assert_known_error(_check(http, keyed, "user", live["value"]), "API_KEY_REVOKED", 401)
    past = int(time.time() * 1000) - 60_000
    expired = _create_user_key(http, user.client(keyed), expires_at_millis=past).json()
    assert expired["expires_at_millis"] == past
    assert_known_error(_check(http, keyed, "user", expired["value"]), "API_KEY_EXPIRED", 401)
    team_key = http.post(
        "/api/v1/team-api-keys",
        headers=user.client(keyed),
        json={"description": "t", "expires_at_millis": None, "team_id": team["id"]},
    ).json()
    assert team_key["value"].startswith("sk_")
    assert_known_error(
        _check(http, keyed, "user", team_key["value"]),
        "WRONG_API_KEY_TYPE",
        400,
        {"expected_type": "user", "actual_type": "team"},
    )
    assert _check(http, keyed, "team", team_key["value"]).json()["team_id"] == team["id"]
    assert_known_error(_check(http, keyed, "user", "sk_fake"), "API_KEY_NOT_FOUND", 404)
    forged = team_key["value"][:-12] + "0000" + team_key["value"][-8:]
    assert_known_error(_check(http, keyed, "team", forged), "API_KEY_NOT_FOUND", 404)
    as_client = http.post(
        "/api/v1/user-api-keys/check", headers=user.client(keyed), json={"api_key": live["value"]}
    )
    assert_known_error(as_client, "INSUFFICIENT_ACCESS_TYPE", 401)


def test_public_keys_use_the_pk_prefix(http: httpx.Client, keyed: Project) -> None:
    user = new_user(http, keyed)
    r = _create_user_key(http, user.client(keyed), is_public=True).json()
    assert r["is_public"] is True
    assert r["value"].startswith("pk_")


def test_keys_are_refused_unless_enabled(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"apiKeys.enabled.team": True})
    user = new_user(http, project)
    r = _create_user_key(http, user.client(project))
    assert r.status_code == 400
    assert "not enabled" in r.text
    assert (
        http.get(
            "/api/v1/user-api-keys", headers=user.client(project), params={"user_id": "me"}
        ).status_code
        == 400
    )
    team = create_team(http, project, user)
    ok = http.post(
        "/api/v1/team-api-keys",
        headers=user.client(project),
        json={"description": "t", "expires_at_millis": None, "team_id": team["id"]},
    )
    assert ok.status_code == 200, ok.text


def test_a_client_manages_only_its_own_user_keys(http: httpx.Client, keyed: Project) -> None:
    alice, bob = new_user(http, keyed), new_user(http, keyed)
    alices = _create_user_key(http, alice.client(keyed)).json()
    assert _create_user_key(http, bob.client(keyed), user_id=alice.id).status_code == 403
    assert (
        http.get(
            "/api/v1/user-api-keys", headers=bob.client(keyed), params={"user_id": alice.id}
        ).status_code
        == 403
    )
    one = f"/api/v1/user-api-keys/{alices['id']}"
    assert http.get(one, headers=bob.client(keyed)).status_code == 403
    assert http.patch(one, headers=bob.client(keyed), json={"revoked": True}).status_code == 403
    assert _check(http, keyed, "user", alices["value"]).status_code == 200
    by_server = _create_user_key(http, keyed.headers("server"), user_id=alice.id)
    assert by_server.status_code == 200
    assert by_server.json()["user_id"] == alice.id


def test_team_keys_need_manage_api_keys(http: httpx.Client, keyed: Project) -> None:
    admin, member, outsider = new_user(http, keyed), new_user(http, keyed), new_user(http, keyed)
    team = create_team(http, keyed, admin)
    add_member(http, keyed, team["id"], member)
    body = {"description": "t", "expires_at_millis": None, "team_id": team["id"]}
    denied = http.post("/api/v1/team-api-keys", headers=member.client(keyed), json=body)
    assert_team_permission_error(
        denied, "TEAM_PERMISSION_REQUIRED", team, member, "$manage_api_keys"
    )
    not_member = http.post("/api/v1/team-api-keys", headers=outsider.client(keyed), json=body)
    assert_known_error(not_member, "TEAM_MEMBERSHIP_NOT_FOUND", 404)
    created = http.post("/api/v1/team-api-keys", headers=admin.client(keyed), json=body)
    assert created.status_code == 200, created.text
    listing = {"team_id": team["id"]}
    assert (
        http.get("/api/v1/team-api-keys", headers=member.client(keyed), params=listing).status_code
        == 401
    )
    grant(http, keyed, team["id"], member, "$manage_api_keys")
    mine = http.get("/api/v1/team-api-keys", headers=member.client(keyed), params=listing)
    assert [k["id"] for k in mine.json()["items"]] == [created.json()["id"]]
    described = http.patch(
        f"/api/v1/team-api-keys/{created.json()['id']}",
        headers=member.client(keyed),
        json={"description": "renamed"},
    )
    assert described.json()["description"] == "renamed"
    assert "manually_revoked_at_millis" not in described.json()


def test_keys_are_listed_newest_first_and_bad_bodies_are_schema_errors(
    http: httpx.Client, keyed: Project
) -> None:
    user = new_user(http, keyed)
    first = _create_user_key(http, user.client(keyed), description="first").json()
    second = _create_user_key(http, user.client(keyed), description="second").json()
    listed = http.get(
        "/api/v1/user-api-keys", headers=keyed.headers("server"), params={"user_id": user.id}
    )
    assert [k["id"] for k in listed.json()["items"]] == [second["id"], first["id"]]
    no_owner = http.get("/api/v1/user-api-keys", headers=keyed.headers("server"))
    assert_known_error(no_owner, "SCHEMA_ERROR", 400)
    for bad in (
        {"description": "x", "user_id": "me"},
        {"description": "x", "expires_at_millis": None, "user_id": "me", "team_id": "x"},
        {"description": "x", "expires_at_millis": -1, "user_id": "me"},
    ):
        r = http.post("/api/v1/user-api-keys", headers=user.client(keyed), json=bad)
        assert_known_error(r, "SCHEMA_ERROR", 400)
    unrevoke = http.patch(
        f"/api/v1/user-api-keys/{first['id']}", headers=user.client(keyed), json={"revoked": False}
    )
    assert_known_error(unrevoke, "SCHEMA_ERROR", 400)


def test_deleting_the_owner_deletes_its_keys(http: httpx.Client, keyed: Project) -> None:
    user = new_user(http, keyed)
    key = _create_user_key(http, user.client(keyed)).json()
    http.delete(f"/api/v1/users/{user.id}", headers=keyed.headers("server"))
    assert_known_error(_check(http, keyed, "user", key["value"]), "API_KEY_NOT_FOUND", 404)


def test_a_key_expiry_can_be_set_and_cleared(http: httpx.Client, keyed: Project) -> None:
    user = new_user(http, keyed)
    key = _create_user_key(http, user.client(keyed)).json()
    one = f"/api/v1/user-api-keys/{key['id']}"
    past = int(time.time() * 1000) - 1000
    expired = http.patch(one, headers=user.client(keyed), json={"expires_at_millis": past})
    assert expired.json()["expires_at_millis"] == past
    assert_known_error(_check(http, keyed, "user", key["value"]), "API_KEY_EXPIRED", 401)
    cleared = http.patch(one, headers=user.client(keyed), json={"expires_at_millis": None})
    assert "expires_at_millis" not in cleared.json()
    assert _check(http, keyed, "user", key["value"]).status_code == 200
    untouched = http.patch(one, headers=user.client(keyed), json={"description": "d"})
    assert "expires_at_millis" not in untouched.json()
