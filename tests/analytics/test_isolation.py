"""Admin SQL cannot leave its project: each attack an admin of project A might try, through the
real endpoint and the real embedded engine, with project B's rows in the same store.

Every attempt must answer 200 with only A's rows or 400 ANALYTICS_QUERY_ERROR, never a 5xx,
never a row (or a value) of B, and never write anything.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.analytics.helpers import analytics_query, rows, wait_for_rows
from tests.api.helpers import assert_known_error, sign_up, unique_email
from tests.conftest import ApiServer
from tests.factories import Project, create_project

MARKER = "victim-marker"


@pytest.fixture(scope="module")
def two_projects(api: ApiServer, migrated_database: str) -> tuple[Project, Project, str]:
    """A (the attacker's project) and B (the victim) with events each; B's user's email and id
    hold a marker to look for in every answer A gets."""
    a = create_project(migrated_database)
    b = create_project(migrated_database)
    with api.client() as http:
        sign_up(http, a)
        victim = sign_up(http, b, email=unique_email(MARKER))
        wait_for_rows(http, b, "SELECT user_id FROM events WHERE event_type = '$token-refresh'", 1)
        wait_for_rows(http, a, "SELECT user_id FROM events WHERE event_type = '$token-refresh'", 1)
    return a, b, victim["user_id"]


def _events_of(http: httpx.Client, project: Project) -> int:
    return int(rows(http, project, "SELECT count() AS n FROM events")[0]["n"])


def _assert_confined(r: httpx.Response, b: Project, victim_id: str) -> dict[str, Any]:
    assert r.status_code in (200, 400), (r.status_code, r.text)
    if r.status_code == 400:
        assert_known_error(r, "ANALYTICS_QUERY_ERROR", 400)
    for secret in (b.id, victim_id, MARKER):
        assert secret not in r.text, r.text
    body: dict[str, Any] = r.json()
    return body


ATTACKS = {
    "internal table": "SELECT * FROM analytics_internal.events",
    "internal count": "SELECT count() AS n, groupArray(project_id) FROM analytics_internal.events",
    "internal ledger": "SELECT * FROM analytics_internal.schema_migrations",
    "settings clause": "SELECT * FROM events SETTINGS SQL_project_id = 'x', readonly = 0",
    "readonly 0": "SELECT * FROM events SETTINGS readonly = 0",
    "lift row cap": "SELECT * FROM events SETTINGS max_result_rows = 0",
    "set statement": "SET readonly = 0",
    "file": "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "file glob": "SELECT * FROM file('**', 'LineAsString')",
    "url": "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')",
    "s3": "SELECT * FROM s3('http://127.0.0.1:1/bucket/x.csv', 'CSV')",
    "remote": "SELECT * FROM remote('127.0.0.1', 'analytics_internal', 'events')",
    "merge": "SELECT project_id, user_id FROM merge('analytics_internal', '.*')",
    "merge default": "SELECT project_id, user_id FROM merge('default', '.*')",
    "cluster": "SELECT * FROM clusterAllReplicas('default', 'analytics_internal', 'events')",
    "executable": "SELECT * FROM executable('cat /etc/passwd', 'LineAsString', 'x String')",
    "query_log": "SELECT query FROM system.query_log",
    "processes": "SELECT query FROM system.processes",
    "system tables": "SELECT database, name, total_rows FROM system.tables",
    "system parts": "SELECT partition, rows, min_time, max_time FROM system.parts",
    "union": "SELECT user_id FROM events UNION ALL SELECT user_id FROM analytics_internal.events",
    "two statements": "SELECT 1; SELECT * FROM analytics_internal.events",
    "insert": "INSERT INTO events (event_type, event_at, data, project_id, branch_id)"
    " VALUES ('$x', now64(3), '{}', 'p', 'main')",
    "insert internal": "INSERT INTO analytics_internal.events (event_type, event_at, data,"
    " project_id, branch_id) VALUES ('$x', now64(3), '{}', 'p', 'main')",
    "create": "CREATE TABLE default.stolen ENGINE = Memory AS SELECT * FROM events",
    "drop": "DROP TABLE analytics_internal.events",
    "alter": "ALTER TABLE analytics_internal.events DELETE WHERE 1",
    "truncate": "TRUNCATE TABLE analytics_internal.events",
    "kill": "KILL QUERY WHERE 1",
    "system": "SYSTEM FLUSH LOGS",
    "attach": "ATTACH TABLE stolen FROM '/tmp' (x String) ENGINE = Memory",
    "dictionary": "SELECT * FROM dictionary('nope')",
    "getSetting": "SELECT getSetting('SQL_project_id') AS p",
}


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=list(ATTACKS))
def test_an_attack_returns_nothing_of_another_project_and_writes_nothing(
    http: httpx.Client, two_projects: tuple[Project, Project, str], attack: str
) -> None:
    a, b, victim_id = two_projects
    before = (_events_of(http, a), _events_of(http, b))
    body = _assert_confined(analytics_query(http, a, attack), b, victim_id)
    for row in body.get("result", []):
        assert row.get("project_id", a.id) == a.id, row
    assert (_events_of(http, a), _events_of(http, b)) == before


def test_the_views_hold_only_the_asking_projects_rows(
    http: httpx.Client, two_projects: tuple[Project, Project, str]
) -> None:
    a, b, victim_id = two_projects
    found = rows(http, a, "SELECT DISTINCT project_id, branch_id FROM events")
    assert found == [{"project_id": a.id, "branch_id": "main"}]
    theirs = rows(http, b, "SELECT DISTINCT user_id FROM events")
    assert theirs == [{"user_id": victim_id}]
    # Parameters are bound, not pasted: asking for B by id finds nothing.
    asked = rows(
        http, a, "SELECT count() AS n FROM events WHERE project_id = {p:String}", params={"p": b.id}
    )
    assert int(asked[0]["n"]) == 0


def test_a_runaway_query_is_stopped_by_its_timeout(
    http: httpx.Client, two_projects: tuple[Project, Project, str]
) -> None:
    a, b, victim_id = two_projects
    started = time.monotonic()
    r = analytics_query(http, a, "SELECT count() FROM numbers(10000000000000)", timeout_ms=1000)
    assert time.monotonic() - started < 15
    body = _assert_confined(r, b, victim_id)
    assert r.status_code == 400, body


@pytest.mark.parametrize(
    "query",
    [
        "SELECT number FROM numbers(1000000)",
        "SELECT repeat('x', 1000000) AS big FROM numbers(50)",
    ],
    ids=["rows", "bytes"],
)
def test_a_huge_result_is_refused_not_sent(
    http: httpx.Client, two_projects: tuple[Project, Project, str], query: str
) -> None:
    a, b, victim_id = two_projects
    r = analytics_query(http, a, query)
    _assert_confined(r, b, victim_id)
    assert r.status_code == 400
    assert len(r.content) < 10_000
