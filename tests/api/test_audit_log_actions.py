"""What the audit log records besides impersonation and config overrides: project updates, key
sets, user deletions and restrictions; each once, as its actor's, and never with a secret."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.api.helpers import admin_headers, as_user, create_user, sign_up
from tests.api.test_audit_log import entries
from tests.conftest import Project
from tests.factories import ADMIN_USER_ID, query_rows

KEY_SETS = "/api/v1/internal/api-keys"
YEAR_MS = 365 * 86_400_000


def _stored_rows(database_url: str, project: Project) -> list[str]:
    """Every audit row of the project's tenancy, each column as the database holds it."""
    rows = query_rows(
        database_url,
        "SELECT to_jsonb(a)::text FROM audit_log a WHERE tenancy_id = %s",
        (project.tenancy_id,),
    )
    return [str(row[0]) for row in rows]


def test_a_project_update_names_the_fields_and_config_keys_it_changed(
    http: httpx.Client, project: Project, admin_access_token: str
) -> None:
    admin = admin_headers(project.id, admin_access_token)
    r = http.patch(
        "/api/v1/internal/projects/current",
        headers=admin,
        json={
            "display_name": "Renamed",
            "config": {
                "sign_up_enabled": False,
                "email_config": {
                    "type": "standard",
                    "host": "smtp.example.com",
                    "port": 587,
                    "username": "mailer",
                    "password": "legacy-smtp-password-never-logged",
                    "sender_name": "App",
                    "sender_email": "noreply@example.com",
                },
            },
        },
    )
    assert r.status_code == 200, r.text
    [entry] = entries(http, project)
    assert entry["action"] == "project.updated"
    assert entry["actor"]["type"] == "admin_user"
    assert entry["actor"]["user_id"] == ADMIN_USER_ID
    assert entry["target"] == {"type": "project", "id": project.id}
    assert entry["details"]["fields"] == ["config", "display_name"]
    changed = entry["details"]["changed_keys"]
    assert "auth.allowSignUp" in changed
    assert "emails.server.password" in changed
    assert "legacy-smtp-password-never-logged" not in json.dumps(entry)
    assert "Renamed" not in json.dumps(entry)
    # A PATCH of plain fields only lists them.
    r = http.patch(
        "/api/v1/internal/projects/current",
        headers=project.headers("admin"),
        json={"description": "d"},
    )
    assert r.status_code == 200, r.text
    newest = entries(http, project)[0]
    assert newest["details"] == {"fields": ["description"], "changed_keys": []}
    assert newest["actor"]["type"] == "admin_key"


def test_key_sets_created_and_revoked_are_audited_without_their_keys(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    expires = int(time.time() * 1000) + YEAR_MS
    body = {
        "description": "ci keys",
        "expires_at_millis": expires,
        "has_publishable_client_key": True,
        "has_secret_server_key": True,
        "has_super_secret_admin_key": True,
    }
    created = http.post(KEY_SETS, headers=project.headers("admin"), json=body)
    assert created.status_code == 200, created.text
    key_set = created.json()
    [entry] = entries(http, project)
    assert entry["action"] == "key_set.created"
    assert entry["target"] == {"type": "key_set", "id": key_set["id"]}
    assert entry["details"] == {
        "kinds": ["publishable_client_key", "secret_server_key", "super_secret_admin_key"],
        "expires_at_millis": expires,
    }
    keys = [key_set[k] for k in ("publishable_client_key", "secret_server_key")]
    keys.append(key_set["super_secret_admin_key"])
    [stored] = _stored_rows(migrated_database, project)
    for key in keys:
        assert key not in stored
        assert key not in json.dumps(entry)
    path = f"{KEY_SETS}/{key_set['id']}"
    # A new description is not a revocation; a second revocation changes nothing.
    assert http.patch(path, headers=project.headers("admin"), json={"description": "x"}).is_success
    assert [e["action"] for e in entries(http, project)] == ["key_set.created"]
    for _ in range(2):
        r = http.patch(path, headers=project.headers("admin"), json={"revoked": True})
        assert r.status_code == 200, r.text
    revoked = entries(http, project, action="key_set.revoked")
    assert [e["target"]["id"] for e in revoked] == [key_set["id"]]
    assert revoked[0]["details"] == {}


def test_user_deletion_is_audited_as_the_server_or_the_user_itself(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"users.allowClientUserDeletion": True})
    user = create_user(http, project)
    r = http.delete(f"/api/v1/users/{user['id']}", headers=project.headers("server"))
    assert r.status_code == 200, r.text
    [entry] = entries(http, project)
    assert (entry["action"], entry["target"]) == (
        "user.deleted",
        {"type": "user", "id": user["id"]},
    )
    assert entry["actor"]["type"] == "server_key"
    own = sign_up(http, project)
    r = http.delete("/api/v1/users/me", headers=as_user(project, own["access_token"]))
    assert r.status_code == 200, r.text
    newest = entries(http, project)[0]
    assert newest["action"] == "user.deleted"
    assert newest["actor"]["type"] == "client_user"
    assert newest["actor"]["user_id"] == own["user_id"]
    assert newest["target"]["id"] == own["user_id"]
    # Deleting no one writes nothing.
    gone = http.delete(f"/api/v1/users/{user['id']}", headers=project.headers("server"))
    assert gone.status_code == 404
    assert len(entries(http, project, action="user.deleted")) == 2


def _restrict(http: httpx.Client, project: Project, user_id: str, **body: Any) -> None:
    r = http.patch(f"/api/v1/users/{user_id}", headers=project.headers("server"), json=body)
    assert r.status_code == 200, r.text


def test_restriction_changes_are_audited_once_each_without_their_reasons(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    user = create_user(http, project)
    reasons = {
        "restricted_by_admin_reason": "public reason text",
        "restricted_by_admin_private_details": "private details text",
    }
    _restrict(http, project, user["id"], restricted_by_admin=True, **reasons)
    _restrict(http, project, user["id"], restricted_by_admin=True)  # no change
    _restrict(http, project, user["id"], display_name="Other")  # no restriction change
    _restrict(http, project, user["id"], restricted_by_admin=False)
    actions = [e["action"] for e in entries(http, project, target_user_id=user["id"])]
    assert actions == ["user.unrestricted", "user.restricted"]
    # A user created restricted is a restriction too.
    r = http.post(
        "/api/v1/users", headers=project.headers("server"), json={"restricted_by_admin": True}
    )
    assert r.status_code == 201, r.text
    created = entries(http, project, target_user_id=r.json()["id"])
    assert [e["action"] for e in created] == ["user.restricted"]
    for stored in _stored_rows(migrated_database, project):
        assert "reason text" not in stored
        assert "details text" not in stored


def test_no_audit_row_holds_a_password_or_token(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    password = "user-password-never-logged-1"
    user = create_user(http, project, password=password, restricted_by_admin=True)
    session = http.post(
        "/api/v1/auth/sessions",
        headers=project.headers("server"),
        json={"user_id": user["id"], "is_impersonation": True},
    ).json()
    http.delete(f"/api/v1/users/{user['id']}", headers=project.headers("server"))
    rows = _stored_rows(migrated_database, project)
    assert len(rows) == 3
    for stored in rows:
        for secret in (password, session["refresh_token"], session["access_token"]):
            assert secret not in stored
        assert project.secret_server_key not in stored
