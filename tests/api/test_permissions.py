"""Permissions (contract §1.3): definitions in config, grants, recursive listing, the graph rules
(nested grants resolve, cycles are refused, scopes stay apart) and immediate loss on removal."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.api.helpers import assert_known_error
from tests.api.team_helpers import (
    SYSTEM_TEAM_PERMISSIONS,
    add_member,
    assert_team_permission_error,
    create_team,
    define,
    grant,
    new_user,
    team_permission_ids,
    team_with_member,
    webhook_events,
)
from tests.conftest import Project

TEAM_DEFS = "/api/v1/team-permission-definitions"
PROJECT_DEFS = "/api/v1/project-permission-definitions"


# --- definitions ---------------------------------------------------------------------------------


def test_new_projects_define_team_member_team_admin_and_the_system_permissions(
    http: httpx.Client, project: Project
) -> None:
    r = http.get(TEAM_DEFS, headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    items = {d["id"]: d for d in r.json()["items"]}
    assert [d["id"] for d in r.json()["items"]] == sorted(items)
    assert set(items) == {*SYSTEM_TEAM_PERMISSIONS, "team_admin", "team_member"}
    assert items["team_member"]["contained_permission_ids"] == ["$invite_members", "$read_members"]
    assert items["team_admin"]["contained_permission_ids"] == SYSTEM_TEAM_PERMISSIONS
    assert items["$update_team"]["contained_permission_ids"] == []
    assert isinstance(items["$update_team"]["description"], str)
    assert http.get(PROJECT_DEFS, headers=project.headers("admin")).json()["items"] == []


def test_definitions_are_admin_only(http: httpx.Client, project: Project) -> None:
    r = http.get(TEAM_DEFS, headers=project.headers("server"))
    assert_known_error(r, "INSUFFICIENT_ACCESS_TYPE", 401)
    r = http.post(PROJECT_DEFS, headers=project.headers("server"), json={"id": "x"})
    assert_known_error(r, "INSUFFICIENT_ACCESS_TYPE", 401)


def test_create_update_rename_and_delete_a_definition(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    admin = project.headers("admin")
    created = http.post(
        TEAM_DEFS,
        headers=admin,
        json={"id": "billing:read", "description": "See invoices", "contained_permission_ids": []},
    )
    assert created.status_code == 201, created.text
    assert created.json() == {
        "id": "billing:read",
        "description": "See invoices",
        "contained_permission_ids": [],
    }
    define(http, project, "team", "billing:write", ["billing:read", "$read_members"])
    dup = http.post(TEAM_DEFS, headers=admin, json={"id": "billing:read"})
    assert_known_error(dup, "PERMISSION_ID_ALREADY_EXISTS", 400, {"permission_id": "billing:read"})
    dup_other_scope = http.post(PROJECT_DEFS, headers=admin, json={"id": "billing:read"})
    assert_known_error(dup_other_scope, "PERMISSION_ID_ALREADY_EXISTS", 400)
    for bad in ("$custom", "Upper", "has space", ""):
        assert_known_error(
            http.post(TEAM_DEFS, headers=admin, json={"id": bad}), "SCHEMA_ERROR", 400
        )

    # A member holding billing:write, then the definition is renamed: the grant follows.
    user = new_user(http, project)
    team = create_team(http, project)
    add_member(http, project, team["id"], user)
    grant(http, project, team["id"], user, "billing:write")
    renamed = http.patch(
        f"{TEAM_DEFS}/billing:read",
        headers=admin,
        json={"id": "invoices:read", "description": None},
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == {"id": "invoices:read", "contained_permission_ids": []}
    listed = {d["id"]: d for d in http.get(TEAM_DEFS, headers=admin).json()["items"]}
    assert "billing:read" not in listed
    assert listed["billing:write"]["contained_permission_ids"] == ["$read_members", "invoices:read"]
    assert "invoices:read" in team_permission_ids(http, project, team["id"], user)

    grant(http, project, team["id"], user, "invoices:read")
    deleted = http.delete(f"{TEAM_DEFS}/invoices:read", headers=admin)
    assert deleted.json() == {"success": True}
    listed = {d["id"]: d for d in http.get(TEAM_DEFS, headers=admin).json()["items"]}
    assert listed["billing:write"]["contained_permission_ids"] == ["$read_members"]
    assert "invoices:read" not in team_permission_ids(http, project, team["id"], user)
    with_grants = http.get(
        "/api/v1/team-permissions",
        headers=project.headers("server"),
        params={"user_id": user.id, "team_id": team["id"]},
    )
    assert {i["id"] for i in with_grants.json()["items"]} == {"billing:write", "team_member"}
    missing = http.delete(f"{TEAM_DEFS}/invoices:read", headers=admin)
    assert_known_error(missing, "PERMISSION_NOT_FOUND", 404, {"permission_id": "invoices:read"})
    system = http.patch(f"{TEAM_DEFS}/$update_team", headers=admin, json={"description": "x"})
    assert system.status_code == 400
    # The edits went into the project's stored config (its environment level), not a side table.
    import psycopg  # noqa: PLC0415

    with psycopg.connect(migrated_database) as conn:
        override = conn.execute(
            "SELECT environment_config_override FROM tenancies WHERE id = %s",
            (project.tenancy_id,),
        ).fetchone()
    assert override is not None
    assert "billing:write" in override[0]["rbac.permissions"]


def test_deleting_a_default_permission_removes_it_from_the_default_group(
    http: httpx.Client, project: Project
) -> None:
    admin = project.headers("admin")
    assert http.delete(f"{TEAM_DEFS}/team_member", headers=admin).status_code == 200
    user = new_user(http, project)
    team = create_team(http, project)
    add_member(http, project, team["id"], user)
    assert team_permission_ids(http, project, team["id"], user) == set()


def test_renaming_a_default_permission_keeps_it_the_default(
    http: httpx.Client, project: Project
) -> None:
    r = http.patch(
        f"{TEAM_DEFS}/team_admin", headers=project.headers("admin"), json={"id": "owner"}
    )
    assert r.status_code == 200, r.text
    creator = new_user(http, project)
    team = create_team(http, project, creator)
    assert team_permission_ids(http, project, team["id"], creator, recursive=False) == {"owner"}


# --- the graph ---------------------------------------------------------------------------------


def test_nested_grants_resolve_recursively(http: httpx.Client, project: Project) -> None:
    define(http, project, "team", "read")
    define(http, project, "team", "write", ["read"])
    define(http, project, "team", "admin", ["write", "$remove_members"])
    user = new_user(http, project)
    team = create_team(http, project)
    add_member(http, project, team["id"], user)
    http.delete(
        f"/api/v1/team-permissions/{team['id']}/{user.id}/team_member",
        headers=project.headers("server"),
    )
    grant(http, project, team["id"], user, "admin")
    assert team_permission_ids(http, project, team["id"], user, recursive=False) == {"admin"}
    assert team_permission_ids(http, project, team["id"], user) == {
        "admin",
        "write",
        "read",
        "$remove_members",
    }
    only = http.get(
        "/api/v1/team-permissions",
        headers=user.client(project),
        params={
            "team_id": team["id"],
            "user_id": "me",
            "permission_id": "read",
            "recursive": "true",
        },
    )
    assert only.json() == {
        "items": [{"id": "read", "user_id": user.id, "team_id": team["id"]}],
        "is_paginated": False,
    }
    # The nested permission is enough for a client rule that needs it.
    other = new_user(http, project)
    add_member(http, project, team["id"], other)
    removed = http.delete(
        f"/api/v1/team-memberships/{team['id']}/{other.id}", headers=user.client(project)
    )
    assert removed.status_code == 200, removed.text


def test_a_cycle_is_refused_and_nothing_changes(http: httpx.Client, project: Project) -> None:
    admin = project.headers("admin")
    define(http, project, "team", "a")
    define(http, project, "team", "b", ["a"])
    define(http, project, "team", "c", ["b"])
    before = http.get(TEAM_DEFS, headers=admin).json()
    cycle = http.patch(f"{TEAM_DEFS}/a", headers=admin, json={"contained_permission_ids": ["c"]})
    body = assert_known_error(cycle, "SCHEMA_ERROR", 400)
    assert "a -> c -> b -> a" in body["details"]["message"]
    itself = http.patch(f"{TEAM_DEFS}/a", headers=admin, json={"contained_permission_ids": ["a"]})
    assert_known_error(itself, "SCHEMA_ERROR", 400)
    assert http.get(TEAM_DEFS, headers=admin).json() == before


def test_contained_permissions_must_exist_in_the_same_scope(
    http: httpx.Client, project: Project
) -> None:
    admin = project.headers("admin")
    define(http, project, "project", "export")
    r = http.post(
        TEAM_DEFS, headers=admin, json={"id": "t", "contained_permission_ids": ["export"]}
    )
    assert_known_error(r, "CONTAINED_PERMISSION_NOT_FOUND", 400, {"permission_id": "export"})
    r = http.post(
        PROJECT_DEFS, headers=admin, json={"id": "p", "contained_permission_ids": ["$read_members"]}
    )
    assert_known_error(r, "CONTAINED_PERMISSION_NOT_FOUND", 400, {"permission_id": "$read_members"})
    r = http.post(TEAM_DEFS, headers=admin, json={"id": "t", "contained_permission_ids": ["nope"]})
    assert_known_error(r, "CONTAINED_PERMISSION_NOT_FOUND", 400)


def test_a_team_admin_cannot_grant_a_project_permission(
    http: httpx.Client, project: Project
) -> None:
    define(http, project, "project", "export")
    admin, member, team = team_with_member(http, project)
    # Granting is for servers: a client holding every team permission still cannot.
    as_client = http.post(
        f"/api/v1/project-permissions/{member.id}/export", headers=admin.client(project), json={}
    )
    assert_known_error(as_client, "INSUFFICIENT_ACCESS_TYPE", 401)
    team_grant = http.post(
        f"/api/v1/team-permissions/{team['id']}/{member.id}/$update_team",
        headers=admin.client(project),
        json={},
    )
    assert_known_error(team_grant, "INSUFFICIENT_ACCESS_TYPE", 401)
    # A project permission is not a team permission, even for the server.
    wrong_scope = http.post(
        f"/api/v1/team-permissions/{team['id']}/{member.id}/export",
        headers=project.headers("server"),
        json={},
    )
    assert_known_error(
        wrong_scope,
        "WRONG_PERMISSION_SCOPE",
        404,
        {"permission_id": "export", "expected_scope": "team", "actual_scope": "project"},
    )
    mine = http.get(
        "/api/v1/project-permissions", headers=member.client(project), params={"user_id": "me"}
    )
    assert mine.json()["items"] == []


def test_a_removed_member_loses_access_at_once(http: httpx.Client, project: Project) -> None:
    admin, member, team = team_with_member(http, project)
    grant(http, project, team["id"], member, "$update_team")
    path = f"/api/v1/teams/{team['id']}"
    ok = http.patch(path, headers=member.client(project), json={"display_name": "Before"})
    assert ok.status_code == 200, ok.text
    http.delete(f"/api/v1/team-memberships/{team['id']}/{member.id}", headers=admin.client(project))
    # Same access token as before: nothing is cached in it or on the server.
    after = http.patch(path, headers=member.client(project), json={"display_name": "After"})
    assert_known_error(after, "TEAM_MEMBERSHIP_NOT_FOUND", 404)
    assert team_permission_ids(http, project, team["id"], member) == set()
    add_member(http, project, team["id"], member)
    assert "$update_team" not in team_permission_ids(http, project, team["id"], member)


# --- grants ------------------------------------------------------------------------------------


def test_team_grant_and_revoke(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    user = new_user(http, project)
    team = create_team(http, project)
    add_member(http, project, team["id"], user)
    path = f"/api/v1/team-permissions/{team['id']}/{user.id}/$delete_team"
    r = http.post(path, headers=project.headers("server"), json={})
    assert r.status_code == 201, r.text
    assert r.json() == {"id": "$delete_team", "user_id": user.id, "team_id": team["id"]}
    assert http.post(path, headers=project.headers("server"), json={}).status_code == 201
    assert http.delete(path, headers=project.headers("server")).json() == {"success": True}
    again = http.delete(path, headers=project.headers("server"))
    assert_team_permission_error(again, "TEAM_PERMISSION_NOT_FOUND", team, user, "$delete_team")
    unknown = http.post(
        f"/api/v1/team-permissions/{team['id']}/{user.id}/nope", headers=project.headers("server")
    )
    assert_known_error(unknown, "PERMISSION_NOT_FOUND", 404, {"permission_id": "nope"})
    outsider = new_user(http, project)
    not_member = http.post(
        f"/api/v1/team-permissions/{team['id']}/{outsider.id}/$delete_team",
        headers=project.headers("server"),
    )
    assert_known_error(not_member, "TEAM_MEMBERSHIP_NOT_FOUND", 404)
    kinds = [e for e, _ in webhook_events(migrated_database, project) if "permission" in e]
    assert kinds[-2:] == ["team_permission.created", "team_permission.deleted"]


def test_project_grant_list_and_revoke(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    define(http, project, "project", "read_reports")
    define(http, project, "project", "manage_reports", ["read_reports"])
    user, other = new_user(http, project), new_user(http, project)
    path = f"/api/v1/project-permissions/{user.id}/manage_reports"
    r = http.post(path, headers=project.headers("server"), json={})
    assert r.status_code == 201, r.text
    assert r.json() == {"id": "manage_reports", "user_id": user.id}
    listing = "/api/v1/project-permissions"
    direct = http.get(listing, headers=user.client(project), params={"user_id": "me"})
    assert direct.json()["items"] == [{"id": "manage_reports", "user_id": user.id}]
    nested = http.get(
        listing, headers=user.client(project), params={"user_id": "me", "recursive": "true"}
    )
    assert {i["id"] for i in nested.json()["items"]} == {"manage_reports", "read_reports"}
    others = http.get(listing, headers=user.client(project), params={"user_id": other.id})
    assert others.status_code == 403
    no_user = http.get(listing, headers=user.client(project))
    assert no_user.status_code == 403
    team_scoped = http.post(
        f"/api/v1/project-permissions/{user.id}/$read_members", headers=project.headers("server")
    )
    assert_known_error(team_scoped, "WRONG_PERMISSION_SCOPE", 404)
    assert http.delete(path, headers=project.headers("server")).json() == {"success": True}
    gone = http.delete(path, headers=project.headers("server"))
    assert_known_error(gone, "PERMISSION_NOT_FOUND", 404)
    kinds = [e for e, p in webhook_events(migrated_database, project) if e.startswith("project_")]
    assert kinds == ["project_permission.created", "project_permission.deleted"]


def test_sign_up_default_project_permissions(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project(
        {
            "rbac.permissions.viewer": {"scope": "project", "containedPermissionIds": {}},
            "rbac.defaultPermissions.signUp": {"viewer": True},
        }
    )
    user = new_user(http, project)
    r = http.get(
        "/api/v1/project-permissions", headers=user.client(project), params={"user_id": "me"}
    )
    assert r.json()["items"] == [{"id": "viewer", "user_id": user.id}]


def test_server_lists_team_permissions_across_teams_sorted(
    http: httpx.Client, project: Project
) -> None:
    a, b, team = team_with_member(http, project)
    r = http.get(
        "/api/v1/team-permissions",
        headers=project.headers("server"),
        params={"team_id": team["id"]},
    )
    items = r.json()["items"]
    assert items == sorted(items, key=lambda i: (i["team_id"], i["user_id"], i["id"]))
    assert {(i["user_id"], i["id"]) for i in items} == {(a.id, "team_admin"), (b.id, "team_member")}
    assert_known_error(
        http.get(
            "/api/v1/team-permissions",
            headers=project.headers("server"),
            params={"recursive": "yes"},
        ),
        "SCHEMA_ERROR",
        400,
    )
