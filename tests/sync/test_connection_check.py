"""POST /internal/external-db-sync/test-connection: the engine's own rules and guard, a real
connection, and answers that never show the password."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from tests.conftest import ApiServer, Project, create_project, running_api
from tests.factories import ADMIN_URL, free_port, fresh_database
from tests.mail_fixtures import delete_namespace
from tests.sync.conftest import SyncStack
from tests.sync.engine_support import add_target
from tests.sync.password_server import password_server
from tests.sync.support import SYNC

TEST = f"{SYNC}/test-connection"
PASSWORD = "Pw-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def open_api(sync_stack: SyncStack, session_redis: str) -> Iterator[ApiServer]:
    """An API of the sync database that may reach private networks (as ``make dev``)."""
    namespace = f"sync_check_{secrets.token_hex(4)}"
    env = {"STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true", "STACK_QUEUE_NAMESPACE": namespace}
    try:
        with running_api(sync_stack.database_url, **env) as api:
            yield api
    finally:
        delete_namespace(session_redis, namespace)


@pytest.fixture
def http(open_api: ApiServer) -> Iterator[httpx.Client]:
    with open_api.client() as client:
        yield client


@pytest.fixture
def target_url() -> Iterator[str]:
    with fresh_database("ext_check") as url:
        yield url


def _with_password(url: str, password: str = PASSWORD) -> str:
    """``url`` (postgresql://user@host:port/db) with ``password`` added."""
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{password}@{host}"


def _check(http: httpx.Client, project: Project, **body: Any) -> dict[str, Any]:
    r = http.post(TEST, headers=project.headers("admin"), json=body)
    assert r.status_code == 200, r.text
    assert PASSWORD not in r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_a_reachable_database_passes_by_string_and_by_configured_id(
    http: httpx.Client, sync_db: str, target_url: str
) -> None:
    project = create_project(sync_db)
    # The machine's PostgreSQL trusts loopback: the password is sent and not needed.
    url = _with_password(target_url)
    assert _check(http, project, connection_string=url) == {"ok": True}
    add_target(http, project, "warehouse", url)
    assert _check(http, project, id="warehouse") == {"ok": True}


def test_a_wrong_password_fails_without_showing_it(http: httpx.Client, sync_db: str) -> None:
    project = create_project(sync_db)
    with password_server() as server:
        url = f"postgresql://reader:{PASSWORD}@127.0.0.1:{server.port}/analytics?sslmode=disable"
        answer = _check(http, project, connection_string=url)
        assert answer["ok"] is False
        assert 'password authentication failed for user "reader"' in answer["error"]
        add_target(http, project, "guarded", url)  # stored sealed, tested from the store
        again = _check(http, project, id="guarded")
        assert again["ok"] is False
        assert "password authentication failed" in again["error"]
        assert server.received == [PASSWORD, PASSWORD]  # it was really sent, twice


def test_a_closed_port_fails_with_a_readable_error(http: httpx.Client, sync_db: str) -> None:
    project = create_project(sync_db)
    url = f"postgresql://sync:{PASSWORD}@127.0.0.1:{free_port()}/none"
    answer = _check(http, project, connection_string=url)
    assert answer["ok"] is False
    assert "refused" in answer["error"].lower(), answer


def test_a_user_that_may_not_create_tables_fails(
    http: httpx.Client, sync_db: str, target_url: str
) -> None:
    """PostgreSQL 15+ no longer lets every role create tables in ``public``."""
    project = create_project(sync_db)
    role = f"nocreate_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        with psycopg.connect(target_url, autocommit=True) as conn:
            conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        url = target_url.replace("://postgres@", f"://{role}:{PASSWORD}@", 1)
        assert role in url
        answer = _check(http, project, connection_string=url)
        assert answer["ok"] is False
        assert f"the user {role} may not create tables in the schema public" in answer["error"]
    finally:
        with psycopg.connect(target_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_options_the_engine_refuses_are_refused_before_connecting(
    http: httpx.Client, sync_db: str
) -> None:
    project = create_project(sync_db)
    for url, expected in (
        ("postgresql://u@127.0.0.1/db?passfile=/etc/passwd", "may not set: passfile"),
        ("postgresql://u@127.0.0.1/db?sslkey=/etc/key", "may not set: sslkey"),
        ("postgresql://u@%2Ftmp/db", "one host"),
        ("not a url at all = =", "not a valid PostgreSQL URL"),
    ):
        answer = _check(http, project, connection_string=url)
        assert answer["ok"] is False
        assert expected in answer["error"], answer


def test_a_private_host_is_refused_unless_private_networks_are_allowed(
    sync_http: httpx.Client, sync_db: str, target_url: str
) -> None:
    project = create_project(sync_db)
    for url in (_with_password(target_url), f"postgresql://u:{PASSWORD}@10.1.2.3:5432/db"):
        answer = _check(sync_http, project, connection_string=url)
        assert answer["ok"] is False
        assert "STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS" in answer["error"], answer


def test_another_projects_target_is_not_found_and_its_keys_do_not_open_it(
    http: httpx.Client, sync_db: str, target_url: str
) -> None:
    a, b = create_project(sync_db), create_project(sync_db)
    add_target(http, b, "b_only", _with_password(target_url))
    r = http.post(TEST, headers=a.headers("admin"), json={"id": "b_only"})
    assert r.status_code == 404, r.text
    assert r.text == "External database 'b_only' not found."
    headers = {**a.headers("admin"), "x-stack-project-id": b.id}
    r = http.post(TEST, headers=headers, json={"id": "b_only"})
    assert r.status_code == 401, r.text
    assert r.headers["x-stack-known-error"] == "INVALID_SUPER_SECRET_ADMIN_KEY"
    r = http.post(TEST, headers=b.headers("server"), json={"id": "b_only"})
    assert r.status_code == 401, r.text


def test_the_body_names_a_string_or_an_id(http: httpx.Client, sync_db: str) -> None:
    project = create_project(sync_db)
    for body in ({}, {"id": "x", "connection_string": "postgresql://u@h/d"}, {"other": 1}):
        r = http.post(TEST, headers=project.headers("admin"), json=body)
        assert r.status_code == 400, r.text
        assert r.headers["x-stack-known-error"] == "SCHEMA_ERROR"


def test_tests_are_rate_limited_per_project(http: httpx.Client, sync_db: str) -> None:
    project, other = create_project(sync_db), create_project(sync_db)
    body = {"connection_string": "postgresql://u@127.0.0.1/db?passfile=/x"}
    codes = [
        http.post(TEST, headers=project.headers("admin"), json=body).status_code for _ in range(15)
    ]
    assert codes[:10] == [200] * 10
    assert 429 in codes[10:]
    r = http.post(TEST, headers=other.headers("admin"), json=body)
    assert r.status_code == 200, r.text
