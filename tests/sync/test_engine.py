"""The sync engine against a second real PostgreSQL database: API changes reach the target,
projects stay apart, any role can read it, batches are idempotent, secrets stay home."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest
from psycopg import sql

from authstack_core.models.external_db_sync import MAPPING_NAMES
from tests.api.helpers import create_user, sign_up
from tests.conftest import Project
from tests.factories import ADMIN_URL, database_url_named, fresh_database, query_value
from tests.sync.engine_support import (
    Engine,
    add_target,
    ids,
    progress,
    rows,
    status,
    table_names,
)

CONFIG = "/api/v1/internal/config"


@pytest.fixture
def target() -> Iterator[str]:
    with fresh_database("authstack_sync_target") as url:
        yield url


@pytest.fixture
def engine(migrated_database: str) -> Engine:
    return Engine(migrated_database)


def define_permissions(http: httpx.Client, project: Project) -> None:
    body = {
        "config_override_string": json.dumps(
            {
                "rbac.permissions.read_reports": {"scope": "project"},
                "rbac.permissions.billing": {"scope": "team"},
            }
        )
    }
    r = http.patch(f"{CONFIG}/override/branch", headers=project.headers("admin"), json=body)
    assert r.status_code == 200, r.text


def test_users_teams_memberships_permissions_and_channels_reach_the_target(
    http: httpx.Client, project: Project, engine: Engine, target: str
) -> None:
    add_target(http, project, "warehouse", target)
    define_permissions(http, project)
    server = project.headers("server")
    alice = create_user(
        http,
        project,
        primary_email="alice@example.com",
        display_name="Alice",
        primary_email_verified=True,
        server_metadata={"tier": "gold"},
    )
    bob = create_user(http, project, primary_email="bob@example.com")
    team = http.post(
        "/api/v1/teams",
        headers=server,
        json={"display_name": "Ops", "creator_user_id": alice["id"]},
    ).json()
    assert (
        http.post(
            f"/api/v1/team-memberships/{team['id']}/{bob['id']}", headers=server, json={}
        ).status_code
        == 201
    )
    assert (
        http.post(
            f"/api/v1/team-permissions/{team['id']}/{bob['id']}/billing", headers=server, json={}
        ).status_code
        == 201
    )
    assert (
        http.post(
            f"/api/v1/project-permissions/{bob['id']}/read_reports", headers=server, json={}
        ).status_code
        == 201
    )
    channel = http.post(
        "/api/v1/contact-channels",
        headers=server,
        json={
            "type": "email",
            "user_id": bob["id"],
            "value": "bob2@example.com",
            "used_for_auth": False,
        },
    ).json()

    report = engine.sync(project)
    assert set(table_names(target)) >= {*MAPPING_NAMES, "_stack_sync_metadata"}
    assert rows(
        target,
        "users",
        "id::text, display_name, primary_email, primary_email_verified,"
        " server_metadata, is_anonymous",
        "primary_email",
    ) == [
        (alice["id"], "Alice", "alice@example.com", True, {"tier": "gold"}, False),
        (bob["id"], None, "bob@example.com", False, None, False),
    ]
    assert rows(target, "teams", "id::text, display_name") == [(team["id"], "Ops")]
    assert set(rows(target, "team_member_profiles", "team_id::text, user_id::text")) == {
        (team["id"], alice["id"]),
        (team["id"], bob["id"]),
    }
    assert (team["id"], bob["id"], "billing") in set(
        rows(target, "team_permissions", "team_id::text, user_id::text, id")
    )
    assert rows(target, "project_permissions", "user_id::text, id") == [(bob["id"], "read_reports")]
    assert channel["id"] in ids(target, "contact_channels")
    assert all(v == report.upto for v in progress(target).values())
    recorded = {k[1]: v for k, v in status(engine_db(engine), project).items()}
    assert recorded == dict.fromkeys(MAPPING_NAMES, (report.upto, None))

    # Updates, then deletions, follow.
    assert (
        http.patch(
            f"/api/v1/users/{bob['id']}",
            headers=server,
            json={"display_name": "Bobby", "primary_email": "bobby@example.com"},
        ).status_code
        == 200
    )
    assert (
        http.delete(
            f"/api/v1/contact-channels/{bob['id']}/{channel['id']}", headers=server
        ).status_code
        == 200
    )
    assert (
        http.delete(
            f"/api/v1/team-permissions/{team['id']}/{bob['id']}/billing", headers=server
        ).status_code
        == 200
    )
    assert (
        http.delete(
            f"/api/v1/project-permissions/{bob['id']}/read_reports", headers=server
        ).status_code
        == 200
    )
    assert (
        http.delete(
            f"/api/v1/team-memberships/{team['id']}/{bob['id']}", headers=server
        ).status_code
        == 200
    )
    engine.sync(project)
    assert rows(target, "users", "display_name, primary_email", "primary_email") == [
        ("Alice", "alice@example.com"),
        ("Bobby", "bobby@example.com"),
    ]
    assert channel["id"] not in ids(target, "contact_channels")
    assert {r[0] for r in rows(target, "team_permissions", "user_id::text")} == {alice["id"]}
    assert rows(target, "project_permissions", "id") == []
    assert rows(target, "team_member_profiles", "user_id::text") == [(alice["id"],)]

    assert http.delete(f"/api/v1/teams/{team['id']}", headers=server).status_code == 200
    assert http.delete(f"/api/v1/users/{alice['id']}", headers=server).status_code == 200
    engine.sync(project)
    assert ids(target, "users") == {bob["id"]}
    assert rows(target, "teams", "id") == []
    assert rows(target, "team_member_profiles", "user_id") == []
    assert rows(target, "team_permissions", "id") == []
    assert {str(r[0]) for r in rows(target, "contact_channels", "user_id")} == {bob["id"]}


def engine_db(engine: Engine) -> str:
    return engine.settings.database_url


def test_a_projects_rows_never_reach_another_projects_target(
    http: httpx.Client, make_project: Callable[[], Project], engine: Engine
) -> None:
    first, second = make_project(), make_project()
    with fresh_database("authstack_sync_a") as a, fresh_database("authstack_sync_b") as b:
        add_target(http, first, "main", a)
        add_target(http, second, "main", b)
        mine = {create_user(http, first)["id"] for _ in range(3)}
        theirs = {create_user(http, second)["id"] for _ in range(2)}
        engine.sync(first)
        engine.sync(second)
        assert ids(a, "users") == mine
        assert ids(b, "users") == theirs


def test_a_plain_role_can_read_every_target_table(
    http: httpx.Client, project: Project, engine: Engine, target: str
) -> None:
    add_target(http, project, "readers", target)
    create_user(http, project, primary_email="reader@example.com")
    engine.sync(project)
    role = f"sync_reader_{project.tenancy_id[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        as_role = target.replace("postgres@", f"{role}@", 1)
        with psycopg.connect(as_role) as conn:
            for table in (*MAPPING_NAMES, "_stack_sync_metadata"):
                conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))
            count = conn.execute("SELECT count(*) FROM users").fetchone()
        assert count == (1,)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_a_batch_applied_twice_changes_nothing(
    http: httpx.Client, project: Project, engine: Engine, target: str
) -> None:
    add_target(http, project, "twice", target)
    for n in range(5):
        create_user(http, project, display_name=f"user {n}", client_metadata={"n": n})
    engine.sync(project, batch_size=2)
    before = rows(target, "users", "id, xmin::text, display_name, client_metadata")
    # As if the engine died after the target committed but before anyone knew: start over.
    with psycopg.connect(target) as conn:
        conn.execute("UPDATE _stack_sync_metadata SET last_synced_sequence_id = 0")
    again = engine.sync(project, batch_size=2)
    assert again.upserted == {"twice": 5}  # read again ...
    assert rows(target, "users", "id, xmin::text, display_name, client_metadata") == before


def test_no_secret_column_reaches_the_target(
    http: httpx.Client, project: Project, engine: Engine, target: str
) -> None:
    add_target(http, project, "secrets", target)
    sign_up(http, project, "secret-holder@example.com", "a-long-password-123")
    engine.sync(project)
    assert len(rows(target, "refresh_tokens", "id")) == 1
    columns = {
        r[0]
        for r in rows(
            target, "information_schema.columns WHERE table_schema = 'public'", "column_name"
        )
    }
    assert not {
        c
        for c in columns
        if "hash" in c or "secret" in c or "token" in c or "password" in c or "sealed" in c
    }


def test_the_connection_string_is_sealed_at_rest_and_redacted_when_read(
    http: httpx.Client, project: Project, engine: Engine, migrated_database: str, target: str
) -> None:
    name = target.rsplit("/", 1)[1]
    # The local server trusts 127.0.0.1, so any password connects; it must still never show.
    url = database_url_named(name, ADMIN_URL).replace("postgres@", "postgres:Pw-9f2c-s3cret@", 1)
    add_target(http, project, "sealed", url)
    stored = query_value(
        migrated_database,
        "SELECT branch_config_override::text || environment_config_override::text"
        " FROM tenancies WHERE id = %s",
        (project.tenancy_id,),
    )
    assert "Pw-9f2c-s3cret" not in stored
    assert "sealed:v1:" in stored
    shown = http.get(CONFIG, headers=project.headers("admin")).json()["config_string"]
    override = http.get(f"{CONFIG}/override/branch", headers=project.headers("admin")).json()
    redacted = f"postgres://postgres:****@127.0.0.1:5432/{name}"
    for text in (shown, override["config_string"]):
        assert "Pw-9f2c-s3cret" not in text
        assert "sealed:v1" not in text
        assert redacted in text
    # Writing back what was read keeps the stored secret: the target still syncs.
    r = http.put(
        f"{CONFIG}/override/branch",
        headers=project.headers("admin"),
        json={"config_string": override["config_string"], "source": {"type": "unlinked"}},
    )
    assert r.status_code == 200, r.text
    create_user(http, project)
    engine.sync(project)
    assert len(ids(target, "users")) == 1


def test_invitations_and_their_emails_reach_the_target_and_a_revoked_one_leaves(
    http: httpx.Client, project: Project, engine: Engine, target: str
) -> None:
    add_target(http, project, "invites", target)
    server = project.headers("server")
    team = http.post("/api/v1/teams", headers=server, json={"display_name": "Guests"}).json()
    sent = http.post(
        "/api/v1/team-invitations/send-code",
        headers=server,
        json={
            "team_id": team["id"],
            "email": "guest@example.com",
            "callback_url": "http://localhost:3000/handler/team-invitation",
        },
    )
    assert sent.status_code == 200, sent.text
    engine.sync(project)
    invitation = rows(target, "team_invitations", "id::text, team_id::text, recipient_email")
    assert [(r[1], r[2]) for r in invitation] == [(team["id"], "guest@example.com")]
    # The invitation's email may be locked by the worker sending it when the sequencer passes
    # (it skips locked rows): it is numbered on a later pass, as the cron's next tick would.
    deadline = time.monotonic() + 30
    while not (outboxes := rows(target, "email_outboxes", "id, status")):
        assert time.monotonic() < deadline, "the invitation's email never reached the target"
        time.sleep(0.5)
        engine.sync(project)
    assert len(outboxes) == 1
    revoked = http.delete(
        f"/api/v1/team-invitations/{invitation[0][0]}",
        headers=server,
        params={"team_id": team["id"]},
    )
    assert revoked.status_code == 200, revoked.text
    engine.sync(project)
    assert rows(target, "team_invitations", "id") == []
