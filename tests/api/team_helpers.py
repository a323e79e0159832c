"""Helpers for the team, permission, invitation, contact-channel and API-key tests.

Users are made with the server API and signed in with ``POST /auth/sessions``, so no bcrypt runs:
these tests stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from tests.api.helpers import assert_known_error, create_session, create_user, unique_email
from tests.conftest import Project

# The keys of a team object as a client and as a server read it (contract §5.4).
CLIENT_TEAM_KEYS = {
    "id",
    "display_name",
    "profile_image_url",
    "client_metadata",
    "client_read_only_metadata",
}
SERVER_TEAM_KEYS = CLIENT_TEAM_KEYS | {"server_metadata", "created_at_millis"}
# The six system team permissions of the contract, spelled out here rather than imported from
# the code under test; team_admin contains them all.
SYSTEM_TEAM_PERMISSIONS = [
    "$delete_team",
    "$invite_members",
    "$manage_api_keys",
    "$read_members",
    "$remove_members",
    "$update_team",
]


@dataclass
class User:
    id: str
    email: str | None
    access_token: str
    refresh_token: str

    def client(self, project: Project, **extra: str) -> dict[str, str]:
        """Client headers carrying this user's access token."""
        return project.headers("client", **{"x-stack-access-token": self.access_token, **extra})

    def server(self, project: Project) -> dict[str, str]:
        return project.headers("server", **{"x-stack-access-token": self.access_token})


def email_user(
    http: httpx.Client, project: Project, email: str, *, verified: bool = True, **body: Any
) -> dict[str, Any]:
    """A user (server API) whose ``email`` signs in, verified unless ``verified=False``."""
    return create_user(
        http,
        project,
        primary_email=email,
        primary_email_verified=verified,
        primary_email_auth_enabled=True,
        **body,
    )


def new_user(http: httpx.Client, project: Project, *, verified: bool = True, **body: Any) -> User:
    """A user with a verified sign-in email (unless ``verified=False``), signed in."""
    email = body.pop("primary_email", unique_email())
    user = email_user(http, project, email, verified=verified, **body)
    session = create_session(http, project, user["id"])
    return User(user["id"], email, session["access_token"], session["refresh_token"])


def create_team(
    http: httpx.Client, project: Project, creator: User | None = None, **body: Any
) -> dict[str, Any]:
    """A team made with the server key (the creator gets the teamCreator permissions)."""
    payload: dict[str, Any] = {"display_name": body.pop("display_name", "Team"), **body}
    if creator is not None:
        payload["creator_user_id"] = creator.id
    r = http.post("/api/v1/teams", headers=project.headers("server"), json=payload)
    assert r.status_code == 201, r.text
    team: dict[str, Any] = r.json()
    return team


def team_with_member(
    http: httpx.Client, project: Project, **body: Any
) -> tuple[User, User, dict[str, Any]]:
    """(admin, member, team): a team made for a new user, who gets the teamCreator permissions,
    joined by a second new user with the default member permissions."""
    admin, member = new_user(http, project), new_user(http, project)
    team = create_team(http, project, admin, **body)
    add_member(http, project, team["id"], member)
    return admin, member, team


def add_member(http: httpx.Client, project: Project, team_id: str, user: User) -> None:
    r = http.post(
        f"/api/v1/team-memberships/{team_id}/{user.id}",
        headers=project.headers("server"),
        json={},
    )
    assert r.status_code == 201, r.text


def grant(http: httpx.Client, project: Project, team_id: str, user: User, permission: str) -> None:
    r = http.post(
        f"/api/v1/team-permissions/{team_id}/{user.id}/{permission}",
        headers=project.headers("server"),
        json={},
    )
    assert r.status_code == 201, r.text


def assert_team_permission_error(
    r: httpx.Response, code: str, team: dict[str, Any], user: User, permission_id: str
) -> None:
    """``r`` is the 401 KnownError ``code`` naming the team, the user and the permission."""
    assert_known_error(
        r, code, 401, {"team_id": team["id"], "user_id": user.id, "permission_id": permission_id}
    )


def define(
    http: httpx.Client,
    project: Project,
    scope: str,
    permission_id: str,
    contains: list[str] | None = None,
) -> dict[str, Any]:
    """Create a permission definition with the admin key."""
    r = http.post(
        f"/api/v1/{scope}-permission-definitions",
        headers=project.headers("admin"),
        json={"id": permission_id, "contained_permission_ids": contains or []},
    )
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def team_permission_ids(
    http: httpx.Client, project: Project, team_id: str, user: User, *, recursive: bool = True
) -> set[str]:
    """What ``GET /team-permissions`` says the user holds in the team (as the server sees it)."""
    r = http.get(
        "/api/v1/team-permissions",
        headers=project.headers("server"),
        params={"team_id": team_id, "user_id": user.id, "recursive": str(recursive).lower()},
    )
    assert r.status_code == 200, r.text
    return {item["id"] for item in r.json()["items"]}


def webhook_events(database_url: str, project: Project) -> list[tuple[str, dict[str, Any]]]:
    """(event type, payload) of the project's outbox rows, in insertion order."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT event_type, payload FROM webhook_events WHERE project_id = %s ORDER BY id",
            (project.id,),
        ).fetchall()
    return [(r[0], r[1]) for r in rows]
