"""The sync engine under faults: a target that is down or gone, a private target refused, and the
worker SIGKILLed in the middle of a large copy."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg import sql

from authstack_core.jobs import SYNC_TENANCY, JobQueue
from authstack_core.models.external_db_sync import MAPPING_NAMES
from tests.api.helpers import create_user
from tests.conftest import Project
from tests.factories import ADMIN_URL, database_url_named, free_port, query_rows
from tests.mail import start_worker
from tests.mail_fixtures import delete_namespace
from tests.sync.engine_support import Engine, add_target, ids, progress, status, table_names

USERS = 5000
BATCH = 50


@pytest.fixture
def engine(migrated_database: str) -> Engine:
    return Engine(migrated_database)


def _create_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def target_name() -> Iterator[str]:
    name = f"authstack_sync_fault_{secrets.token_hex(4)}"
    _create_database(name)
    try:
        yield name
    finally:
        _drop_database(name)


def test_a_target_that_is_down_shows_its_error_and_a_later_run_catches_up(
    http: httpx.Client, project: Project, engine: Engine, migrated_database: str
) -> None:
    port = free_port()  # nothing listens there
    add_target(http, project, "down", f"postgresql://app:Pw-down-771@127.0.0.1:{port}/nowhere")
    first = create_user(http, project)
    failure = engine.sync_failing(project)
    assert set(failure.report.failed) == {"down"}
    recorded = status(migrated_database, project)
    assert set(recorded) == {("down", m) for m in MAPPING_NAMES}
    for last, error in recorded.values():
        assert last is None
        assert "Connection refused" in error or "connection failed" in error, error
        assert "Pw-down-771" not in error
    # The operator points the target at a database that answers: the next run copies everything.
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        name = f"authstack_sync_up_{secrets.token_hex(4)}"
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        add_target(http, project, "down", database_url_named(name))
        second = create_user(http, project)
        report = engine.sync(project)
        assert ids(database_url_named(name), "users") == {first["id"], second["id"]}
        assert all(v == (report.upto, None) for v in status(migrated_database, project).values())
    finally:
        _drop_database(name)


def test_a_target_dropped_and_recreated_is_filled_again(
    http: httpx.Client, project: Project, engine: Engine, migrated_database: str, target_name: str
) -> None:
    url = database_url_named(target_name)
    add_target(http, project, "flaky", url)
    users = {create_user(http, project)["id"] for _ in range(3)}
    engine.sync(project)
    assert ids(url, "users") == users
    _drop_database(target_name)
    users.add(create_user(http, project)["id"])
    failure = engine.sync_failing(project)
    error = failure.report.failed["flaky"]
    assert "does not exist" in error, error
    assert status(migrated_database, project)[("flaky", "users")][1] == error
    _create_database(target_name)  # back, empty: its own metadata says it holds nothing
    report = engine.sync(project)
    assert ids(url, "users") == users
    assert progress(url)["users"] == report.upto
    assert status(migrated_database, project)[("flaky", "users")] == (report.upto, None)


def test_a_private_target_is_refused_unless_private_networks_are_allowed(
    http: httpx.Client, project: Project, migrated_database: str, target_name: str
) -> None:
    url = database_url_named(target_name)
    add_target(http, project, "inside", url)
    create_user(http, project)
    strict = Engine(migrated_database, allow_private=False)
    failure = strict.sync_failing(project)
    assert "loopback" in failure.report.failed["inside"]
    assert "STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS" in failure.report.failed["inside"]
    assert table_names(url) == set()  # never connected


def test_a_worker_killed_mid_copy_converges_with_every_row_exactly_once(
    http: httpx.Client,
    project: Project,
    engine: Engine,
    migrated_database: str,
    target_name: str,
    session_redis: str,
) -> None:
    url = database_url_named(target_name)
    add_target(http, project, "bulk", url)
    with psycopg.connect(migrated_database) as conn:
        conn.execute(
            "INSERT INTO users (tenancy_id, id, display_name)"
            " SELECT %s, gen_random_uuid(), 'bulk ' || g FROM generate_series(1, %s) g",
            (project.tenancy_id, USERS),
        )
    engine.sequence()
    namespace = f"sync_kill_{secrets.token_hex(4)}"
    env = {
        "STACK_QUEUE_NAMESPACE": namespace,
        "STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
        "STACK_EXTERNAL_DB_SYNC_BATCH_SIZE": str(BATCH),
    }
    queue = JobQueue.from_settings(
        engine.settings.model_copy(update={"queue_namespace": namespace})
    )
    worker = start_worker(migrated_database, None, **env)
    try:
        queue.send_now(SYNC_TENANCY, project.tenancy_id)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = (
                progress(url).get("users", 0) if "_stack_sync_metadata" in table_names(url) else 0
            )
            if done > 0:
                break
            time.sleep(0.02)
        worker.kill()
        copied = len(ids(url, "users"))
        assert 0 < copied < USERS, "the kill should land in the middle of the copy"
        # What the target holds is exactly what its progress row says: batches are whole.
        last = progress(url)["users"]
        numbered = query_rows(
            migrated_database,
            "SELECT count(*) FROM users WHERE tenancy_id = %s AND sync_sequence_id <= %s",
            (project.tenancy_id, last),
        )
        assert numbered == [(copied,)]

        worker = start_worker(migrated_database, None, **env)
        queue.send_now(SYNC_TENANCY, project.tenancy_id)  # what the next poller run sends
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(ids(url, "users")) < USERS:
            time.sleep(0.2)
        source = query_rows(
            migrated_database,
            "SELECT id::text FROM users WHERE tenancy_id = %s",
            (project.tenancy_id,),
        )
        target_ids = [str(r[0]) for r in query_rows(url, "SELECT id FROM users")]
        assert len(target_ids) == len(set(target_ids)) == USERS
        assert set(target_ids) == {r[0] for r in source}
    finally:
        worker.stop()
        queue.close()
        delete_namespace(session_redis, namespace)
