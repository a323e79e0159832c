"""POST /internal/projects/transfer: an internal team's admin gives a project to another team."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_known_error
from tests.api.team_helpers import User, add_member, create_team, new_user
from tests.conftest import Project

TRANSFER = "/api/v1/internal/projects/transfer"


def owned_project(http: httpx.Client, internal: Project, owner: User, team_id: str) -> str:
    r = http.post(
        "/api/v1/internal/projects",
        headers=owner.client(internal),
        json={"display_name": "Moving app", "owner_team_id": team_id},
    )
    assert r.status_code == 201, r.text
    project_id: str = r.json()["id"]
    return project_id


def transfer(
    http: httpx.Client, internal: Project, user: User, project_id: str, team_id: str
) -> httpx.Response:
    return http.post(
        TRANSFER,
        headers=user.client(internal),
        json={"project_id": project_id, "new_team_id": team_id},
    )


def owned_ids(http: httpx.Client, internal: Project, user: User) -> list[str]:
    r = http.get("/api/v1/internal/projects", headers=user.client(internal))
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()["items"]]


@pytest.fixture
def setup(http: httpx.Client, internal: Project) -> dict[str, Any]:
    """Ada administers team `old` (its creator) which owns the project; she is a plain member of
    team `new`, whose creator is Bob; Eve belongs to neither."""
    ada, bob, eve = (new_user(http, internal) for _ in range(3))
    old = create_team(http, internal, ada, display_name="Old owners")["id"]
    new = create_team(http, internal, bob, display_name="New owners")["id"]
    add_member(http, internal, new, ada)
    project_id = owned_project(http, internal, ada, old)
    return {"ada": ada, "bob": bob, "eve": eve, "old": old, "new": new, "project": project_id}


def test_the_old_teams_admin_transfers_to_a_team_she_belongs_to(
    http: httpx.Client, internal: Project, setup: dict[str, Any]
) -> None:
    r = transfer(http, internal, setup["ada"], setup["project"], setup["new"])
    assert r.status_code == 200, r.text
    assert r.json() == {"success": "true"}
    # Bob (the new team) now owns it; Ada still sees it as a member of the new team.
    assert setup["project"] in owned_ids(http, internal, setup["bob"])
    assert setup["project"] in owned_ids(http, internal, setup["ada"])
    # Bob administers the project with his own token now.
    headers = {
        "x-stack-access-type": "admin",
        "x-stack-project-id": setup["project"],
        "x-stack-admin-access-token": setup["bob"].access_token,
    }
    current = http.get("/api/v1/internal/projects/current", headers=headers)
    assert current.status_code == 200, current.text
    assert current.json()["owner_team_id"] == setup["new"]


def test_a_member_without_team_admin_cannot_transfer_and_nothing_changes(
    http: httpx.Client, internal: Project, setup: dict[str, Any]
) -> None:
    assert transfer(http, internal, setup["ada"], setup["project"], setup["new"]).status_code == 200
    # Ada is a plain member of the new owner team: she may not move it on (or back).
    r = transfer(http, internal, setup["ada"], setup["project"], setup["old"])
    body = assert_known_error(r, "TEAM_PERMISSION_REQUIRED", 401)
    assert body["details"]["permission_id"] == "team_admin"
    assert setup["project"] in owned_ids(http, internal, setup["bob"])  # still the new team's


def test_an_outsider_cannot_take_a_project(
    http: httpx.Client, internal: Project, setup: dict[str, Any]
) -> None:
    eve = setup["eve"]
    eves_team = create_team(http, internal, eve)["id"]
    r = transfer(http, internal, eve, setup["project"], eves_team)
    assert_known_error(r, "TEAM_MEMBERSHIP_NOT_FOUND", 404)
    assert setup["project"] not in owned_ids(http, internal, eve)
    assert setup["project"] in owned_ids(http, internal, setup["ada"])


def test_the_admin_cannot_give_it_to_a_team_she_is_not_in(
    http: httpx.Client, internal: Project, setup: dict[str, Any]
) -> None:
    strangers = create_team(http, internal, setup["eve"])["id"]
    r = transfer(http, internal, setup["ada"], setup["project"], strangers)
    body = assert_known_error(r, "TEAM_MEMBERSHIP_NOT_FOUND", 404)
    assert body["details"] == {"team_id": strangers, "user_id": setup["ada"].id}
    assert setup["project"] not in owned_ids(http, internal, setup["eve"])


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        ({"project_id": str(uuid.uuid4()), "new_team_id": "{new}"}, "PROJECT_NOT_FOUND", 404),
        ({"project_id": "{project}", "new_team_id": "not-a-uuid"}, "SCHEMA_ERROR", 400),
        ({"project_id": "{project}"}, "SCHEMA_ERROR", 400),
    ],
)
def test_bad_requests_get_the_contract_errors(
    http: httpx.Client,
    internal: Project,
    setup: dict[str, Any],
    body: dict[str, str],
    code: str,
    status: int,
) -> None:
    filled = {k: v.format(**setup) for k, v in body.items()}
    r = http.post(TRANSFER, headers=setup["ada"].client(internal), json=filled)
    assert_known_error(r, code, status)


def test_only_signed_in_internal_users_may_transfer(
    http: httpx.Client, internal: Project, project: Project, setup: dict[str, Any]
) -> None:
    body = {"project_id": setup["project"], "new_team_id": setup["new"]}
    r = http.post(TRANSFER, headers=internal.headers("client"), json=body)
    assert_known_error(r, "SCHEMA_ERROR", 400)  # upstream's schema: auth.user, auth.project.id
    r = http.post(TRANSFER, headers=project.headers("server"), json=body)
    assert_known_error(r, "SCHEMA_ERROR", 400)
