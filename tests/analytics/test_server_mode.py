"""The server code paths (``STACK_CLICKHOUSE_URL=http://...``) against a recording stand-in.

No ClickHouse server can run here, so the migrator and the API talk HTTP to
``clickhouse_standin``: a real ClickHouse engine (chdb) behind ClickHouse's HTTP interface that
records every request. These tests assert what a real server would be sent (users, passwords,
settings, parameters, statements) and how our code takes its answers; they cannot show that the
server's row policies and grants isolate projects (the stand-in does not enforce them).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest

from authstack_migrator.clickhouse_runner import load_clickhouse_migrations
from authstack_migrator.runner import split_statements
from tests.analytics.helpers import analytics_query
from tests.api.helpers import sign_up
from tests.conftest import ApiServer, create_project, running_api, settings_env
from tests.factories import Project, stop_process

REPO = Path(__file__).resolve().parents[2]
ADMIN_USER = "stack_admin"
ADMIN_PASSWORD = "admin-pw-Zq81"
EXTERNAL_PASSWORD = "external-pw-Yk42"
TIMEOUT_S = 120
VIEWS = {
    "events", "users", "contact_channels", "teams", "team_member_profiles", "team_permissions",
    "team_invitations", "email_outboxes", "project_permissions", "notification_preferences",
    "refresh_tokens", "connected_accounts",
}  # fmt: skip
POLICY = re.compile(
    r"CREATE ROW POLICY IF NOT EXISTS (\w+)_project_isolation ON default\.(\w+) FOR SELECT\s+"
    r"USING project_id = getSetting\('SQL_project_id'\) AND "
    r"branch_id = getSetting\('SQL_branch_id'\)"
    r"\s+TO limited_user$"
)
GRANT = re.compile(r"GRANT SELECT ON default\.(\w+) TO limited_user$")
VIEW = re.compile(r"CREATE OR REPLACE VIEW default\.(\w+) SQL SECURITY DEFINER AS")
CREATE_USER = (
    "CREATE USER IF NOT EXISTS limited_user IDENTIFIED WITH sha256_password BY {pw:String}"
)
ALTER_USER = "ALTER USER limited_user IDENTIFIED WITH sha256_password BY {pw:String}"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class StandIn:
    """The stand-in process, its URL and its request log."""

    process: subprocess.Popen[str]
    url: str
    log: Path
    marks: dict[str, int] = field(default_factory=dict)

    def records(self, since: int = 0) -> list[dict[str, Any]]:
        lines = self.log.read_text("utf-8").splitlines()
        return [json.loads(line) for line in lines[since:]]

    def mark(self, name: str) -> None:
        self.marks[name] = len(self.log.read_text("utf-8").splitlines())

    def between(self, start: str, end: str) -> list[dict[str, Any]]:
        return self.records()[self.marks[start] : self.marks[end]]

    def admin_client(self) -> Any:
        port = int(self.url.rsplit(":", 1)[1])
        return clickhouse_connect.get_client(
            host="127.0.0.1", port=port, username=ADMIN_USER, password=ADMIN_PASSWORD
        )


def start_standin(folder: Path) -> StandIn:
    log = folder / "requests.jsonl"
    log.touch()
    command = [
        sys.executable, "-m", "tests.analytics.clickhouse_standin", "--log", str(log),
        "--admin-user", ADMIN_USER, "--admin-password-env", "STANDIN_ADMIN_PASSWORD",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, "STANDIN_ADMIN_PASSWORD": ADMIN_PASSWORD},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().split()
    if first[:1] != ["PORT"]:
        stop_process(process)  # type: ignore[arg-type]
        pytest.fail(f"the ClickHouse stand-in did not start: {first}")
    return StandIn(process, f"http://127.0.0.1:{first[1]}", log)


def server_env(database_url: str, url: str, **extra: str) -> dict[str, str]:
    return settings_env(
        database_url,
        STACK_CLICKHOUSE_URL=url,
        STACK_CLICKHOUSE_ADMIN_USER=ADMIN_USER,
        STACK_CLICKHOUSE_ADMIN_PASSWORD=ADMIN_PASSWORD,
        STACK_CLICKHOUSE_EXTERNAL_PASSWORD=EXTERNAL_PASSWORD,
        **extra,
    )


def run_migrator(database_url: str, url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "authstack_migrator", "clickhouse"],
        env={**os.environ, **server_env(database_url, url)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"migrator failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def standin(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    """A stand-in the real migrator has migrated twice (the log marks where each run began)."""
    server = start_standin(tmp_path_factory.mktemp("standin"))
    try:
        server.mark("first")
        run_migrator(migrated_database, server.url)
        server.mark("second")
        run_migrator(migrated_database, server.url)
        server.mark("migrated")
        yield server
    finally:
        stop_process(server.process)  # type: ignore[arg-type]


def _queries(records: list[dict[str, Any]]) -> list[str]:
    return [r["query"] for r in records]


def _statements(records: list[dict[str, Any]]) -> list[str]:
    """The queries without the comment lines a migration file puts before a statement."""
    return [
        "\n".join(line for line in r["query"].splitlines() if not line.startswith("--")).strip()
        for r in records
    ]


def test_migrator_logs_in_as_admin_and_every_request_succeeds(standin: StandIn) -> None:
    records = standin.between("first", "migrated")
    assert records
    assert {(r["user"], r["password_sha256"]) for r in records} == {
        (ADMIN_USER, sha256(ADMIN_PASSWORD))
    }
    assert [r for r in records if r["status"] != 200] == []


def test_migrator_sets_limited_users_password_as_a_parameter_on_every_run(
    standin: StandIn,
) -> None:
    log_text = standin.log.read_text("utf-8")
    assert EXTERNAL_PASSWORD not in log_text
    assert ADMIN_PASSWORD not in log_text
    for run in (standin.between("first", "second"), standin.between("second", "migrated")):
        users = [r for r in run if "limited_user IDENTIFIED" in r["query"]]
        assert [r["query"] for r in users] == [CREATE_USER, ALTER_USER]
        # The stand-in logs the parameter as its digest: the value sent was the external password.
        assert all(r["params"] == {"pw": "sha256:" + sha256(EXTERNAL_PASSWORD)} for r in users)
    # limited_user now logs in with the external password, and with nothing else.
    port = int(standin.url.rsplit(":", 1)[1])
    limited = clickhouse_connect.get_client(
        host="127.0.0.1", port=port, username="limited_user", password=EXTERNAL_PASSWORD
    )
    limited.close()
    with pytest.raises(clickhouse_connect.driver.exceptions.DatabaseError, match="516"):
        clickhouse_connect.get_client(
            host="127.0.0.1", port=port, username="limited_user", password="wrong"
        )


def test_first_run_applies_every_file_in_order_after_the_user(standin: StandIn) -> None:
    run = _queries(standin.between("first", "second"))
    expected = [s for m in load_clickhouse_migrations() for s in split_statements(m.sql)]
    ran = [q for q in run if q in expected]
    assert ran == expected
    assert run.index(ALTER_USER) < run.index(expected[0])
    ledger = [r for r in standin.between("first", "second") if "schema_migrations" in r["query"]]
    inserts = [r for r in ledger if r["query"].startswith("INSERT INTO")]
    assert len(inserts) == 6
    assert all(r["data_bytes"] and r["executed"] for r in inserts)
    client = standin.admin_client()
    try:
        rows = client.query(
            "SELECT version, ran FROM analytics_internal.schema_migrations ORDER BY version"
        ).result_rows
    finally:
        client.close()
    # 0004 and 0006 ran: a server takes their policies.
    assert rows == [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1)]


def test_row_policies_and_grants_cover_exactly_the_twelve_views(standin: StandIn) -> None:
    run = _statements(standin.between("first", "second"))
    views = {m.group(1) for q in run if (m := VIEW.match(q))}
    policies = [m.groups() for q in run if (m := POLICY.match(q))]
    grants = [m.group(1) for q in run if (m := GRANT.match(q))]
    assert views == VIEWS
    assert {view for _, view in policies} == VIEWS
    assert all(name == view for name, view in policies)
    revoke = run.index("REVOKE ALL PRIVILEGES ON *.* FROM limited_user")
    assert set(grants) == VIEWS
    # Each view's policy and grant come (again) after its last CREATE OR REPLACE (0005 replaces
    # connected_accounts after 0004; 0006 asserts them once more).
    for view in VIEWS:
        made = max(i for i, q in enumerate(run) if (m := VIEW.match(q)) and m.group(1) == view)
        limited = [i for i, q in enumerate(run) if (m := POLICY.match(q)) and m.group(2) == view]
        granted = [
            i for i, q in enumerate(run) if q == f"GRANT SELECT ON default.{view} TO limited_user"
        ]
        assert max(limited) > made, view
        assert max(granted) > made, view
    assert all(run.index(f"GRANT SELECT ON default.{v} TO limited_user") > revoke for v in VIEWS)
    assert [q for q in run if q.startswith(("GRANT", "REVOKE"))] == [
        "REVOKE ALL PRIVILEGES ON *.* FROM limited_user",
        *(f"GRANT SELECT ON default.{v} TO limited_user" for v in grants),
    ]


def test_second_run_only_sets_the_user_again(standin: StandIn) -> None:
    run = _queries(standin.between("second", "migrated"))
    writes = [q for q in run if not q.lstrip().upper().startswith(("SELECT", "DESCRIBE"))]
    ledger = "CREATE TABLE IF NOT EXISTS analytics_internal.schema_migrations"
    assert len(writes) == 4
    assert writes[0] == "CREATE DATABASE IF NOT EXISTS analytics_internal"
    assert writes[1].startswith(ledger)
    assert writes[2:] == [CREATE_USER, ALTER_USER]


@pytest.fixture(scope="module")
def server_api(migrated_database: str, standin: StandIn) -> Iterator[ApiServer]:
    """An API whose analytics store is the stand-in (a ClickHouse server, as in production)."""
    env = server_env(migrated_database, standin.url)
    extra = {k: v for k, v in env.items() if k.startswith("STACK_CLICKHOUSE_")}
    with running_api(migrated_database, **extra) as server:
        yield server


def wait_for(standin: StandIn, found: Any, timeout: float = 15) -> list[dict[str, Any]]:
    """The stand-in's records for which ``found`` holds, once there is one (or fail)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hits = [r for r in standin.records() if found(r)]
        if hits:
            return hits
        time.sleep(0.1)
    pytest.fail("the stand-in never saw the expected request")


def wait_for_event(standin: StandIn, user_id: str, timeout: float = 15) -> None:
    """Wait until the stand-in's engine holds an event of ``user_id`` (the API inserted it)."""
    client = standin.admin_client()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            found = client.query(
                "SELECT count() FROM analytics_internal.events WHERE user_id = {u:String}",
                parameters={"u": user_id},
            ).result_rows[0][0]
            if found:
                return
            time.sleep(0.1)
    finally:
        client.close()
    pytest.fail(f"no event of user {user_id} reached the stand-in")


def test_sign_up_events_are_inserted_as_the_admin_with_async_insert(
    server_api: ApiServer, standin: StandIn, migrated_database: str
) -> None:
    project = create_project(migrated_database)
    with server_api.client() as http:
        tokens = sign_up(http, project)
    inserts = wait_for(
        standin,
        lambda r: r["query"].startswith("INSERT INTO analytics_internal.events") and r["executed"],
    )
    assert all(r["user"] == ADMIN_USER for r in inserts)
    assert all(r["password_sha256"] == sha256(ADMIN_PASSWORD) for r in inserts)
    assert all(r["settings"].get("async_insert") == "1" for r in inserts)
    assert all(r["settings"].get("wait_for_async_insert") == "1" for r in inserts)
    assert all(r["status"] == 200 and r["data_bytes"] for r in inserts)
    # The Native block the API sent is the row a real server would have stored.
    client = standin.admin_client()
    try:
        rows = client.query(
            "SELECT event_type, user_id, branch_id FROM analytics_internal.events"
            " WHERE project_id = {p:String}",
            parameters={"p": project.id},
        ).result_rows
    finally:
        client.close()
    assert ("$token-refresh", tokens["user_id"], "main") in rows


QUERY_ID = re.compile(
    r"(?P<project>[0-9a-f-]{36}):main:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
ADMIN_QUERY = "SELECT event_type, user_id FROM default.events WHERE user_id = {uid:String}"


def run_admin_query(api: ApiServer, project: Project, query: str, **body: Any) -> Any:
    with api.client() as http:
        return analytics_query(http, project, query, **body)


def test_admin_query_runs_as_limited_user_with_the_projects_settings(
    server_api: ApiServer, standin: StandIn, migrated_database: str
) -> None:
    project = create_project(migrated_database)
    with server_api.client() as http:
        user_id = sign_up(http, project)["user_id"]
    wait_for_event(standin, user_id)
    answer = run_admin_query(server_api, project, ADMIN_QUERY, params={"uid": user_id})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["result"]
    assert all(
        row == {"event_type": "$token-refresh", "user_id": user_id} for row in body["result"]
    )
    [sent] = [r for r in standin.records() if r["query"].startswith(ADMIN_QUERY)]
    # The admin's text unchanged; only the client's output format follows it.
    assert re.fullmatch(re.escape(ADMIN_QUERY) + r"\s*FORMAT \w+", sent["query"])
    assert sent["params"] == {"uid": user_id}
    assert sent["user"] == "limited_user"
    assert sent["password_sha256"] == sha256(EXTERNAL_PASSWORD)
    settings = sent["settings"]
    assert settings["SQL_project_id"] == project.id
    assert settings["SQL_branch_id"] == "main"
    assert settings["readonly"] == "1"
    assert settings["allow_ddl"] == "0"
    assert float(settings["max_execution_time"]) == 10
    assert settings["max_result_rows"] == "10000"
    assert settings["max_result_bytes"] == str(10 * 1024 * 1024)
    assert settings["result_overflow_mode"] == "throw"
    match = QUERY_ID.fullmatch(sent["query_id"])
    assert match is not None
    assert match.group("project") == project.id
    assert body["query_id"] == sent["query_id"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("SELECT 'a%' LIKE 'a%' AS x", 200),  # a `%` the client must not take for a format
        ("SELECT %(u)s AS u", 400),  # not a ClickHouse placeholder: sent as written, refused
    ],
)
def test_parameters_a_query_does_not_use_leave_its_text_alone(
    server_api: ApiServer, standin: StandIn, migrated_database: str, query: str, status: int
) -> None:
    project = create_project(migrated_database)
    answer = run_admin_query(server_api, project, query, params={"u": "1"})
    assert answer.status_code == status, answer.text
    [sent] = [r for r in standin.records() if r["settings"].get("SQL_project_id") == project.id]
    assert re.fullmatch(re.escape(query) + r"\s*FORMAT \w+", sent["query"])
    assert sent["params"] == {}


def test_a_clickhouse_error_is_a_sanitised_analytics_query_error(
    server_api: ApiServer, standin: StandIn, migrated_database: str
) -> None:
    project = create_project(migrated_database)
    answer = run_admin_query(server_api, project, "SELEC 1 FROM default.events")
    assert answer.status_code == 400, answer.text
    assert answer.headers["x-stack-known-error"] == "ANALYTICS_QUERY_ERROR"
    error = answer.json()["details"]["error"]
    assert "Syntax error" in error
    for leak in ("Received ClickHouse exception", "127.0.0.1", "for url", "version", "Code:"):
        assert leak not in error
    [sent] = [r for r in standin.records() if r["query"].startswith("SELEC 1 FROM")]
    assert sent["status"] == 400
    assert sent["error_code"] == "62"


def test_a_stopped_server_gives_analytics_query_error_and_sign_up_still_works(
    migrated_database: str, tmp_path: Path
) -> None:
    gone = start_standin(tmp_path)
    env = server_env(migrated_database, gone.url)
    extra = {k: v for k, v in env.items() if k.startswith("STACK_CLICKHOUSE_")}
    with running_api(migrated_database, **extra) as api:
        stop_process(gone.process)  # type: ignore[arg-type]
        project = create_project(migrated_database)
        with api.client() as http:
            sign_up(http, project)
        answer = run_admin_query(api, project, "SELECT 1")
    assert answer.status_code == 400, answer.text
    assert answer.headers["x-stack-known-error"] == "ANALYTICS_QUERY_ERROR"
    assert "127.0.0.1" not in answer.text
