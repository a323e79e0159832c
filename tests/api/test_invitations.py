"""Team invitations (contract §1.3): send-code, list, revoke, accept by code or by id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.api.helpers import assert_known_error, unique_email
from tests.api.team_helpers import (
    User,
    add_member,
    assert_team_permission_error,
    create_team,
    new_user,
    team_permission_ids,
    team_with_member,
)
from tests.conftest import Project
from tests.mail import MailSink, WorkerProcess, code_in

INVITATIONS = "/api/v1/team-invitations"
CALLBACK = "http://localhost:3000/handler/team-invitation"
ITEM_KEYS = {"id", "team_id", "team_display_name", "expires_at_millis", "recipient_email"}


def _send(
    http: httpx.Client, headers: dict[str, str], team_id: str, email: str, callback: str = CALLBACK
) -> httpx.Response:
    return http.post(
        f"{INVITATIONS}/send-code",
        headers=headers,
        json={"team_id": team_id, "email": email, "callback_url": callback},
    )


def _invitation_id(http: httpx.Client, headers: dict[str, str], team_id: str, email: str) -> str:
    """Invite ``email`` to the team; returns the invitation's id."""
    r = _send(http, headers, team_id, email)
    assert r.status_code == 200, r.text
    invitation_id: str = r.json()["id"]
    return invitation_id


def _listed(http: httpx.Client, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    """The invitations ``GET /team-invitations`` lists for ``params`` (team_id or user_id)."""
    r = http.get(INVITATIONS, headers=headers, params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _accept_by_id(
    http: httpx.Client, headers: dict[str, str], invitation_id: str, user_id: str = "me"
) -> httpx.Response:
    return http.post(
        f"{INVITATIONS}/{invitation_id}/accept", headers=headers, params={"user_id": user_id}
    )


def _emailed_code(
    http: httpx.Client, sink: MailSink, headers: dict[str, str], team_id: str
) -> tuple[str, dict[str, Any]]:
    """Invite a fresh address and return the code of the link in the e-mail it receives."""
    email = unique_email("invited")
    r = _send(http, headers, team_id, email)
    assert r.status_code == 200, r.text
    [message] = sink.wait_for(email)
    return code_in(message), message


def test_invite_list_and_accept_by_id(http: httpx.Client, project: Project) -> None:
    admin, invitee = new_user(http, project), new_user(http, project)
    team = create_team(http, project, admin, display_name="Crew")
    assert invitee.email is not None
    r = _send(http, admin.client(project), team["id"], invitee.email.upper())
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True
    invitation_id = r.json()["id"]
    [item] = _listed(http, admin.client(project), team_id=team["id"])
    assert set(item) == ITEM_KEYS
    assert (item["id"], item["team_id"], item["team_display_name"]) == (
        invitation_id,
        team["id"],
        "Crew",
    )
    assert item["recipient_email"] == invitee.email.upper()
    mine = _listed(http, invitee.client(project), user_id="me")
    assert [i["id"] for i in mine] == [invitation_id]
    accepted = _accept_by_id(http, invitee.client(project), invitation_id)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {}
    assert team_permission_ids(http, project, team["id"], invitee, recursive=False) == {
        "team_member"
    }
    again = _accept_by_id(http, invitee.client(project), invitation_id)
    assert_known_error(again, "VERIFICATION_CODE_NOT_FOUND", 404)
    assert _listed(http, admin.client(project), team_id=team["id"]) == []


def test_accept_by_id_needs_the_invited_address_verified(
    http: httpx.Client, project: Project
) -> None:
    admin = new_user(http, project)
    unverified, stranger = new_user(http, project, verified=False), new_user(http, project)
    team = create_team(http, project, admin)
    assert unverified.email is not None
    invitation_id = _invitation_id(http, admin.client(project), team["id"], unverified.email)
    for user in (unverified, stranger):
        r = _accept_by_id(http, user.client(project), invitation_id)
        assert_known_error(r, "VERIFICATION_CODE_NOT_FOUND", 404)
    assert _listed(http, unverified.client(project), user_id="me") == []
    on_behalf = _accept_by_id(http, stranger.client(project), invitation_id, unverified.id)
    assert_known_error(on_behalf, "CANNOT_GET_OWN_USER_WITHOUT_USER", 400)


def test_restricted_users_cannot_accept(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"onboarding.requireEmailVerification": True})
    admin = new_user(http, project)
    team = create_team(http, project, admin)
    restricted = new_user(http, project, restricted_by_admin=True)
    assert restricted.email is not None
    invitation_id = _invitation_id(http, project.headers("server"), team["id"], restricted.email)
    r = _accept_by_id(
        http, restricted.client(project, **{"x-stack-allow-restricted-user": "true"}), invitation_id
    )
    assert_known_error(
        r,
        "TEAM_INVITATION_RESTRICTED_USER_NOT_ALLOWED",
        403,
        {"restricted_reason": {"type": "restricted_by_administrator"}},
    )


def test_sending_needs_invite_members_a_trusted_callback_and_a_team(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"rbac.defaultPermissions.teamMember": {}})
    admin, member, team = team_with_member(http, project)
    denied = _send(http, member.client(project), team["id"], unique_email())
    assert_team_permission_error(
        denied, "TEAM_PERMISSION_REQUIRED", team, member, "$invite_members"
    )
    untrusted = _send(
        http, admin.client(project), team["id"], unique_email(), "https://evil.test/x"
    )
    assert_known_error(untrusted, "REDIRECT_URL_NOT_WHITELISTED", 400)
    missing = "00000000-0000-4000-8000-000000000000"
    no_team = _send(http, project.headers("server"), missing, unique_email())
    assert_known_error(no_team, "TEAM_NOT_FOUND", 404, {"team_id": missing})
    bad_email = _send(http, project.headers("server"), team["id"], "nope")
    assert_known_error(bad_email, "SCHEMA_ERROR", 400)
    listing = http.get(INVITATIONS, headers=member.client(project), params={"team_id": team["id"]})
    assert_known_error(listing, "TEAM_PERMISSION_REQUIRED", 401)
    both = http.get(
        INVITATIONS,
        headers=project.headers("server"),
        params={"team_id": team["id"], "user_id": member.id},
    )
    assert both.status_code == 400
    assert http.get(INVITATIONS, headers=project.headers("server")).status_code == 400


def test_revoking_needs_remove_members_and_the_right_team(
    http: httpx.Client, project: Project
) -> None:
    admin, member = new_user(http, project), new_user(http, project)
    team, other_team = create_team(http, project, admin), create_team(http, project, admin)
    add_member(http, project, team["id"], member)
    invitation_id = _invitation_id(http, admin.client(project), team["id"], unique_email())
    one = f"{INVITATIONS}/{invitation_id}"
    denied = http.delete(one, headers=member.client(project), params={"team_id": team["id"]})
    assert_known_error(denied, "TEAM_PERMISSION_REQUIRED", 401)
    wrong_team = http.delete(
        one, headers=admin.client(project), params={"team_id": other_team["id"]}
    )
    assert_known_error(wrong_team, "VERIFICATION_CODE_NOT_FOUND", 404)
    assert http.delete(one, headers=project.headers("server")).status_code == 400
    ok = http.delete(one, headers=admin.client(project), params={"team_id": team["id"]})
    assert ok.json() == {"success": True}
    assert _listed(http, project.headers("server"), team_id=team["id"]) == []


def test_the_invitation_email_carries_a_link_to_the_callback(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    admin = new_user(http, project, display_name="Ada")
    team = create_team(http, project, admin, display_name="Analytical Engines")
    code, message = _emailed_code(http, mail_sink, admin.client(project), team["id"])
    assert "Analytical Engines" in message["subject"]
    assert f"{CALLBACK}?code={code}" in message["text"]
    assert "Ada" in message["text"]


def test_a_refused_invitation_queues_no_email(
    http: httpx.Client, make_project: Callable[..., Project], migrated_database: str
) -> None:
    project = make_project({"rbac.defaultPermissions.teamMember": {}})
    _admin, member, team = team_with_member(http, project)
    r = _send(http, member.client(project), team["id"], unique_email())
    assert r.status_code == 401
    with psycopg.connect(migrated_database) as conn:
        queued = conn.execute(
            "SELECT count(*) FROM email_outbox WHERE tenancy_id = %s", (project.tenancy_id,)
        ).fetchone()
    assert queued == (0,)


def test_accept_with_the_emailed_code(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    admin, joiner = new_user(http, project), new_user(http, project)
    team = create_team(http, project, admin, display_name="Coded")
    code, _ = _emailed_code(http, mail_sink, project.headers("server"), team["id"])
    check = http.post(
        f"{INVITATIONS}/accept/check-code", headers=project.headers(), json={"code": code}
    )
    assert check.json() == {"is_code_valid": True}
    details = http.post(
        f"{INVITATIONS}/accept/details", headers=joiner.client(project), json={"code": code.upper()}
    )
    assert details.json() == {"team_id": team["id"], "team_display_name": "Coded"}
    nobody = http.post(f"{INVITATIONS}/accept", headers=project.headers(), json={"code": code})
    assert_known_error(nobody, "USER_AUTHENTICATION_REQUIRED", 401)
    accepted = http.post(
        f"{INVITATIONS}/accept", headers=joiner.client(project), json={"code": code}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {}
    assert "team_member" in team_permission_ids(http, project, team["id"], joiner)
    reused = http.post(f"{INVITATIONS}/accept", headers=joiner.client(project), json={"code": code})
    assert_known_error(reused, "VERIFICATION_CODE_ALREADY_USED", 409)
    wrong = "0" * 45
    assert_known_error(
        http.post(f"{INVITATIONS}/accept", headers=joiner.client(project), json={"code": wrong}),
        "VERIFICATION_CODE_NOT_FOUND",
        404,
    )
    assert_known_error(
        http.post(f"{INVITATIONS}/accept", headers=joiner.client(project), json={"code": "short"}),
        "SCHEMA_ERROR",
        400,
    )


def test_accepting_as_an_existing_member_is_fine_and_a_deleted_team_drops_invitations(
    http: httpx.Client, project: Project, mail_worker: WorkerProcess, mail_sink: MailSink
) -> None:
    admin = new_user(http, project)
    team = create_team(http, project, admin)
    code, _ = _emailed_code(http, mail_sink, project.headers("server"), team["id"])
    r = http.post(f"{INVITATIONS}/accept", headers=admin.client(project), json={"code": code})
    assert r.status_code == 200, r.text
    assert "team_admin" in team_permission_ids(http, project, team["id"], admin)
    gone_team = create_team(http, project, admin)
    invited: User = new_user(http, project)
    assert invited.email is not None
    invitation_id = _invitation_id(http, project.headers("server"), gone_team["id"], invited.email)
    late_code, _ = _emailed_code(http, mail_sink, project.headers("server"), gone_team["id"])
    http.delete(f"/api/v1/teams/{gone_team['id']}", headers=project.headers("server"))
    assert _listed(http, invited.client(project), user_id="me") == []
    by_id = _accept_by_id(http, invited.client(project), invitation_id)
    assert_known_error(by_id, "VERIFICATION_CODE_NOT_FOUND", 404)
    by_code = http.post(
        f"{INVITATIONS}/accept", headers=invited.client(project), json={"code": late_code}
    )
    assert_known_error(by_code, "VERIFICATION_CODE_NOT_FOUND", 404)
