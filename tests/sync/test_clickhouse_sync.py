"""The ClickHouse target of the external DB sync: what the API writes reaches the ``default.*``
views after the cron's sequencer and poller calls, through the real API owning a real embedded
store, read back with the admin SQL endpoint."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from tests.analytics.helpers import rows
from tests.api.helpers import create_session, create_user, unique_email
from tests.api.team_helpers import create_team
from tests.conftest import ApiServer, Project, create_project, migrated_clickhouse, running_api
from tests.factories import free_port
from tests.mail_fixtures import delete_namespace, seeded_database
from tests.sync.support import CRON, SYNC, pending_request, poll, sequence
from tests.sync.test_engine import define_permissions

BATCH = 2  # rows per batch: every test below copies several batches per mapping
MAX_POLLS = 20


@dataclass
class ClickHouseStack:
    database_url: str
    api: ApiServer
    namespace: str


@pytest.fixture(scope="module")
def stack(
    session_redis: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ClickHouseStack]:
    """A database of its own (the sequencer numbers every tenancy at once) and an API owning a
    migrated embedded store."""
    namespace = f"sync_ch_{secrets.token_hex(4)}"
    with seeded_database("authstack_sync_ch") as url:
        store = migrated_clickhouse(tmp_path_factory.mktemp("clickhouse") / "store", url)
        env = {
            "STACK_CLICKHOUSE_URL": store,
            "STACK_QUEUE_NAMESPACE": namespace,
            "STACK_EXTERNAL_DB_SYNC_BATCH_SIZE": str(BATCH),
        }
        try:
            with running_api(url, **env) as api:
                yield ClickHouseStack(url, api, namespace)
        finally:
            delete_namespace(session_redis, namespace)


@pytest.fixture
def http(stack: ClickHouseStack) -> Iterator[httpx.Client]:
    with stack.api.client() as client:
        yield client


def sync(http: httpx.Client) -> None:
    """The cron's round: number the changes, then poll until no request is left."""
    sequence(http)
    for _ in range(MAX_POLLS):
        if poll(http) == 0:
            return
    pytest.fail(f"requests still pending after {MAX_POLLS} polls")


def clickhouse_status(http: httpx.Client, project: Project) -> dict[str, dict[str, Any]]:
    r = http.get(f"{SYNC}/status", headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    (target,) = [t for t in r.json()["targets"] if t["type"] == "clickhouse"]
    assert target["id"] is None
    return {m["mapping"]: m for m in target["mappings"]}


def execute(database_url: str, statement: str, params: tuple[Any, ...]) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(statement, params)


def member(http: httpx.Client, project: Project, team_id: str, user_id: str) -> None:
    path = f"/api/v1/team-memberships/{team_id}/{user_id}"
    r = http.post(path, headers=project.headers("server"), json={})
    assert r.status_code == 201, r.text


def test_users_teams_memberships_and_channels_follow_creates_updates_and_deletes(
    stack: ClickHouseStack, http: httpx.Client
) -> None:
    project = create_project(stack.database_url)
    server = project.headers("server")
    alice_email, bob_email = unique_email("alice"), unique_email("bob")
    alice = create_user(
        http,
        project,
        display_name="Alice",
        primary_email=alice_email,
        primary_email_verified=True,
        server_metadata={"tier": "gold"},
    )
    bob = create_user(http, project, display_name="Bob", primary_email=bob_email)
    carol = create_user(http, project, display_name="Carol")
    team = create_team(http, project, display_name="Ops")
    for user in (alice, bob, carol):
        member(http, project, team["id"], user["id"])
    r = http.post(
        "/api/v1/contact-channels",
        headers=server,
        json={"type": "email", "user_id": bob["id"], "value": "bob2@example.com",
              "used_for_auth": False},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    channel = r.json()
    sync(http)

    users = rows(
        http,
        project,
        "SELECT id, display_name, primary_email, primary_email_verified, server_metadata,"
        " client_metadata, is_anonymous, toUnixTimestamp64Milli(signed_up_at) AS signed_up_at"
        " FROM users ORDER BY display_name",
    )
    assert [(u["id"], u["display_name"], u["primary_email"]) for u in users] == [
        (alice["id"], "Alice", alice_email),
        (bob["id"], "Bob", bob_email),
        (carol["id"], "Carol", None),
    ]
    assert [u["primary_email_verified"] for u in users] == [1, 0, 0]
    assert users[0]["server_metadata"] == '{"tier":"gold"}'
    assert users[2]["client_metadata"] in ("null", "{}")
    assert {u["is_anonymous"] for u in users} == {0}
    assert int(users[0]["signed_up_at"]) == alice["signed_up_at_millis"]  # the same instant
    assert rows(http, project, "SELECT id, display_name FROM teams") == [
        {"id": team["id"], "display_name": "Ops"}
    ]
    profiles = rows(http, project, "SELECT team_id, user_id FROM team_member_profiles")
    assert sorted(p["user_id"] for p in profiles) == sorted(u["id"] for u in (alice, bob, carol))
    assert {p["team_id"] for p in profiles} == {team["id"]}
    channels = rows(
        http, project, "SELECT id, user_id, value, is_primary FROM contact_channels ORDER BY value"
    )
    assert {c["value"] for c in channels} == {alice_email, bob_email, "bob2@example.com"}
    assert {"id": channel["id"], "user_id": bob["id"], "value": "bob2@example.com",
            "is_primary": 0} in channels  # fmt: skip

    # Updates replace the rows the views show.
    r = http.patch(f"/api/v1/users/{alice['id']}", headers=server, json={"display_name": "Alicia"})
    assert r.status_code == 200, r.text
    r = http.patch(f"/api/v1/teams/{team['id']}", headers=server, json={"display_name": "Ops 2"})
    assert r.status_code == 200, r.text
    sync(http)
    assert rows(http, project, "SELECT display_name FROM users WHERE id = {i:String}",
                params={"i": alice["id"]}) == [{"display_name": "Alicia"}]  # fmt: skip
    assert rows(http, project, "SELECT display_name FROM teams") == [{"display_name": "Ops 2"}]

    # Deletes disappear: a user with its channels and memberships, a channel, a team.
    assert http.delete(f"/api/v1/users/{bob['id']}", headers=server).status_code == 200
    path = f"/api/v1/contact-channels/{alice['id']}/{primary_channel(http, project, alice)}"
    assert http.delete(path, headers=server).status_code == 200
    sync(http)
    assert [u["id"] for u in rows(http, project, "SELECT id FROM users ORDER BY display_name")] == [
        alice["id"],
        carol["id"],
    ]
    assert rows(http, project, "SELECT value FROM contact_channels") == []
    assert rows(http, project, "SELECT primary_email FROM users WHERE id = {i:String}",
                params={"i": alice["id"]}) == [{"primary_email": None}]  # fmt: skip
    profiles = rows(http, project, "SELECT user_id FROM team_member_profiles")
    assert sorted(p["user_id"] for p in profiles) == sorted((alice["id"], carol["id"]))
    assert http.delete(f"/api/v1/teams/{team['id']}", headers=server).status_code == 200
    sync(http)
    assert rows(http, project, "SELECT id FROM teams") == []
    assert rows(http, project, "SELECT user_id FROM team_member_profiles") == []

    status = clickhouse_status(http, project)
    assert all(m["lag"] == 0 and m["last_error"] is None for m in status.values()), status
    assert status["users"]["last_synced_sequence_id"] is not None


def primary_channel(http: httpx.Client, project: Project, user: dict[str, Any]) -> str:
    r = http.get(
        "/api/v1/contact-channels",
        headers=project.headers("server"),
        params={"user_id": user["id"]},
    )
    assert r.status_code == 200, r.text
    (channel,) = [c for c in r.json()["items"] if c["is_primary"]]
    channel_id: str = channel["id"]
    return channel_id


def test_a_projects_views_hold_only_its_own_rows(
    stack: ClickHouseStack, http: httpx.Client
) -> None:
    first, second = create_project(stack.database_url), create_project(stack.database_url)
    mine = [create_user(http, first, display_name=f"first {i}")["id"] for i in range(3)]
    theirs = create_user(http, second, display_name="second")["id"]
    sync(http)
    seen = rows(http, first, "SELECT id, project_id, branch_id FROM users")
    assert sorted(seen, key=lambda r: r["id"]) == [
        {"id": i, "project_id": first.id, "branch_id": "main"} for i in sorted(mine)
    ]
    assert rows(http, second, "SELECT id, project_id, branch_id FROM users") == [
        {"id": theirs, "project_id": second.id, "branch_id": "main"}
    ]


def test_a_poll_out_of_time_copies_one_batch_and_the_next_polls_finish(
    stack: ClickHouseStack, http: httpx.Client
) -> None:
    project = create_project(stack.database_url)
    made = {create_user(http, project)["id"] for _ in range(5)}
    sequence(http)
    assert poll(http, maxDurationMs=0) >= 1
    # One batch went out; the tenancy's request is armed again for the next call.
    assert len(rows(http, project, "SELECT id FROM users")) == BATCH
    assert pending_request(stack.database_url, project.tenancy_id)
    assert clickhouse_status(http, project)["users"]["lag"] == len(made) - BATCH
    sync(http)
    assert {r["id"] for r in rows(http, project, "SELECT id FROM users")} == made
    assert not pending_request(stack.database_url, project.tenancy_id)
    assert clickhouse_status(http, project)["users"]["lag"] == 0


def test_clickhouse_down_the_poller_answers_200_and_status_shows_it_until_it_is_back(
    stack: ClickHouseStack, http: httpx.Client
) -> None:
    project = create_project(stack.database_url)
    env = {
        "STACK_CLICKHOUSE_URL": f"http://127.0.0.1:{free_port()}",
        "STACK_QUEUE_NAMESPACE": stack.namespace,
    }
    with running_api(stack.database_url, **env) as down, down.client() as down_http:
        user = create_user(down_http, project, display_name="Dana")
        sequence(down_http)
        r = down_http.get(f"{SYNC}/poller", headers=CRON)
        assert r.status_code == 200, r.text
        assert r.json() == {"ok": True, "requests_processed": 1}
        status = clickhouse_status(down_http, project)
    assert {m["last_error"] is not None for m in status.values()} == {True}
    assert status["users"]["last_error"].startswith("ClickHouse unavailable:")
    assert status["users"]["last_synced_sequence_id"] is None
    assert status["users"]["last_error_at_millis"] is not None
    assert pending_request(stack.database_url, project.tenancy_id)  # tried again next poll

    # ClickHouse is back (the API that owns it polls): the copy catches up, the error clears.
    sync(http)
    assert rows(http, project, "SELECT id, display_name FROM users") == [
        {"id": user["id"], "display_name": "Dana"}
    ]
    status = clickhouse_status(http, project)
    assert {m["last_error"] for m in status.values()} == {None}


def test_permissions_sessions_invitations_emails_and_accounts_reach_their_views(
    stack: ClickHouseStack, http: httpx.Client
) -> None:
    """The other mappings' rows fit their tables; a revoked invitation and an unlinked account
    leave. (A connected account is written in SQL: linking one through the API needs an OAuth
    provider.)"""
    project = create_project(stack.database_url)
    define_permissions(http, project)
    server = project.headers("server")
    alice = create_user(http, project, primary_email=unique_email("alice"))
    team = create_team(http, project, display_name="Guests", creator_user_id=alice["id"])
    path = f"/api/v1/project-permissions/{alice['id']}/read_reports"
    assert http.post(path, headers=server, json={}).status_code == 201
    session = create_session(http, project, alice["id"])
    sent = http.post(
        "/api/v1/team-invitations/send-code",
        headers=server,
        json={"team_id": team["id"], "email": "guest@example.com",
              "callback_url": "http://localhost:3000/handler/team-invitation"},
    )  # fmt: skip
    assert sent.status_code == 200, sent.text
    account = str(uuid.uuid4())
    execute(
        stack.database_url,
        "INSERT INTO oauth_accounts (tenancy_id, id, user_id, provider_config_id,"
        " provider_account_id) VALUES (%s, %s, %s, 'github', 'gh-42')",
        (project.tenancy_id, account, alice["id"]),
    )
    sync(http)

    granted = rows(http, project, "SELECT team_id, user_id, id FROM team_permissions")
    team_ids = {(g["team_id"], g["user_id"]) for g in granted}
    assert team_ids == {(team["id"], alice["id"])}
    assert rows(http, project, "SELECT user_id, id FROM project_permissions") == [
        {"user_id": alice["id"], "id": "read_reports"}
    ]
    tokens = rows(http, project, "SELECT user_id, is_impersonation, expires_at FROM refresh_tokens")
    assert [(t["user_id"], t["is_impersonation"]) for t in tokens] == [(alice["id"], 0)]
    assert session["refresh_token"]
    invitations = rows(http, project, "SELECT id, team_id, recipient_email FROM team_invitations")
    assert [(i["team_id"], i["recipient_email"]) for i in invitations] == [
        (team["id"], "guest@example.com")
    ]
    outboxes = rows(http, project, "SELECT status, is_high_priority FROM email_outboxes")
    assert len(outboxes) == 1
    assert rows(
        http, project, "SELECT id, user_id, provider, provider_account_id FROM connected_accounts"
    ) == [
        {
            "id": account,
            "user_id": alice["id"],
            "provider": "github",
            "provider_account_id": "gh-42",
        }
    ]

    revoked = http.delete(
        f"/api/v1/team-invitations/{invitations[0]['id']}",
        headers=server,
        params={"team_id": team["id"]},
    )
    assert revoked.status_code == 200, revoked.text
    execute(stack.database_url, "DELETE FROM oauth_accounts WHERE id = %s", (account,))
    sync(http)
    assert rows(http, project, "SELECT id FROM team_invitations") == []
    assert rows(http, project, "SELECT id FROM connected_accounts") == []


def test_rows_numbered_before_clickhouse_existed_are_copied_without_a_new_change(
    stack: ClickHouseStack, http: httpx.Client
) -> None:
    """A tenancy whose rows were all numbered before ClickHouse was configured (here: its
    ClickHouse progress forgotten) is asked for by the sequencer all the same."""
    project = create_project(stack.database_url)
    user = create_user(http, project, primary_email=unique_email("before"))
    sync(http)
    execute(
        stack.database_url,
        "DELETE FROM external_db_sync_status WHERE tenancy_id = %s",
        (project.tenancy_id,),
    )
    sequence(http)
    assert pending_request(stack.database_url, project.tenancy_id)
    sync(http)
    assert rows(http, project, "SELECT id FROM users") == [{"id": user["id"]}]
    sequence(http)  # received now: not asked for again
    assert not pending_request(stack.database_url, project.tenancy_id)
