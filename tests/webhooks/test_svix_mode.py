"""Svix mode (STACK_SVIX_API_KEY set), against a local server that records what the ``svix``
client sends: no Svix server can run here. The project's application (uid = project id), each
event as a message with its id as the idempotency key, 429s retried, and the admin API answered
from Svix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from authstack_core.models.webhooks import SVIX_LANE
from tests.api.helpers import create_user
from tests.api.team_helpers import create_team
from tests.factories import query_rows
from tests.mail import wait_until
from tests.mail_fixtures import stopped_after
from tests.webhooks.conftest import OwnStack
from tests.webhooks.support import ENDPOINTS, deliveries
from tests.webhooks.svix_standin import SvixStandIn


@pytest.fixture
def standin() -> Iterator[SvixStandIn]:
    yield from stopped_after(SvixStandIn())


@pytest.fixture
def svix_stack(own_stack: OwnStack, session_redis: str, standin: SvixStandIn) -> OwnStack:
    own_stack.start(
        session_redis, STACK_SVIX_API_KEY="testsk_standin", STACK_SVIX_SERVER_URL=standin.url
    )
    return own_stack


def test_events_become_messages_of_the_projects_application_keyed_by_event_id(
    svix_stack: OwnStack, standin: SvixStandIn
) -> None:
    api = svix_stack.started[0]
    project = svix_stack.project()
    standin.fail(f"/api/v1/app/{project.id}/msg", 429)  # Svix's rate limit, once
    with api.client() as http:  # type: ignore[union-attr]
        user = create_user(http, project)
        team = create_team(http, project, display_name="Svix team")
    wait_until(
        lambda: (
            deliveries(svix_stack.database_url, project)
            == [("user.created", "succeeded", 1), ("team.created", "succeeded", 1)]
        ),
        what="both messages to be created in Svix",
    )
    apps = standin.calls_to("POST", "/api/v1/app")
    assert len(apps) == 1  # created once, then known
    assert apps[0].body == {"name": project.id, "uid": project.id}
    assert apps[0].query == {"get_if_exists": ["true"]}
    assert apps[0].headers["authorization"] == "Bearer testsk_standin"
    messages = standin.calls_to("POST", f"/api/v1/app/{project.id}/msg")
    events = query_rows(
        svix_stack.database_url,
        "SELECT event_id::text, event_type FROM webhook_events WHERE project_id = %s ORDER BY id",
        (project.id,),
    )
    # The 429 was retried with the same idempotency key: Svix makes it one message.
    assert [m.headers["idempotency-key"] for m in messages] == [
        events[0][0], events[0][0], events[1][0],
    ]  # fmt: skip
    assert [m.body["eventType"] for m in messages] == ["user.created"] * 2 + ["team.created"]
    assert messages[0].body["payload"]["type"] == "user.created"
    assert messages[0].body["payload"]["data"]["id"] == user["id"]
    assert messages[2].body["payload"]["data"]["id"] == team["id"]
    lanes = query_rows(
        svix_stack.database_url,
        "SELECT DISTINCT endpoint_id FROM webhook_deliveries WHERE tenancy_id = %s",
        (project.tenancy_id,),
    )
    assert lanes == [(SVIX_LANE,)]


def test_svix_refusing_a_message_for_good_fails_it_without_retries(
    svix_stack: OwnStack, standin: SvixStandIn
) -> None:
    api = svix_stack.started[0]
    project = svix_stack.project()
    standin.fail(f"/api/v1/app/{project.id}/msg", 400)
    with api.client() as http:  # type: ignore[union-attr]
        create_user(http, project)
    wait_until(
        lambda: deliveries(svix_stack.database_url, project) == [("user.created", "failed", 1)],
        what="the refused message to fail",
    )


def test_the_admin_api_is_answered_from_svix(svix_stack: OwnStack, standin: SvixStandIn) -> None:
    api = svix_stack.started[0]
    project = svix_stack.project()
    admin = project.headers("admin")
    with api.client() as http:  # type: ignore[union-attr]
        token = http.post("/api/v1/webhooks/svix-token", headers=admin)
        assert token.status_code == 201, token.text
        # A self-hosted Svix (STACK_SVIX_SERVER_URL) has no embedded portal URL, as upstream.
        assert token.json() == {"token": "appsk_standin"}
        created = http.post(
            ENDPOINTS,
            headers=admin,
            json={"url": "https://receiver.example/hook", "event_types": ["user.created"]},
        )
        assert created.status_code == 201, created.text
        endpoint = created.json()
        assert endpoint["id"].startswith("ep_")
        assert endpoint["secret"] == "whsec_c3RhbmRpbnN0YW5kaW5zdGFuZGlu"
        [sent] = standin.calls_to("POST", f"/api/v1/app/{project.id}/endpoint")
        assert sent.body["url"] == "https://receiver.example/hook"
        assert sent.body["eventTypes"] == ["user.created"]
        listed = http.get(ENDPOINTS, headers=admin).json()["items"]
        assert [e["id"] for e in listed] == [endpoint["id"]]
        assert "secret" not in listed[0]
        test = http.post(
            "/api/v1/internal/send-test-webhook",
            headers=admin,
            json={"endpoint_id": endpoint["id"]},
        )
        assert test.json() == {"success": True}
        [message] = [
            c for c in standin.calls_to("POST", "/msg") if c.body["eventType"] == "stack.test"
        ]
        assert message.body["payload"]["data"]["endpointUrl"] == "https://receiver.example/hook"
        attempts = http.get(f"{ENDPOINTS}/{endpoint['id']}/attempts", headers=admin).json()
        assert [(a["event_type"], a["status"]) for a in attempts["items"]] == [
            ("stack.test", "succeeded")
        ]
        missing = http.get(f"{ENDPOINTS}/ep_missing", headers=admin)
        assert missing.status_code == 404
