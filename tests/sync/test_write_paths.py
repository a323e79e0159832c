"""Writes through the HTTP API leave their rows marked changed or tombstoned (the triggers see
every path; these tests pin a few real ones)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import create_session, sign_up
from tests.api.team_helpers import add_member, create_team, grant, new_user
from tests.conftest import Project
from tests.factories import query_value
from tests.sync.support import sequence, tombstones, with_target


def numbered(database_url: str, table: str, where: str, params: tuple[Any, ...]) -> Any:
    """The row's sync_sequence_id (None: changed since the last numbering); fails if no row."""
    return query_value(
        database_url,
        f"SELECT sync_sequence_id FROM {table} WHERE {where}",
        params,
    )


def user_mark(database_url: str, project: Project, user_id: str) -> Any:
    return numbered(
        database_url, "users", "tenancy_id = %s AND id = %s", (project.tenancy_id, user_id)
    )


def test_sign_up_and_user_updates_are_captured(sync_db: str, sync_http: httpx.Client) -> None:
    project = with_target(sync_db)
    tokens = sign_up(sync_http, project)
    user_id = tokens["user_id"]
    t = project.tenancy_id
    assert user_mark(sync_db, project, user_id) is None
    assert (
        numbered(sync_db, "contact_channels", "tenancy_id = %s AND user_id = %s", (t, user_id))
        is None
    )
    assert (
        numbered(sync_db, "refresh_tokens", "tenancy_id = %s AND user_id = %s", (t, user_id))
        is None
    )
    sequence(sync_http)
    assert user_mark(sync_db, project, user_id) is not None
    r = sync_http.patch(
        f"/api/v1/users/{user_id}", headers=project.headers("server"), json={"display_name": "New"}
    )
    assert r.status_code == 200, r.text
    assert user_mark(sync_db, project, user_id) is None


def test_team_membership_and_permission_writes_are_captured(
    sync_db: str, sync_http: httpx.Client
) -> None:
    project = with_target(sync_db)
    t = project.tenancy_id
    creator, member = new_user(sync_http, project), new_user(sync_http, project)
    team = create_team(sync_http, project, creator)
    membership = "tenancy_id = %s AND team_id = %s AND user_id = %s"
    assert numbered(sync_db, "teams", "tenancy_id = %s AND id = %s", (t, team["id"])) is None
    sequence(sync_http)

    add_member(sync_http, project, team["id"], member)
    assert numbered(sync_db, "team_members", membership, (t, team["id"], member.id)) is None
    sequence(sync_http)
    grant(sync_http, project, team["id"], member, "team_admin")
    permission = membership + " AND permission_id = 'team_admin'"
    assert (
        numbered(sync_db, "team_member_permissions", permission, (t, team["id"], member.id)) is None
    )
    sequence(sync_http)

    path = f"/api/v1/team-permissions/{team['id']}/{member.id}/team_admin"
    assert sync_http.delete(path, headers=project.headers("server")).status_code == 200
    key = {"team_id": team["id"], "user_id": member.id, "permission_id": "team_admin"}
    assert (key, None) in tombstones(sync_db, t, "team_permissions")

    path = f"/api/v1/team-memberships/{team['id']}/{member.id}"
    assert sync_http.delete(path, headers=project.headers("server")).status_code == 200
    key = {"team_id": team["id"], "user_id": member.id}
    assert (key, None) in tombstones(sync_db, t, "team_member_profiles")

    r = sync_http.delete(f"/api/v1/teams/{team['id']}", headers=project.headers("server"))
    assert r.status_code == 200, r.text
    assert ({"id": team["id"]}, None) in tombstones(sync_db, t, "teams")
    creator_key = {"team_id": team["id"], "user_id": creator.id}
    assert (creator_key, None) in tombstones(sync_db, t, "team_member_profiles")


def test_project_permission_grant_and_revoke_are_captured(
    sync_db: str, sync_http: httpx.Client
) -> None:
    project = with_target(sync_db)
    user = new_user(sync_http, project)
    r = sync_http.post(
        "/api/v1/project-permission-definitions",
        headers=project.headers("admin"),
        json={"id": "reports:read"},
    )
    assert r.status_code == 201, r.text
    sequence(sync_http)
    path = f"/api/v1/project-permissions/{user.id}/reports:read"
    assert sync_http.post(path, headers=project.headers("server"), json={}).status_code == 201
    where = "tenancy_id = %s AND user_id = %s AND permission_id = 'reports:read'"
    assert (
        numbered(sync_db, "project_user_permissions", where, (project.tenancy_id, user.id)) is None
    )
    assert sync_http.delete(path, headers=project.headers("server")).status_code == 200
    key = {"user_id": user.id, "permission_id": "reports:read"}
    assert (key, None) in tombstones(sync_db, project.tenancy_id, "project_permissions")


def test_contact_channel_and_session_writes_are_captured(
    sync_db: str, sync_http: httpx.Client
) -> None:
    project = with_target(sync_db)
    t = project.tenancy_id
    user = new_user(sync_http, project)
    sequence(sync_http)
    r = sync_http.post(
        "/api/v1/contact-channels",
        headers=project.headers("server"),
        json={"user_id": user.id, "type": "email", "value": "second@example.com",
              "is_verified": False, "used_for_auth": False},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    channel = r.json()["id"]
    assert (
        numbered(sync_db, "contact_channels", "tenancy_id = %s AND id = %s", (t, channel)) is None
    )
    r = sync_http.delete(
        f"/api/v1/contact-channels/{user.id}/{channel}", headers=project.headers("server")
    )
    assert r.status_code == 200, r.text
    assert ({"id": channel}, None) in tombstones(sync_db, t, "contact_channels")

    session = create_session(sync_http, project, user.id)
    sequence(sync_http)
    session_id = query_value(
        sync_db,
        "SELECT id::text FROM refresh_tokens WHERE tenancy_id = %s AND user_id = %s"
        " ORDER BY created_at DESC LIMIT 1",
        (t, user.id),
    )
    assert session["refresh_token"]
    r = sync_http.delete(
        f"/api/v1/auth/sessions/{session_id}",
        headers=project.headers("server"),
        params={"user_id": user.id},
    )
    assert r.status_code == 200, r.text
    assert ({"id": session_id}, None) in tombstones(sync_db, t, "refresh_tokens")
