"""Team memberships and member profiles (contract §5.4), with the client rules."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.api.helpers import assert_known_error
from tests.api.team_helpers import (
    add_member,
    create_team,
    grant,
    new_user,
    team_permission_ids,
    team_with_member,
    webhook_events,
)
from tests.conftest import Project

# --- memberships --------------------------------------------------------------------------------


def test_server_adds_members_with_the_team_member_defaults(
    http: httpx.Client, project: Project
) -> None:
    user = new_user(http, project)
    team = create_team(http, project)
    path = f"/api/v1/team-memberships/{team['id']}/{user.id}"
    r = http.post(path, headers=project.headers("server"), json={})
    assert r.status_code == 201, r.text
    assert r.json() == {"team_id": team["id"], "user_id": user.id}
    assert team_permission_ids(http, project, team["id"], user) == {
        "team_member",
        "$read_members",
        "$invite_members",
    }
    again = http.post(path, headers=project.headers("server"), json={})
    assert_known_error(again, "TEAM_MEMBERSHIP_ALREADY_EXISTS", 409)
    as_client = http.post(path, headers=user.client(project), json={})
    assert_known_error(as_client, "INSUFFICIENT_ACCESS_TYPE", 401)
    missing = "00000000-0000-4000-8000-000000000000"
    no_user = http.post(
        f"/api/v1/team-memberships/{team['id']}/{missing}", headers=project.headers("server")
    )
    assert_known_error(no_user, "USER_NOT_FOUND", 404)
    no_team = http.post(
        f"/api/v1/team-memberships/{missing}/{user.id}", headers=project.headers("server")
    )
    assert_known_error(no_team, "TEAM_NOT_FOUND", 404, {"team_id": missing})


def test_client_may_leave_but_removing_others_needs_remove_members(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    admin, a, b = new_user(http, project), new_user(http, project), new_user(http, project)
    team = create_team(http, project, admin)
    add_member(http, project, team["id"], a)
    add_member(http, project, team["id"], b)
    base = f"/api/v1/team-memberships/{team['id']}"
    denied = http.delete(f"{base}/{b.id}", headers=a.client(project))
    assert_known_error(denied, "TEAM_PERMISSION_REQUIRED", 401)
    assert http.delete(f"{base}/me", headers=a.client(project)).json() == {"success": True}
    assert http.delete(f"{base}/{b.id}", headers=admin.client(project)).status_code == 200
    gone = http.delete(f"{base}/{b.id}", headers=project.headers("server"))
    assert_known_error(gone, "TEAM_MEMBERSHIP_NOT_FOUND", 404)
    events = [e for e, _ in webhook_events(migrated_database, project)]
    assert events.count("team_membership.deleted") == 2


# --- member profiles ----------------------------------------------------------------------------


def test_member_profiles_fall_back_to_the_user_and_can_be_set_per_team(
    http: httpx.Client, project: Project
) -> None:
    admin = new_user(http, project, display_name="Ada")
    member = new_user(http, project, display_name="Bo")
    team = create_team(http, project, admin)
    add_member(http, project, team["id"], member)
    listed = http.get(
        "/api/v1/team-member-profiles",
        headers=member.client(project),
        params={"team_id": team["id"]},
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == [
        {
            "team_id": team["id"],
            "user_id": admin.id,
            "display_name": "Ada",
            "profile_image_url": None,
        },
        {
            "team_id": team["id"],
            "user_id": member.id,
            "display_name": "Bo",
            "profile_image_url": None,
        },
    ]
    mine = f"/api/v1/team-member-profiles/{team['id']}/me"
    updated = http.patch(mine, headers=member.client(project), json={"display_name": "Bo (ops)"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["display_name"] == "Bo (ops)"
    not_mine = http.patch(
        f"/api/v1/team-member-profiles/{team['id']}/{admin.id}",
        headers=member.client(project),
        json={"display_name": "Hacked"},
    )
    assert not_mine.status_code == 403
    server = http.get(
        f"/api/v1/team-member-profiles/{team['id']}/{member.id}", headers=project.headers("server")
    ).json()
    assert server["display_name"] == "Bo (ops)"
    assert server["user"]["id"] == member.id
    assert server["user"]["display_name"] == "Bo"
    assert "risk_scores" in server["user"]


def test_reading_other_profiles_needs_read_members(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"rbac.defaultPermissions.teamMember": {}})
    admin, member, team = team_with_member(http, project)
    profiles = "/api/v1/team-member-profiles"
    everyone = http.get(profiles, headers=member.client(project), params={"team_id": team["id"]})
    assert_known_error(everyone, "TEAM_PERMISSION_REQUIRED", 401)
    own = http.get(
        profiles, headers=member.client(project), params={"team_id": team["id"], "user_id": "me"}
    )
    assert [p["user_id"] for p in own.json()["items"]] == [member.id]
    other = http.get(f"{profiles}/{team['id']}/{admin.id}", headers=member.client(project))
    assert_known_error(other, "TEAM_PERMISSION_REQUIRED", 401)
    grant(http, project, team["id"], member, "$read_members")
    assert (
        len(
            http.get(
                profiles, headers=member.client(project), params={"team_id": team["id"]}
            ).json()["items"]
        )
        == 2
    )
    no_team = http.get(profiles, headers=member.client(project))
    assert no_team.status_code == 400
