"""Built-in delivery to a real receiver that verifies every request with ``svix.Webhook.verify``:
every event type with its contract data (§7.3), in commit order; filters; forged requests fail."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from svix.webhooks import Webhook, WebhookVerificationError

from tests.api.team_helpers import add_member, create_team, define, grant, new_user
from tests.factories import query_rows, query_value
from tests.webhooks.conftest import Hooked, Hooks
from tests.webhooks.support import (
    add_endpoint,
    attempts,
    send_test,
    wait_received,
    wait_settled,
)


def _events_in_commit_order(hooks: Hooks, project_id: str) -> list[tuple[str, str, Any]]:
    """(message id, type, data) of the project's events as the database ordered them."""
    rows = query_rows(
        hooks.database_url,
        "SELECT event_id, event_type, payload FROM webhook_events WHERE project_id = %s"
        " ORDER BY id",
        (project_id,),
    )
    return [(f"msg_{r[0].hex}", r[1], r[2]["data"]) for r in rows]


def test_every_event_type_arrives_verified_with_its_data_in_commit_order(
    hooks: Hooks, hooks_http: httpx.Client, receiver: Any, hooked: Hooked
) -> None:
    http = hooks_http
    project, endpoint = hooked
    server = project.headers("server")
    define(http, project, "team", "hooks_team_perm")
    define(http, project, "project", "hooks_project_perm")

    user = new_user(http, project, display_name="Ada")
    assert http.patch(f"/api/v1/users/{user.id}", headers=server, json={"display_name": "Ada L"})
    team = create_team(http, project, display_name="Hooks team")
    add_member(http, project, team["id"], user)
    grant(http, project, team["id"], user, "hooks_team_perm")
    base = f"/api/v1/team-permissions/{team['id']}/{user.id}/hooks_team_perm"
    assert http.delete(base, headers=server).status_code == 200
    project_perm = f"/api/v1/project-permissions/{user.id}/hooks_project_perm"
    assert http.post(project_perm, headers=server, json={}).status_code == 201
    assert http.delete(project_perm, headers=server).status_code == 200
    assert http.patch(f"/api/v1/teams/{team['id']}", headers=server, json={"display_name": "T2"})
    membership = f"/api/v1/team-memberships/{team['id']}/{user.id}"
    assert http.delete(membership, headers=server).status_code == 200
    add_member(http, project, team["id"], user)
    assert http.delete(f"/api/v1/users/{user.id}", headers=server).status_code == 200
    assert http.delete(f"/api/v1/teams/{team['id']}", headers=server).status_code == 200

    expected = _events_in_commit_order(hooks, project.id)
    got = wait_received(receiver, len(expected))
    wait_settled(hooks.database_url, project)
    assert all(r.verified for r in got), [r.error for r in got]
    assert [(r.message_id, r.json()["type"], r.json()["data"]) for r in got] == expected
    for r in got:
        assert r.headers["svix-id"] == r.headers["webhook-id"]
        assert r.headers["svix-signature"] == r.headers["webhook-signature"]
        assert r.headers["content-type"] == "application/json"
    types = {t for _, t, _ in expected}
    assert types == {
        "user.created", "user.updated", "user.deleted", "team.created", "team.updated",
        "team.deleted", "team_membership.created", "team_membership.deleted",
        "team_permission.created", "team_permission.deleted", "project_permission.created",
        "project_permission.deleted",
    }  # fmt: skip
    data = {t: d for _, t, d in expected}
    created = data["user.created"]
    assert created["id"] == user.id
    assert created["display_name"] == "Ada"
    assert {"primary_email", "server_metadata", "signed_up_at_millis"} <= set(created)
    assert data["user.updated"]["display_name"] == "Ada L"
    assert data["user.deleted"] == {"id": user.id, "teams": [{"id": team["id"]}]}
    assert data["team.created"]["display_name"] == "Hooks team"
    assert data["team.updated"]["display_name"] == "T2"
    assert data["team.deleted"] == {"id": team["id"]}
    assert data["team_membership.deleted"] == {"team_id": team["id"], "user_id": user.id}
    assert data["team_permission.deleted"] == {
        "id": "hooks_team_perm",
        "user_id": user.id,
        "team_id": team["id"],
    }
    assert data["project_permission.created"] == {"id": "hooks_project_perm", "user_id": user.id}
    listed = attempts(http, project, endpoint["id"])
    assert len(listed) == len(expected)
    assert [a["message_id"] for a in listed] == [m for m, _, _ in reversed(expected)]
    assert {a["status"] for a in listed} == {"succeeded"}
    assert {a["response_status_code"] for a in listed} == {200}


def test_an_endpoint_filtered_to_user_created_receives_nothing_else(
    hooks: Hooks, hooks_http: httpx.Client, receiver: Any
) -> None:
    http = hooks_http
    project = hooks.project()
    add_endpoint(http, project, receiver, "/all")
    add_endpoint(http, project, receiver, "/created", event_types=["user.created"])
    first = new_user(http, project)
    server = project.headers("server")
    assert http.patch(f"/api/v1/users/{first.id}", headers=server, json={"display_name": "x"})
    create_team(http, project)
    second = new_user(http, project)
    wait_received(receiver, 4, "/all")
    wait_settled(hooks.database_url, project)
    got = receiver.received("/created")
    assert [(r.json()["type"], r.json()["data"]["id"]) for r in got] == [
        ("user.created", first.id),
        ("user.created", second.id),
    ]
    assert all(r.verified for r in got)


def test_disabled_endpoint_receives_nothing_and_deleted_one_is_gone(
    hooks: Hooks, hooks_http: httpx.Client, receiver: Any, hooked: Hooked
) -> None:
    project, endpoint = hooked
    admin = project.headers("admin")
    url = f"/api/v1/internal/webhooks/endpoints/{endpoint['id']}"
    r = hooks_http.patch(url, headers=admin, json={"disabled": True})
    assert r.status_code == 200, r.text
    assert r.json()["disabled"] is True
    assert "secret" not in r.json()
    new_user(hooks_http, project)
    live = add_endpoint(hooks_http, project, receiver, "/live")
    new_user(hooks_http, project)
    wait_received(receiver, 1, "/live")
    wait_settled(hooks.database_url, project)
    assert receiver.received("/hook") == []
    assert hooks_http.delete(url, headers=admin).status_code == 200
    assert hooks_http.get(url, headers=admin).status_code == 404
    listed = hooks_http.get("/api/v1/internal/webhooks/endpoints", headers=admin).json()["items"]
    assert [e["id"] for e in listed] == [live["id"]]
    assert all("secret" not in e for e in listed)


def _does_not_verify(
    secret: str, body: bytes, headers: Mapping[str, str], match: str | None = None
) -> None:
    """``Webhook(secret).verify`` refuses the request (with ``match`` in its message)."""
    with pytest.raises(WebhookVerificationError, match=match):
        Webhook(secret).verify(body, headers)


@pytest.fixture
def signed(hooks_http: httpx.Client, receiver: Any, hooked: Hooked) -> tuple[Any, str]:
    """One genuine request the receiver got, and the endpoint's secret."""
    project, endpoint = hooked
    new_user(hooks_http, project)
    [request] = wait_received(receiver, 1)
    assert request.verified
    return request, endpoint["secret"]


def test_a_tampered_body_fails_verification(signed: tuple[Any, str]) -> None:
    request, secret = signed
    tampered = request.body.replace(b'"user.created"', b'"user.deleted"')
    assert tampered != request.body
    _does_not_verify(secret, tampered, request.headers)
    Webhook(secret).verify(request.body, request.headers)  # the genuine one still does


def test_a_stale_timestamp_fails_verification(signed: tuple[Any, str]) -> None:
    """A replay six minutes later (Svix's tolerance is five), even with a valid signature."""
    request, secret = signed
    old = datetime.now(UTC) - timedelta(minutes=6)
    headers = dict(request.headers)
    headers["webhook-timestamp"] = headers["svix-timestamp"] = str(int(old.timestamp()))
    resigned = Webhook(secret).sign(request.message_id, old, request.body.decode())
    headers["webhook-signature"] = headers["svix-signature"] = resigned
    _does_not_verify(secret, request.body, headers, "too old")


def test_another_projects_secret_does_not_verify(
    signed: tuple[Any, str], hooks: Hooks, hooks_http: httpx.Client, receiver: Any
) -> None:
    request, _ = signed
    other = add_endpoint(hooks_http, hooks.project(), receiver, "/other")
    _does_not_verify(other["secret"], request.body, request.headers)


def test_rotated_secret_signs_from_then_on(
    hooks_http: httpx.Client, receiver: Any, hooked: Hooked
) -> None:
    project, endpoint = hooked
    r = hooks_http.post(
        f"/api/v1/internal/webhooks/endpoints/{endpoint['id']}/rotate-secret",
        headers=project.headers("admin"),
    )
    assert r.status_code == 200, r.text
    rotated = r.json()["secret"]
    assert rotated.startswith("whsec_")
    assert rotated != endpoint["secret"]
    receiver.secret("/hook", rotated)
    new_user(hooks_http, project)
    [request] = wait_received(receiver, 1)
    assert request.verified
    _does_not_verify(endpoint["secret"], request.body, request.headers)


def test_send_test_webhook_posts_a_signed_test_event(
    hooks_http: httpx.Client, receiver: Any, hooked: Hooked
) -> None:
    project, endpoint = hooked
    assert send_test(hooks_http, project, endpoint["id"]) == {"success": True}
    [request] = receiver.received("/hook")
    assert request.verified
    assert request.json()["type"] == "stack.test"
    assert request.json()["data"]["endpointUrl"] == endpoint["url"]
    receiver.answer("/hook", 503)
    assert send_test(hooks_http, project, endpoint["id"]) == {
        "success": False,
        "error_message": "HTTP 503: no",
    }
    missing = send_test(hooks_http, project, "00000000-0000-4000-8000-000000000000")
    assert missing["success"] is False
    assert "not found" in missing["error_message"]


def test_events_recorded_before_delivery_existed_are_not_sent(
    hooks: Hooks, hooks_http: httpx.Client, receiver: Any
) -> None:
    """Rows still 'pending' (written before migration 0012) are history, never delivered."""
    project = hooks.project()
    user = new_user(hooks_http, project)
    wait_settled(hooks.database_url, project)
    query_value(
        hooks.database_url,
        "UPDATE webhook_events SET status = 'pending' WHERE project_id = %s RETURNING 1",
        (project.id,),
    )
    add_endpoint(hooks_http, project, receiver)
    server = project.headers("server")
    hooks_http.patch(f"/api/v1/users/{user.id}", headers=server, json={"display_name": "z"})
    [request] = wait_received(receiver, 1)
    time.sleep(0.5)
    assert [r.json()["type"] for r in receiver.received()] == ["user.updated"]
    assert request.verified
