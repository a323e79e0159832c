"""The sequencer and the poller through the cron's endpoints: numbering, one request per tenancy
with a target, concurrency, the fusebox, claims, maxDurationMs."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import create_project, migrated_clickhouse, running_api
from tests.factories import query_rows, query_value
from tests.sync.conftest import SyncStack
from tests.sync.support import (
    CRON,
    SYNC,
    TARGET,
    pending_request,
    poll,
    queued_tenancies,
    requests,
    sequence,
    set_fusebox,
    with_target,
)

SOURCE_TABLES = (
    "users", "contact_channels", "teams", "team_members", "team_member_permissions",
    "verification_codes", "email_outbox", "project_user_permissions", "refresh_tokens",
    "oauth_accounts", "sync_tombstones",
)  # fmt: skip


def add_users(database_url: str, tenancy_id: str, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO users (tenancy_id, id) SELECT %s, unnest(%s::uuid[])", (tenancy_id, ids)
        )
    return ids


def unnumbered_users(database_url: str, tenancy_id: str) -> int:
    count: int = query_value(
        database_url,
        "SELECT count(*) FROM users WHERE tenancy_id = %s AND sync_sequence_id IS NULL",
        (tenancy_id,),
    )
    return count


@pytest.fixture
def fusebox_restored(sync_http: httpx.Client) -> Iterator[None]:
    yield
    set_fusebox(sync_http, sequencer_enabled=True, poller_enabled=True)


def test_one_deduplicated_request_per_tenancy_with_a_target(
    sync_db: str, sync_http: httpx.Client
) -> None:
    targeted, plain = with_target(sync_db), create_project(sync_db)
    for project in (targeted, plain):
        add_users(sync_db, project.tenancy_id, 5)
    sequence(sync_http)
    assert pending_request(sync_db, targeted.tenancy_id)
    assert not pending_request(sync_db, plain.tenancy_id)  # no target: nothing to sync to
    assert unnumbered_users(sync_db, plain.tenancy_id) == 0  # numbered all the same
    add_users(sync_db, targeted.tenancy_id, 3)
    sequence(sync_http)
    assert requests(sync_db, targeted.tenancy_id) == [None]  # still one, not claimed


def test_later_changes_get_higher_ids(sync_db: str, sync_http: httpx.Client) -> None:
    project = with_target(sync_db)
    first = add_users(sync_db, project.tenancy_id, 3)
    sequence(sync_http)
    second = add_users(sync_db, project.tenancy_id, 3)
    sequence(sync_http)
    ids = dict(
        query_rows(
            sync_db,
            "SELECT id::text, sync_sequence_id FROM users WHERE tenancy_id = %s",
            (project.tenancy_id,),
        )
    )
    assert max(ids[u] for u in first) < min(ids[u] for u in second)


def test_concurrent_sequencers_never_share_an_id_nor_leave_a_committed_row_unnumbered(
    sync_db: str, sync_stack: SyncStack
) -> None:
    project = with_target(sync_db)
    stop = threading.Event()
    errors: list[BaseException] = []
    iterations: list[int] = []

    def write() -> None:
        try:
            while not stop.is_set():
                ids = add_users(sync_db, project.tenancy_id, 20)
                with psycopg.connect(sync_db) as conn:
                    conn.execute(
                        "UPDATE users SET display_name = 'again' WHERE tenancy_id = %s"
                        " AND id = ANY (%s::uuid[])",
                        (project.tenancy_id, ids[:10]),
                    )
                    conn.execute(
                        "DELETE FROM users WHERE tenancy_id = %s AND id = ANY (%s::uuid[])",
                        (project.tenancy_id, ids[10:15]),
                    )
        except BaseException as exc:
            errors.append(exc)

    def run_sequencer() -> None:
        try:
            with sync_stack.api.client() as http:
                while not stop.is_set():
                    iterations.append(sequence(http))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(2)]
    threads += [threading.Thread(target=run_sequencer) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(4)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert 0 in iterations  # sequencers did meet, and one gave way
    with httpx.Client(base_url=sync_stack.api.url) as http:
        sequence(http)
    union = " UNION ALL ".join(
        f"SELECT sync_sequence_id FROM {table} WHERE sync_sequence_id IS NOT NULL"
        for table in SOURCE_TABLES
    )
    duplicates = query_rows(
        sync_db,
        f"SELECT s FROM ({union}) AS n(s) GROUP BY s HAVING count(*) > 1",
    )
    assert duplicates == []
    assert unnumbered_users(sync_db, project.tenancy_id) == 0
    left = "SELECT count(*) FROM sync_tombstones WHERE tenancy_id = %s AND sync_sequence_id IS NULL"
    assert query_value(sync_db, left, (project.tenancy_id,)) == 0


def test_the_fusebox_pauses_and_resumes_both(
    sync_db: str, sync_http: httpx.Client, sync_stack: SyncStack, fusebox_restored: None
) -> None:
    project = with_target(sync_db)
    add_users(sync_db, project.tenancy_id, 2)
    body = set_fusebox(sync_http, sequencer_enabled=False)
    assert (body["sequencer_enabled"], body["poller_enabled"]) == (False, True)
    assert sequence(sync_http) == 0
    assert unnumbered_users(sync_db, project.tenancy_id) == 2
    set_fusebox(sync_http, sequencer_enabled=True, poller_enabled=False)
    assert sequence(sync_http) >= 1
    assert unnumbered_users(sync_db, project.tenancy_id) == 0
    assert poll(sync_http) == 0
    assert pending_request(sync_db, project.tenancy_id)
    r = sync_http.get(f"{SYNC}/fusebox", headers=CRON)
    assert r.json()["poller_enabled"] is False
    set_fusebox(sync_http, poller_enabled=True)
    assert poll(sync_http) >= 1
    assert not pending_request(sync_db, project.tenancy_id)
    assert queued_tenancies(sync_stack.namespace).count(project.tenancy_id) == 1


def _claim(database_url: str, tenancy_id: str, age: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO external_db_sync_requests (tenancy_id, claimed_at)"
            " VALUES (%s, now() - %s::interval)",
            (tenancy_id, age),
        )


def test_the_poller_sends_exactly_one_message_per_request(
    sync_db: str, sync_http: httpx.Client, sync_stack: SyncStack
) -> None:
    projects = [with_target(sync_db) for _ in range(3)]
    for project in projects:
        add_users(sync_db, project.tenancy_id, 2)
    sequence(sync_http)
    assert poll(sync_http) >= 3
    poll(sync_http)  # nothing left for these: no second message
    queued = queued_tenancies(sync_stack.namespace)
    for project in projects:
        assert queued.count(project.tenancy_id) == 1
        assert not pending_request(sync_db, project.tenancy_id)


def test_a_stale_claim_is_taken_again_and_a_fresh_one_is_not(
    sync_db: str, sync_http: httpx.Client, sync_stack: SyncStack
) -> None:
    stale, fresh = with_target(sync_db), with_target(sync_db)
    _claim(sync_db, stale.tenancy_id, "6 minutes")  # its poller died after claiming
    _claim(sync_db, fresh.tenancy_id, "1 minute")  # another poller is sending it
    poll(sync_http)
    queued = queued_tenancies(sync_stack.namespace)
    assert queued.count(stale.tenancy_id) == 1
    assert not pending_request(sync_db, stale.tenancy_id)
    assert queued.count(fresh.tenancy_id) == 0
    assert pending_request(sync_db, fresh.tenancy_id)


def test_a_change_numbered_while_a_request_is_claimed_arms_it_again(
    sync_db: str, sync_http: httpx.Client, sync_stack: SyncStack
) -> None:
    """The claiming poller may have sent its message before the change was numbered: the
    request must not be lost when that poller deletes its claim."""
    project = with_target(sync_db)
    _claim(sync_db, project.tenancy_id, "1 minute")
    add_users(sync_db, project.tenancy_id, 1)
    sequence(sync_http)
    assert requests(sync_db, project.tenancy_id) == [None]
    poll(sync_http)
    assert queued_tenancies(sync_stack.namespace).count(project.tenancy_id) == 1


def test_max_duration_bounds_each_call(sync_db: str, sync_http: httpx.Client) -> None:
    project = with_target(sync_db)
    add_users(sync_db, project.tenancy_id, 1500)  # more than one pass numbers (1000 per table)
    assert sequence(sync_http, maxDurationMs=0) == 1
    assert 500 <= unnumbered_users(sync_db, project.tenancy_id) < 1500
    sequence(sync_http)
    assert unnumbered_users(sync_db, project.tenancy_id) == 0
    with psycopg.connect(sync_db) as conn:  # more requests than one poll claims (100)
        conn.execute(
            "INSERT INTO external_db_sync_requests (tenancy_id)"
            " SELECT gen_random_uuid() FROM generate_series(1, 150)"
        )
    assert poll(sync_http, maxDurationMs=0) == 100
    assert poll(sync_http) >= 50
    started = time.monotonic()
    sequence(sync_http, maxDurationMs=60_000)  # returns when a pass numbers nothing
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("value", ["-1", "soon", "1.5"])
def test_a_malformed_max_duration_is_a_schema_error(sync_http: httpx.Client, value: str) -> None:
    for step in ("sequencer", "poller"):
        r = sync_http.get(f"{SYNC}/{step}", headers=CRON, params={"maxDurationMs": value})
        assert r.status_code == 400, r.text
        assert r.headers["x-stack-known-error"] == "SCHEMA_ERROR"


def test_with_clickhouse_every_changed_tenancy_gets_a_request(sync_db: str, tmp_path: Path) -> None:
    """ClickHouse holds every project's sync tables: no target in the config is needed."""
    store = migrated_clickhouse(tmp_path / "store", sync_db)
    plain = create_project(sync_db)
    add_users(sync_db, plain.tenancy_id, 2)
    with running_api(sync_db, STACK_CLICKHOUSE_URL=store) as api, api.client() as http:
        sequence(http)
        assert pending_request(sync_db, plain.tenancy_id)
        r = http.get(f"{SYNC}/status", headers=plain.headers("admin"))
        assert r.status_code == 200, r.text
        (target,) = r.json()["targets"]
        assert (target["id"], target["type"]) == (None, "clickhouse")
        assert target["mappings"][0]["lag"] == 2


def test_a_target_that_failed_is_asked_for_again_a_minute_later(
    sync_db: str, sync_http: httpx.Client
) -> None:
    """Once the worker's retries are spent nothing else would sync a failed target again until
    the project changes: the sequencer asks again for it a minute after its last failure."""
    project = with_target(sync_db)
    with psycopg.connect(sync_db) as conn:
        conn.execute(
            "INSERT INTO external_db_sync_status (tenancy_id, target_id, mapping, last_error,"
            " last_error_at, updated_at) VALUES (%s, 'main', 'users', 'connection refused',"
            " now() - interval '30 seconds', now())",
            (project.tenancy_id,),
        )
    sequence(sync_http)
    assert not pending_request(sync_db, project.tenancy_id)  # too recent
    with psycopg.connect(sync_db) as conn:
        conn.execute(
            "UPDATE external_db_sync_status SET last_error_at = now() - interval '2 minutes'"
            " WHERE tenancy_id = %s",
            (project.tenancy_id,),
        )
    sequence(sync_http)
    assert requests(sync_db, project.tenancy_id) == [None]
    with psycopg.connect(sync_db) as conn:
        conn.execute(
            "UPDATE external_db_sync_status SET last_error = NULL, last_error_at = NULL"
            " WHERE tenancy_id = %s",
            (project.tenancy_id,),
        )
        conn.execute(
            "DELETE FROM external_db_sync_requests WHERE tenancy_id = %s", (project.tenancy_id,)
        )
    sequence(sync_http)
    assert not pending_request(sync_db, project.tenancy_id)  # healthy again: nothing to retry


def test_a_target_added_to_a_quiet_project_is_asked_for_at_once(
    sync_db: str, sync_http: httpx.Client
) -> None:
    """All rows numbered, nothing changing: a newly named external database still gets its
    first sync (it would otherwise wait for the project's next change)."""
    project = create_project(sync_db)
    add_users(sync_db, project.tenancy_id, 3)
    sequence(sync_http)
    assert unnumbered_users(sync_db, project.tenancy_id) == 0
    assert not pending_request(sync_db, project.tenancy_id)
    with psycopg.connect(sync_db) as conn:
        conn.execute(
            "UPDATE tenancies SET environment_config_override ="
            " environment_config_override || %s::jsonb WHERE id = %s",
            (json.dumps(TARGET), project.tenancy_id),
        )
    sequence(sync_http)
    assert requests(sync_db, project.tenancy_id) == [None]
    # Once the engine has run for it (a status row), it is asked for on changes only.
    with psycopg.connect(sync_db) as conn:
        conn.execute(
            "INSERT INTO external_db_sync_status (tenancy_id, target_id, mapping,"
            " last_synced_sequence_id, updated_at) VALUES (%s, 'main', 'users', 0, now())",
            (project.tenancy_id,),
        )
        conn.execute(
            "DELETE FROM external_db_sync_requests WHERE tenancy_id = %s", (project.tenancy_id,)
        )
    sequence(sync_http)
    assert not pending_request(sync_db, project.tenancy_id)


def test_concurrent_pollers_send_each_request_once(
    sync_db: str, sync_http: httpx.Client, sync_stack: SyncStack
) -> None:
    """Two pollers (the cron of two replicas, or a slow call overlapping the next tick) claim
    with SKIP LOCKED: every request is handed over exactly once between them."""
    projects = [with_target(sync_db) for _ in range(30)]
    for project in projects:
        add_users(sync_db, project.tenancy_id, 1)
    sequence(sync_http)
    processed: list[int] = []
    start = threading.Barrier(2)

    def poller() -> None:
        with httpx.Client(base_url=str(sync_http.base_url), timeout=60) as http:
            start.wait()
            for _ in range(3):
                processed.append(poll(http))

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queued = queued_tenancies(sync_stack.namespace)
    for project in projects:
        assert queued.count(project.tenancy_id) == 1, project.tenancy_id
        assert not pending_request(sync_db, project.tenancy_id)
    assert sum(processed) >= len(projects)
