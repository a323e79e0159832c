"""Who may call the sync routes, and the shape of a project's sync status."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import INTERNAL_KEYS, Project, create_project
from tests.factories import query_value
from tests.sync.support import CRON, SYNC, sequence, with_target
from tests.sync.test_sequencer import add_users

OPERATOR_ROUTES = [
    ("GET", "sequencer", None),
    ("GET", "poller", None),
    ("GET", "fusebox", None),
    ("POST", "fusebox", {}),
]
INTERNAL_ADMIN = {
    "x-stack-access-type": "admin",
    "x-stack-project-id": "internal",
    "x-stack-super-secret-admin-key": INTERNAL_KEYS["super_secret_admin_key"],
}


def _call(
    http: httpx.Client, method: str, step: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    return http.request(method, f"{SYNC}/{step}", headers=headers, json=body)


@pytest.mark.parametrize(("method", "step", "body"), OPERATOR_ROUTES)
def test_the_operator_routes_take_the_cron_secret_or_the_internal_admin(
    sync_http: httpx.Client, sync_db: str, method: str, step: str, body: Any
) -> None:
    project = create_project(sync_db)
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "test"}):
        r = _call(sync_http, method, step, body, headers)
        assert r.status_code == 401, r.text
    # A project's own admin runs its project, not the deployment's sync.
    r = _call(sync_http, method, step, body, project.headers("admin"))
    assert r.status_code == 401, r.text
    assert r.headers["x-stack-known-error"] == "EXPECTED_INTERNAL_PROJECT"
    wrong_key = {**INTERNAL_ADMIN, "x-stack-super-secret-admin-key": "sak_wrong"}
    r = _call(sync_http, method, step, body, wrong_key)
    assert r.headers["x-stack-known-error"] == "INVALID_SUPER_SECRET_ADMIN_KEY", r.text
    for headers in (CRON, INTERNAL_ADMIN):
        r = _call(sync_http, method, step, body, headers)
        assert r.status_code == 200, r.text
        assert r.json().get("ok", True) is True


def test_the_fusebox_refuses_a_malformed_body(sync_http: httpx.Client) -> None:
    for body in ({"sequencer_enabled": "no"}, {"other": True}, []):
        r = sync_http.post(f"{SYNC}/fusebox", headers=CRON, json=body)
        assert r.status_code == 400, r.text
        assert r.headers["x-stack-known-error"] == "SCHEMA_ERROR"


def test_status_needs_the_projects_admin(sync_http: httpx.Client, sync_db: str) -> None:
    project = with_target(sync_db)
    for headers in (CRON, project.headers("server"), project.headers("client")):
        r = sync_http.get(f"{SYNC}/status", headers=headers)
        assert 400 <= r.status_code < 500, r.text


def _status(http: httpx.Client, project: Project) -> dict[str, Any]:
    r = http.get(f"{SYNC}/status", headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_status_shows_each_target_and_mapping_with_its_lag(
    sync_http: httpx.Client, sync_db: str
) -> None:
    project = with_target(sync_db)
    add_users(sync_db, project.tenancy_id, 4)
    sequence(sync_http)
    add_users(sync_db, project.tenancy_id, 2)  # not numbered yet
    body = _status(sync_http, project)
    assert set(body["fusebox"]) == {"sequencer_enabled", "poller_enabled", "updated_at_millis"}
    (target,) = body["targets"]
    assert (target["id"], target["type"]) == ("main", "postgres")
    by_mapping = {m["mapping"]: m for m in target["mappings"]}
    assert list(by_mapping) == [
        "users", "contact_channels", "teams", "team_member_profiles", "team_permissions",
        "team_invitations", "email_outboxes", "project_permissions", "refresh_tokens",
        "connected_accounts",
    ]  # fmt: skip
    assert by_mapping["users"] == {
        "mapping": "users",
        "last_synced_sequence_id": None,
        "lag": 4,
        "pending_changes": 2,
        "last_error": None,
        "last_error_at_millis": None,
        "updated_at_millis": None,
    }
    assert by_mapping["teams"]["lag"] == 0

    # What the sync engine records after syncing up to the third user, then failing.
    ids = sorted(
        row[0]
        for row in psycopg.connect(sync_db).execute(
            "SELECT sync_sequence_id FROM users WHERE tenancy_id = %s"
            " AND sync_sequence_id IS NOT NULL",
            (project.tenancy_id,),
        )
    )
    with psycopg.connect(sync_db) as conn:
        conn.execute(
            "INSERT INTO external_db_sync_status"
            " (tenancy_id, target_id, mapping, last_synced_sequence_id, last_error, last_error_at)"
            " VALUES (%s, 'main', 'users', %s, 'connection refused', now())",
            (project.tenancy_id, ids[2]),
        )
        conn.execute(
            "DELETE FROM users WHERE tenancy_id = %s AND sync_sequence_id = %s",
            (project.tenancy_id, ids[0]),
        )
    users = {m["mapping"]: m for m in _status(sync_http, project)["targets"][0]["mappings"]}[
        "users"
    ]
    assert users["last_synced_sequence_id"] == ids[2]
    assert users["lag"] == 1  # the fourth user; the unnumbered tombstone is pending
    assert users["pending_changes"] == 3
    assert users["last_error"] == "connection refused"
    assert isinstance(users["last_error_at_millis"], int)
    sequence(sync_http)
    users = _status(sync_http, project)["targets"][0]["mappings"][0]
    assert (users["lag"], users["pending_changes"]) == (4, 0)


def test_status_of_a_project_without_targets_lists_none(
    sync_http: httpx.Client, sync_db: str
) -> None:
    project = create_project(sync_db)
    assert _status(sync_http, project)["targets"] == []
    other = with_target(sync_db)
    count = "SELECT count(*) FROM external_db_sync_status WHERE tenancy_id = %s"
    assert query_value(sync_db, count, (other.tenancy_id,)) == 0
