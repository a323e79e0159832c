"""Teams, memberships and member profiles (contract §1.3, §5.4), with the client rules."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.api.helpers import as_user, assert_known_error, jwt_parts, refresh, sign_up, unique_email
from tests.api.team_helpers import (
    CLIENT_TEAM_KEYS,
    SERVER_TEAM_KEYS,
    SYSTEM_TEAM_PERMISSIONS,
    assert_team_permission_error,
    create_team,
    new_user,
    team_permission_ids,
    team_with_member,
    webhook_events,
)
from tests.conftest import Project

TEAMS = "/api/v1/teams"
# A real 1 x 1 PNG: the API decodes it, stores it and answers its public URL.
IMAGE = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAAD0lEQVR4AQEEAPv/ALHBwQRaAjRgT7lCAAAAAElFTkSuQmCC"  # noqa: E501


# --- create -------------------------------------------------------------------------------------


def test_server_creates_a_team_whose_creator_gets_the_team_creator_permissions(
    http: httpx.Client, project: Project
) -> None:
    creator = new_user(http, project)
    team = create_team(
        http,
        project,
        creator,
        display_name="Acme",
        client_metadata={"a": 1},
        client_read_only_metadata={"b": 2},
        server_metadata={"c": 3},
    )
    assert set(team) == SERVER_TEAM_KEYS
    assert team["display_name"] == "Acme"
    assert (team["client_metadata"], team["client_read_only_metadata"]) == ({"a": 1}, {"b": 2})
    assert team["server_metadata"] == {"c": 3}
    assert team["profile_image_url"] is None
    # teamCreator = team_admin, which contains all six system permissions.
    assert team_permission_ids(http, project, team["id"], creator, recursive=False) == {
        "team_admin"
    }
    assert team_permission_ids(http, project, team["id"], creator) == {
        "team_admin",
        *SYSTEM_TEAM_PERMISSIONS,
    }


def test_server_team_without_creator_has_no_members(http: httpx.Client, project: Project) -> None:
    team = create_team(http, project)
    r = http.get(
        "/api/v1/team-member-profiles",
        headers=project.headers("server"),
        params={"team_id": team["id"]},
    )
    assert r.json() == {"items": [], "is_paginated": False}


def test_client_team_creation_is_refused_unless_the_project_allows_it(
    http: httpx.Client, project: Project
) -> None:
    user = new_user(http, project)
    r = http.post(TEAMS, headers=user.client(project), json={"display_name": "Nope"})
    assert r.status_code == 403, r.text
    assert http.get(TEAMS, headers=project.headers("server")).json()["items"] == []


def test_client_creates_a_team_as_itself(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"teams.allowClientTeamCreation": True})
    user, other = new_user(http, project), new_user(http, project)
    r = http.post(
        TEAMS,
        headers=user.client(project),
        json={"display_name": "Mine", "creator_user_id": "me"},
    )
    assert r.status_code == 201, r.text
    assert set(r.json()) == CLIENT_TEAM_KEYS
    assert "$delete_team" in team_permission_ids(http, project, r.json()["id"], user)
    # Without creator_user_id the client is still the creator.
    implicit = http.post(TEAMS, headers=user.client(project), json={"display_name": "Mine too"})
    assert implicit.status_code == 201, implicit.text
    assert "team_admin" in team_permission_ids(http, project, implicit.json()["id"], user)
    # Creating a team for someone else, or with server-only fields, is refused.
    for_other = http.post(
        TEAMS,
        headers=user.client(project),
        json={"display_name": "Theirs", "creator_user_id": other.id},
    )
    assert for_other.status_code == 403
    server_field = http.post(
        TEAMS, headers=user.client(project), json={"display_name": "X", "server_metadata": {}}
    )
    assert_known_error(server_field, "SCHEMA_ERROR", 400)
    bad_image = http.post(
        TEAMS,
        headers=user.client(project),
        json={"display_name": "X", "profile_image_url": "https://example.com/a.png"},
    )
    assert bad_image.status_code == 400
    listed = http.get(TEAMS, headers=project.headers("server")).json()["items"]
    assert [t["display_name"] for t in listed] == ["Mine", "Mine too"]


def test_client_without_a_user_cannot_create_a_team(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"teams.allowClientTeamCreation": True})
    r = http.post(TEAMS, headers=project.headers(), json={"display_name": "Nobody's"})
    assert_known_error(r, "USER_AUTHENTICATION_REQUIRED", 401)


def test_creator_must_exist(http: httpx.Client, project: Project) -> None:
    r = http.post(
        TEAMS,
        headers=project.headers("server"),
        json={"display_name": "X", "creator_user_id": "00000000-0000-4000-8000-000000000000"},
    )
    assert_known_error(r, "USER_NOT_FOUND", 404)
    assert http.get(TEAMS, headers=project.headers("server")).json()["items"] == []


# --- read and list --------------------------------------------------------------------------------


def test_client_lists_only_its_own_teams_and_must_say_me(
    http: httpx.Client, project: Project
) -> None:
    alice, bob = new_user(http, project), new_user(http, project)
    mine = create_team(http, project, alice, display_name="Alice's")
    create_team(http, project, bob, display_name="Bob's")
    r = http.get(TEAMS, headers=alice.client(project), params={"user_id": "me"})
    assert r.status_code == 200, r.text
    assert r.json()["is_paginated"] is False
    assert [t["id"] for t in r.json()["items"]] == [mine["id"]]
    assert set(r.json()["items"][0]) == CLIENT_TEAM_KEYS
    assert http.get(TEAMS, headers=alice.client(project)).status_code == 403
    others = http.get(TEAMS, headers=alice.client(project), params={"user_id": bob.id})
    assert others.status_code == 403


def test_server_lists_all_teams_or_one_users_with_paging(
    http: httpx.Client, project: Project
) -> None:
    user = new_user(http, project)
    ids = [create_team(http, project, user if i % 2 else None)["id"] for i in range(5)]
    everything = http.get(TEAMS, headers=project.headers("server")).json()["items"]
    assert [t["id"] for t in everything] == ids
    assert set(everything[0]) == SERVER_TEAM_KEYS
    users_teams = http.get(TEAMS, headers=project.headers("server"), params={"user_id": user.id})
    assert [t["id"] for t in users_teams.json()["items"]] == ids[1::2]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = http.get(TEAMS, headers=project.headers("server"), params=params).json()
        assert page["is_paginated"] is True
        seen += [t["id"] for t in page["items"]]
        cursor = page["pagination"]["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    newest_first = http.get(TEAMS, headers=project.headers("server"), params={"desc": "true"})
    assert [t["id"] for t in newest_first.json()["items"]] == ids[::-1]


def test_client_reads_a_team_only_as_a_member(http: httpx.Client, project: Project) -> None:
    member, outsider = new_user(http, project), new_user(http, project)
    team = create_team(http, project, member)
    ok = http.get(f"{TEAMS}/{team['id']}", headers=member.client(project))
    assert ok.status_code == 200
    assert set(ok.json()) == CLIENT_TEAM_KEYS
    r = http.get(f"{TEAMS}/{team['id']}", headers=outsider.client(project))
    assert_known_error(
        r, "TEAM_MEMBERSHIP_NOT_FOUND", 404, {"team_id": team["id"], "user_id": outsider.id}
    )


def test_unknown_team_and_malformed_id(http: httpx.Client, project: Project) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    r = http.get(f"{TEAMS}/{missing}", headers=project.headers("server"))
    assert_known_error(r, "TEAM_NOT_FOUND", 404, {"team_id": missing})
    assert_known_error(
        http.get(f"{TEAMS}/not-a-uuid", headers=project.headers("server")), "SCHEMA_ERROR", 400
    )


# --- update and delete ---------------------------------------------------------------------------


def test_client_update_needs_update_team(http: httpx.Client, project: Project) -> None:
    admin, member, team = team_with_member(http, project)
    path = f"{TEAMS}/{team['id']}"
    denied = http.patch(path, headers=member.client(project), json={"display_name": "Mine now"})
    assert_team_permission_error(denied, "TEAM_PERMISSION_REQUIRED", team, member, "$update_team")
    ok = http.patch(
        path,
        headers=admin.client(project),
        json={"display_name": "Renamed", "client_metadata": {"x": 1}, "profile_image_url": IMAGE},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["display_name"] == "Renamed"
    assert ok.json()["profile_image_url"].endswith(".png")
    server_only = http.patch(
        path, headers=admin.client(project), json={"client_read_only_metadata": {"y": 2}}
    )
    assert_known_error(server_only, "SCHEMA_ERROR", 400)
    by_server = http.patch(
        path,
        headers=project.headers("server"),
        json={"client_read_only_metadata": {"y": 2}, "server_metadata": {"z": 3}},
    ).json()
    assert by_server["client_metadata"] == {"x": 1}
    assert (by_server["client_read_only_metadata"], by_server["server_metadata"]) == (
        {"y": 2},
        {"z": 3},
    )
    seen_by_member = http.get(path, headers=member.client(project)).json()
    assert seen_by_member["client_read_only_metadata"] == {"y": 2}
    assert "server_metadata" not in seen_by_member


def test_client_delete_needs_delete_team_and_takes_memberships_with_it(
    http: httpx.Client, project: Project
) -> None:
    admin, member, team = team_with_member(http, project)
    path = f"{TEAMS}/{team['id']}"
    denied = http.delete(path, headers=member.client(project))
    assert_known_error(denied, "TEAM_PERMISSION_REQUIRED", 401)
    assert http.delete(path, headers=admin.client(project)).json() == {"success": True}
    assert_known_error(http.get(path, headers=project.headers("server")), "TEAM_NOT_FOUND", 404)
    assert (
        http.get(TEAMS, headers=member.client(project), params={"user_id": "me"}).json()["items"]
        == []
    )
    assert_known_error(http.delete(path, headers=project.headers("server")), "TEAM_NOT_FOUND", 404)


# --- selected team --------------------------------------------------------------------------------


def test_selected_team_shows_in_the_user_and_the_refreshed_token(
    http: httpx.Client, project: Project
) -> None:
    user = new_user(http, project)
    team = create_team(http, project, user, display_name="Chosen")
    r = http.patch(
        "/api/v1/users/me", headers=user.client(project), json={"selected_team_id": team["id"]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["selected_team_id"] == team["id"]
    assert r.json()["selected_team"]["display_name"] == "Chosen"
    token = refresh(http, project, user.refresh_token).json()["access_token"]
    assert jwt_parts(token)[1]["selected_team_id"] == team["id"]
    server_view = http.get(f"/api/v1/users/{user.id}", headers=project.headers("server")).json()
    assert set(server_view["selected_team"]) == SERVER_TEAM_KEYS
    # Leaving the team clears the selection.
    http.delete(f"/api/v1/team-memberships/{team['id']}/me", headers=user.client(project))
    me = http.get("/api/v1/users/me", headers=user.client(project)).json()
    assert me["selected_team_id"] is None


# --- webhook events -------------------------------------------------------------------------------


def test_team_changes_are_written_to_the_webhook_outbox(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    creator, _joiner, team = team_with_member(http, project, display_name="Evented")
    http.patch(
        f"{TEAMS}/{team['id']}", headers=project.headers("server"), json={"display_name": "E2"}
    )
    http.delete(f"{TEAMS}/{team['id']}", headers=project.headers("server"))
    events = webhook_events(migrated_database, project)
    kinds = [e for e, _ in events if e.startswith("team")]
    assert kinds == [
        "team.created",
        "team_membership.created",
        "team_permission.created",
        "team_membership.created",
        "team_permission.created",
        "team.updated",
        "team.deleted",
    ]
    payloads = dict(reversed(events))  # the first event of each type
    assert payloads["team.created"]["type"] == "team.created"
    assert payloads["team.created"]["data"]["display_name"] == "Evented"
    assert set(payloads["team.created"]["data"]) == SERVER_TEAM_KEYS
    assert payloads["team_membership.created"]["data"] == {
        "team_id": team["id"],
        "user_id": creator.id,
    }
    assert payloads["team_permission.created"]["data"] == {
        "id": "team_admin",
        "user_id": creator.id,
        "team_id": team["id"],
    }
    assert payloads["team.deleted"]["data"] == {"id": team["id"]}


def test_a_failed_change_leaves_no_event_and_no_half_written_rows(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    before = webhook_events(migrated_database, project)
    r = http.post(
        TEAMS,
        headers=project.headers("server"),
        json={"display_name": "Ghost", "creator_user_id": "00000000-0000-4000-8000-000000000000"},
    )
    assert r.status_code == 404
    assert webhook_events(migrated_database, project) == before
    assert http.get(TEAMS, headers=project.headers("server")).json()["items"] == []


def test_the_internal_project_gives_each_new_user_a_selected_personal_team(
    http: httpx.Client, internal: Project
) -> None:
    tokens = sign_up(http, internal, email := unique_email("internal"))
    me = http.get("/api/v1/users/me", headers=as_user(internal, tokens["access_token"])).json()
    assert me["selected_team"]["display_name"] == f"{email}'s Team"
    assert jwt_parts(tokens["access_token"])[1]["selected_team_id"] == me["selected_team_id"]
    perms = http.get(
        "/api/v1/team-permissions",
        headers=as_user(internal, tokens["access_token"]),
        params={"team_id": me["selected_team_id"], "user_id": "me", "recursive": "true"},
    ).json()["items"]
    assert {"team_admin", "$delete_team"} <= {p["id"] for p in perms}
