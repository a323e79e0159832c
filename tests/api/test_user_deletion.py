"""Users deleting themselves, and the personal team a user gets (contract §5.3)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.api.helpers import (
    as_user,
    assert_known_error,
    create_user,
    jwt_parts,
    sign_up,
    unique_email,
)
from tests.api.team_helpers import CLIENT_TEAM_KEYS, SERVER_TEAM_KEYS
from tests.conftest import Project

ME = "/api/v1/users/me"
USERS = "/api/v1/users"

# --- client deletion and personal teams ---------------------------------------------------------


def test_client_cannot_delete_itself_by_default(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    r = http.delete(ME, headers=as_user(project, tokens["access_token"]))
    assert 400 <= r.status_code < 500
    still = http.get(f"{USERS}/{tokens['user_id']}", headers=project.headers("server"))
    assert still.status_code == 200


def test_client_deletes_itself_when_allowed(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"users.allowClientUserDeletion": True})
    tokens = sign_up(http, project)
    r = http.delete(ME, headers=as_user(project, tokens["access_token"]))
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True}
    gone = http.get(f"{USERS}/{tokens['user_id']}", headers=project.headers("server"))
    assert_known_error(gone, "USER_NOT_FOUND", 404)


def test_personal_team_is_created_on_sign_up_when_configured(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"teams.createPersonalTeamOnSignUp": True})
    email = unique_email()
    tokens = sign_up(http, project, email)
    me = http.get(ME, headers=as_user(project, tokens["access_token"])).json()
    assert me["selected_team_id"] is not None
    assert set(me["selected_team"]) == CLIENT_TEAM_KEYS
    assert me["selected_team"]["id"] == me["selected_team_id"]
    assert me["selected_team"]["display_name"] == f"{email}'s Team"
    assert jwt_parts(tokens["access_token"])[1]["selected_team_id"] == me["selected_team_id"]
    server = http.get(f"{USERS}/{tokens['user_id']}", headers=project.headers("server")).json()
    assert set(server["selected_team"]) == SERVER_TEAM_KEYS
    assert isinstance(server["selected_team"]["created_at_millis"], int)


def test_no_personal_team_by_default(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    me = http.get(ME, headers=as_user(project, tokens["access_token"])).json()
    assert me["selected_team_id"] is None
    assert me["selected_team"] is None
    assert jwt_parts(tokens["access_token"])[1]["selected_team_id"] is None


def test_personal_team_of_server_created_user_uses_display_name(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"teams.createPersonalTeamOnSignUp": True})
    user = create_user(http, project, display_name="Bob", primary_email=unique_email())
    fetched = http.get(f"{USERS}/{user['id']}", headers=project.headers("server")).json()
    assert fetched["selected_team"]["display_name"] == "Bob's Team"


def test_selecting_a_team_the_user_is_not_in_is_refused(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"teams.createPersonalTeamOnSignUp": True})
    mine, theirs = sign_up(http, project), sign_up(http, project)
    their_team = http.get(ME, headers=as_user(project, theirs["access_token"])).json()[
        "selected_team_id"
    ]
    r = http.patch(
        ME, headers=as_user(project, mine["access_token"]), json={"selected_team_id": their_team}
    )
    assert_known_error(r, "TEAM_NOT_FOUND", 404)
    cleared = http.patch(
        ME, headers=as_user(project, mine["access_token"]), json={"selected_team_id": None}
    )
    assert cleared.json()["selected_team_id"] is None
