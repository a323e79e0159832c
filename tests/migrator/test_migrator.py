"""The migrator on brand-new databases: idempotence, edit detection, locking, and the seed."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from authstack_core.crypto.passwords import verify_password_sync
from authstack_core.settings import Settings
from authstack_migrator.runner import (
    ACCEPTED_REWRITES,
    Migration,
    MigrationError,
    MigrationTimeoutError,
    Options,
    load_migrations,
    migrate,
    split_statements,
)
from authstack_migrator.seed import seed
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, INTERNAL_KEYS, settings_env
from tests.factories import fresh_database

# The ids contract §9 fixes for the seeded rows, written out on purpose: this is the test that
# holds the seed to them (everything else imports the seed's constants).
INTERNAL_TEAM_ID = "a23e1b7f-ab18-41fc-9ee6-7a9ca9fa543c"
KEY_SET_ID = "3142e763-b230-44b5-8636-aa62f7489c26"
ADMIN_USER_ID = "33e7c043-d2d1-4187-acd3-f91b5ed64b46"


@pytest.fixture
def fresh_db() -> Iterator[str]:
    """A brand-new empty database with a random name, dropped afterwards."""
    with fresh_database("authstack_migrator_test") as url:
        yield url


def _settings(url: str, **extra: str) -> Settings:
    return Settings(**settings_env(url, **extra))  # type: ignore[arg-type]


def _ledger(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
        ).fetchall()


def _row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        counts = {}
        for table in tables:
            row = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()
            assert row is not None
            counts[table] = row[0]
        return counts


def _one(url: str, query: str, *params: Any) -> Any:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()  # type: ignore[arg-type]


# --- migrations ---------------------------------------------------------------------------------


def test_second_migrate_applies_nothing_and_leaves_the_ledger_alone(fresh_db: str) -> None:
    shipped = load_migrations()
    assert shipped, "the package ships at least one migration"
    first = migrate(fresh_db)
    assert [m.version for m in first] == [m.version for m in shipped]
    ledger = _ledger(fresh_db)
    assert [(v, n, c) for v, n, c, _ in ledger] == [
        (m.version, m.name, m.checksum) for m in shipped
    ]
    assert migrate(fresh_db) == []
    assert _ledger(fresh_db) == ledger


def test_migration_versions_are_contiguous_from_one() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_edited_applied_migration_is_refused(fresh_db: str) -> None:
    migrate(fresh_db)
    edited = [
        Migration(m.version, m.name, m.sql + "\n-- a harmless-looking edit\n")
        for m in load_migrations()
    ]
    before = _ledger(fresh_db)
    with pytest.raises(MigrationError, match="edited"):
        migrate(fresh_db, edited)
    assert _ledger(fresh_db) == before


def test_database_from_a_newer_release_is_refused(fresh_db: str) -> None:
    migrate(fresh_db)
    with pytest.raises(MigrationError, match="newer"):
        migrate(fresh_db, load_migrations()[:-1] if len(load_migrations()) > 1 else [])


def test_new_migration_is_applied_on_top(fresh_db: str) -> None:
    migrate(fresh_db)
    extra = Migration(9000, "add_probe", "CREATE TABLE probe_table (id integer PRIMARY KEY);")
    applied = migrate(fresh_db, [*load_migrations(), extra])
    assert applied == [extra]
    assert _one(fresh_db, "SELECT to_regclass('public.probe_table') IS NOT NULL") == (True,)
    assert migrate(fresh_db, [*load_migrations(), extra]) == []


def test_failing_migration_is_rolled_back_entirely(fresh_db: str) -> None:
    migrate(fresh_db)
    broken = Migration(9001, "broken", "CREATE TABLE half_done (id integer); SELECT 1 / 0;")
    with pytest.raises(psycopg.errors.DivisionByZero):
        migrate(fresh_db, [*load_migrations(), broken])
    assert _one(fresh_db, "SELECT to_regclass('public.half_done') IS NULL") == (True,)
    assert [row[0] for row in _ledger(fresh_db)] == [m.version for m in load_migrations()]
    # The lock was released: a later run works.
    assert migrate(fresh_db) == []


def test_concurrent_migrators_both_succeed_and_apply_once(fresh_db: str) -> None:
    barrier = threading.Barrier(3)
    results: list[list[Migration]] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(migrate(fresh_db))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(results) == 3
    shipped = [m.version for m in load_migrations()]
    assert sorted(len(r) for r in results) == [0, 0, len(shipped)]
    assert [row[0] for row in _ledger(fresh_db)] == shipped


# --- seed ---------------------------------------------------------------------------------------


def test_seed_twice_leaves_row_counts_unchanged(fresh_db: str) -> None:
    migrate(fresh_db)
    settings = _settings(fresh_db)
    seed(settings)
    counts = _row_counts(fresh_db)
    assert counts["projects"] == 1
    assert counts["users"] == 1
    seed(settings)
    assert _row_counts(fresh_db) == counts


def test_seed_creates_internal_project_owner_team_and_key_set(fresh_db: str) -> None:
    migrate(fresh_db)
    seed(_settings(fresh_db))
    project = _one(
        fresh_db, "SELECT display_name, owner_team_id::text FROM projects WHERE id = 'internal'"
    )
    assert project == ("Stack Dashboard", INTERNAL_TEAM_ID)
    team = _one(
        fresh_db,
        "SELECT t.display_name FROM teams t JOIN tenancies n ON n.id = t.tenancy_id "
        "WHERE n.project_id = 'internal' AND t.id = %s",
        INTERNAL_TEAM_ID,
    )
    assert team == ("Internal Team",)
    keys = _one(
        fresh_db,
        "SELECT publishable_client_key_hash, secret_server_key_hash, super_secret_admin_key_hash, "
        "expires_at > '2099-01-01' FROM api_key_sets WHERE project_id = 'internal' AND id = %s",
        KEY_SET_ID,
    )
    assert keys is not None
    assert (
        bytes(keys[0]) == hashlib.sha256(INTERNAL_KEYS["publishable_client_key"].encode()).digest()
    )
    assert bytes(keys[1]) == hashlib.sha256(INTERNAL_KEYS["secret_server_key"].encode()).digest()
    assert (
        bytes(keys[2]) == hashlib.sha256(INTERNAL_KEYS["super_secret_admin_key"].encode()).digest()
    )
    assert keys[3] is True


def test_seed_stores_no_plaintext_key(fresh_db: str) -> None:
    migrate(fresh_db)
    seed(_settings(fresh_db))
    with psycopg.connect(fresh_db) as conn:
        dumped = [r[0] for r in conn.execute("SELECT k::text FROM api_key_sets k")]
    assert len(dumped) == 1
    for key in INTERNAL_KEYS.values():
        assert key not in dumped[0]
        assert key.encode().hex() not in dumped[0]


def test_seed_creates_admin_user_with_internal_access(fresh_db: str) -> None:
    migrate(fresh_db)
    seed(_settings(fresh_db))
    email = _one(
        fresh_db,
        "SELECT value, is_verified, used_for_auth FROM contact_channels WHERE user_id = %s",
        ADMIN_USER_ID,
    )
    assert email == (ADMIN_EMAIL, True, True)
    stored = _one(
        fresh_db,
        "SELECT password_hash FROM password_auth_methods WHERE user_id = %s",
        ADMIN_USER_ID,
    )
    assert stored is not None
    assert verify_password_sync(ADMIN_PASSWORD, stored[0])
    assert stored[0].startswith("$bcrypt-sha256$v=2,t=2b,r=10$")
    membership = _one(
        fresh_db,
        "SELECT p.permission_id FROM team_member_permissions p "
        "WHERE p.team_id = %s AND p.user_id = %s",
        INTERNAL_TEAM_ID,
        ADMIN_USER_ID,
    )
    assert membership == ("team_admin",)


def test_seed_without_internal_access_adds_no_membership(fresh_db: str) -> None:
    migrate(fresh_db)
    seed(_settings(fresh_db, STACK_SEED_INTERNAL_PROJECT_USER_INTERNAL_ACCESS="false"))
    assert _one(fresh_db, "SELECT count(*) FROM users WHERE id = %s", ADMIN_USER_ID) == (1,)
    assert _one(fresh_db, "SELECT count(*) FROM team_members") == (0,)


def test_seed_without_admin_credentials_creates_no_user(fresh_db: str) -> None:
    migrate(fresh_db)
    env = settings_env(fresh_db)
    del env["STACK_SEED_INTERNAL_PROJECT_USER_EMAIL"]
    del env["STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD"]
    seed(Settings(**env))  # type: ignore[arg-type]
    assert _one(fresh_db, "SELECT count(*) FROM users") == (0,)
    assert _one(fresh_db, "SELECT count(*) FROM projects WHERE id = 'internal'") == (1,)


def test_reseeding_with_a_rotated_key_replaces_the_old_one(fresh_db: str) -> None:
    migrate(fresh_db)
    seed(_settings(fresh_db))
    rotated = "ssk_rotated_secret_server_key_abcdefghijklmnop"
    seed(_settings(fresh_db, STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY=rotated))
    row = _one(
        fresh_db, "SELECT secret_server_key_hash FROM api_key_sets WHERE id = %s", KEY_SET_ID
    )
    assert bytes(row[0]) == hashlib.sha256(rotated.encode()).digest()
    assert _one(fresh_db, "SELECT count(*) FROM api_key_sets") == (1,)


def test_seed_dummy_project_only_when_enabled(fresh_db: str) -> None:
    migrate(fresh_db)
    seed(_settings(fresh_db))
    dummy = "SELECT count(*) FROM projects WHERE id = '6fbbf22e-f4b2-4c6e-95a1-beab6fa41063'"
    assert _one(fresh_db, dummy) == (0,)
    seed(_settings(fresh_db, STACK_SEED_ENABLE_DUMMY_PROJECT="true"))
    assert _one(fresh_db, dummy) == (1,)


# --- the command line ---------------------------------------------------------------------------


def test_command_line_migrates_and_seeds(fresh_db: str) -> None:
    env = {**settings_env(fresh_db), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "authstack_migrator", "all"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert _one(fresh_db, "SELECT count(*) FROM projects WHERE id = 'internal'") == (1,)
    # Secrets given in the environment never reach the log.
    output = done.stdout + done.stderr
    for secret in (*INTERNAL_KEYS.values(), ADMIN_PASSWORD):
        assert secret.encode() not in output


def test_command_line_names_a_bad_variable(fresh_db: str) -> None:
    env = {**settings_env(fresh_db, STACK_SERVER_SECRET="***not base64***"), "PATH": "/usr/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "authstack_migrator", "migrate"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert b"STACK_SERVER_SECRET" in done.stderr


# --- time limits, no-transaction files, rewrites --------------------------------------------------

# 0004 as first shipped: plain CREATE INDEX in a transaction (blocks writes while it builds).
OLD_0004 = """\
-- Trigram indexes serve GET /users?query=... (substring search of emails and display names)
-- without walking every user of a project. pg_trgm is a trusted extension (PostgreSQL 13+), so
-- the database owner may create it without superuser rights.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_display_name_trgm_idx ON users USING gin (display_name gin_trgm_ops);
CREATE INDEX contact_channels_value_trgm_idx ON contact_channels USING gin (value gin_trgm_ops);
"""
TRGM_INDEXES = ("users_display_name_trgm_idx", "contact_channels_value_trgm_idx")


def _shipped(upto: int) -> list[Migration]:
    return [m for m in load_migrations() if m.version <= upto]


def _index_state(url: str, name: str) -> tuple[bool, bool] | None:
    """(valid, ready) of an index, or None if there is none of that name."""
    row = _one(
        url,
        "SELECT indisvalid, indisready FROM pg_index WHERE indexrelid = to_regclass(%s)",
        name,
    )
    return None if row is None else (row[0], row[1])


def _in_thread(target: Any) -> tuple[threading.Thread, list[Any], list[BaseException]]:
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(target())
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, results, errors


def _wait_for_waiting_query(url: str, fragment: str, *, lock: bool = True) -> int:
    """The pid of the session running a query containing ``fragment`` (waiting on a lock)."""
    deadline = time.monotonic() + 20
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND query LIKE %s "
                "AND (NOT %s OR wait_event_type = 'Lock')",
                (f"%{fragment}%", lock),
            ).fetchone()
            if row is not None:
                return int(row[0])
            time.sleep(0.05)
    raise AssertionError(f"no session ran {fragment!r}")


def test_split_statements_honours_quotes_comments_and_dollar_bodies() -> None:
    text = """
    -- a header; with a semicolon
    CREATE TABLE t (a text DEFAULT 'x;y', "odd;name" int);
    /* block; /* nested; */ still comment; */
    CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$;
    SELECT E'it\\'s;', 'it''s;', $$;$$
    """
    statements = split_statements(text)
    assert len(statements) == 3, statements
    assert statements[0].endswith("""CREATE TABLE t (a text DEFAULT 'x;y', "odd;name" int)""")
    assert statements[1].startswith("/* block;")
    assert statements[1].endswith("$body$ BEGIN RETURN 1; END $body$")
    assert statements[2] == "SELECT E'it\\'s;', 'it''s;', $$;$$"
    assert split_statements("-- only a comment;\n  ;  ") == []


def test_header_directives_are_read_and_unknown_ones_refused() -> None:
    header = "-- why this file exists\n-- migrate: no-transaction\n"
    header += "-- migrate: lock_timeout=2s, statement_timeout=30min\nSELECT 1;\n"
    header += "-- migrate: statement_timeout=1ms\n"  # after the first statement: not a header
    options = Migration(9100, "x", header).options
    assert options == Options(transactional=False, lock_timeout="2s", statement_timeout="30min")
    assert Migration(9100, "x", "SELECT 1;").options == Options()
    with pytest.raises(MigrationError, match="unknown or malformed directive 'no-transactions'"):
        _ = Migration(9100, "x", "-- migrate: no-transactions\nSELECT 1;").options
    with pytest.raises(MigrationError, match="'lock_timeout=soon'"):
        _ = Migration(9100, "x", "-- migrate: lock_timeout=soon\nSELECT 1;").options


def test_shipped_0004_builds_its_indexes_concurrently_without_a_transaction() -> None:
    [m0004] = [m for m in load_migrations() if m.version == 4]
    assert m0004.options.transactional is False
    statements = m0004.statements()
    assert sum("INDEX CONCURRENTLY IF NOT EXISTS" in s for s in statements) == len(TRGM_INDEXES)


def test_no_transaction_migration_runs_create_index_concurrently(fresh_db: str) -> None:
    table = Migration(
        9200, "probe", "CREATE TABLE probe (x integer); INSERT INTO probe VALUES (1);"
    )
    body = "CREATE INDEX CONCURRENTLY IF NOT EXISTS probe_x_idx ON probe (x);"
    in_transaction = Migration(9201, "index_probe", body)
    # Inside a transaction PostgreSQL refuses a concurrent build outright ...
    with pytest.raises(psycopg.errors.ActiveSqlTransaction):
        migrate(fresh_db, [*load_migrations(), table, in_transaction])
    assert _index_state(fresh_db, "probe_x_idx") is None
    # ... so the header takes the file out of it.
    concurrent = Migration(9201, "index_probe", "-- migrate: no-transaction\n" + body)
    assert migrate(fresh_db, [*load_migrations(), table, concurrent]) == [concurrent]
    assert _index_state(fresh_db, "probe_x_idx") == (True, True)
    assert [r[0] for r in _ledger(fresh_db)][-2:] == [9200, 9201]
    assert migrate(fresh_db, [*load_migrations(), table, concurrent]) == []
    # The session limits of a no-transaction file do not outlive it on the runner's connection:
    # a later transactional file gets the runner's own.
    probe = Migration(
        9202, "limits", "CREATE TABLE limits AS SELECT current_setting('lock_timeout') v"
    )
    migrate(fresh_db, [*load_migrations(), table, concurrent, probe], lock_timeout="3s")
    assert _one(fresh_db, "SELECT v FROM limits") == ("3s",)


def test_no_transaction_file_that_could_not_be_rerun_is_refused(fresh_db: str) -> None:
    bad = Migration(
        9300,
        "bad",
        "-- migrate: no-transaction\nCREATE INDEX CONCURRENTLY probe_idx ON users (id);",
    )
    with pytest.raises(MigrationError, match="probe_idx needs IF NOT EXISTS"):
        migrate(fresh_db, [*load_migrations(), bad])
    assert _index_state(fresh_db, "probe_idx") is None
    assert 9300 not in [r[0] for r in _ledger(fresh_db)]


def test_migration_waiting_for_a_held_lock_fails_fast_and_records_nothing(fresh_db: str) -> None:
    table = Migration(9400, "probe", "CREATE TABLE probe (x integer);")
    migrate(fresh_db, [*load_migrations(), table])
    alter = Migration(9401, "alter_probe", "ALTER TABLE probe ADD COLUMN y integer;")
    with psycopg.connect(fresh_db) as holder:
        holder.execute("SELECT * FROM probe")  # an open transaction keeps its ACCESS SHARE lock
        started = time.monotonic()
        with pytest.raises(MigrationTimeoutError, match=r"lock_timeout=200ms for a lock") as info:
            migrate(fresh_db, [*load_migrations(), table, alter], lock_timeout="200ms")
        assert time.monotonic() - started < 5
        assert "9401_alter_probe.sql" in str(info.value)
        holder.rollback()
    assert 9401 not in [r[0] for r in _ledger(fresh_db)]
    # Released: the same migration goes through, and the advisory lock was not left behind.
    assert migrate(fresh_db, [*load_migrations(), table, alter], lock_timeout="200ms") == [alter]


def test_statement_timeout_applies_and_a_file_header_can_raise_it(fresh_db: str) -> None:
    migrate(fresh_db)
    slow = "CREATE TABLE slow_done AS SELECT pg_sleep(0.5)::text AS slept;"
    plain = Migration(9500, "slow", slow)
    with pytest.raises(MigrationTimeoutError, match="statement_timeout=100ms"):
        migrate(fresh_db, [*load_migrations(), plain], statement_timeout="100ms")
    assert _one(fresh_db, "SELECT to_regclass('public.slow_done') IS NULL") == (True,)
    declared = Migration(9500, "slow", "-- migrate: statement_timeout=10s\n" + slow)
    applied = migrate(fresh_db, [*load_migrations(), declared], statement_timeout="100ms")
    assert applied == [declared]


def test_interrupted_no_transaction_migration_is_finished_by_the_next_run(fresh_db: str) -> None:
    """A unique build that fails leaves an INVALID index; the re-run drops and rebuilds it."""
    table = Migration(
        9600, "probe", "CREATE TABLE probe (x integer); INSERT INTO probe VALUES (1), (1);"
    )
    indexes = Migration(
        9601,
        "index_probe",
        "-- migrate: no-transaction\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS probe_x_idx ON probe (x);\n"
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS probe_x_key ON probe (x);\n",
    )
    shipped = [*load_migrations(), table, indexes]
    with pytest.raises(psycopg.errors.UniqueViolation):
        migrate(fresh_db, shipped)
    assert _index_state(fresh_db, "probe_x_idx") == (True, True)  # the first statement stuck
    leftover = _index_state(fresh_db, "probe_x_key")
    assert leftover is not None  # the failed build's leftover ...
    assert leftover[0] is False  # ... is INVALID
    assert 9601 not in [r[0] for r in _ledger(fresh_db)]
    # Plain IF NOT EXISTS would keep the invalid index and call the job done; the runner does not.
    with psycopg.connect(fresh_db) as conn:
        conn.execute("DELETE FROM probe WHERE ctid = (SELECT max(ctid) FROM probe)")
    assert migrate(fresh_db, shipped) == [indexes]
    assert _index_state(fresh_db, "probe_x_key") == (True, True)
    assert _index_state(fresh_db, "probe_x_idx") == (True, True)
    with psycopg.connect(fresh_db) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO probe VALUES (1)")


def test_migrator_session_killed_mid_file_is_finished_by_the_next_run(fresh_db: str) -> None:
    table = Migration(
        9700, "probe", "CREATE TABLE probe (x integer); CREATE TABLE crash_switch ();"
    )
    # Sleeps (long enough to be killed) only while crash_switch exists.
    indexes = Migration(
        9701,
        "index_probe",
        "-- migrate: no-transaction, statement_timeout=1min\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS probe_a_idx ON probe (x);\n"
        "SELECT pg_sleep(CASE WHEN to_regclass('crash_switch') IS NULL THEN 0 ELSE 30 END);\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS probe_b_idx ON probe (x);\n",
    )
    shipped = [*load_migrations(), table, indexes]
    thread, _, errors = _in_thread(lambda: migrate(fresh_db, shipped))
    pid = _wait_for_waiting_query(fresh_db, "pg_sleep(CASE", lock=False)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        conn.execute("DROP TABLE crash_switch")
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(errors) == 1, errors
    assert isinstance(errors[0], psycopg.OperationalError), errors
    assert _index_state(fresh_db, "probe_a_idx") == (True, True)
    assert _index_state(fresh_db, "probe_b_idx") is None
    assert 9701 not in [r[0] for r in _ledger(fresh_db)]
    # The killed session took its advisory lock with it; the next run redoes the file.
    assert migrate(fresh_db, shipped) == [indexes]
    assert _index_state(fresh_db, "probe_b_idx") == (True, True)


def test_new_0004_lets_writes_through_while_it_waits_to_build(fresh_db: str) -> None:
    migrate(fresh_db, _shipped(3))
    with psycopg.connect(fresh_db) as writer:
        # An open writing transaction: a concurrent build has to wait for it to finish.
        writer.execute("UPDATE users SET display_name = display_name")
        thread, results, errors = _in_thread(lambda: migrate(fresh_db, _shipped(4)))
        _wait_for_waiting_query(fresh_db, "CONCURRENTLY IF NOT EXISTS users_display_name")
        # Meanwhile other writers are not queued behind the build.
        with psycopg.connect(fresh_db) as other:
            other.execute("SET lock_timeout = '1s'")
            other.execute("UPDATE users SET display_name = display_name")
        writer.commit()
    thread.join(timeout=30)
    assert not errors, errors
    assert [m.version for m in results[0]] == [4]
    for name in TRGM_INDEXES:
        assert _index_state(fresh_db, name) == (True, True)


def test_database_migrated_by_the_old_0004_upgrades_cleanly(fresh_db: str) -> None:
    old = Migration(4, "add_user_search_indexes", OLD_0004)
    assert old.checksum in ACCEPTED_REWRITES[4]
    migrate(fresh_db, [*_shipped(3), old])
    assert [row[2] for row in _ledger(fresh_db) if row[0] == 4] == [old.checksum]

    applied = migrate(fresh_db)
    assert 4 not in [m.version for m in applied]
    assert [row[2] for row in _ledger(fresh_db) if row[0] == 4] == [old.checksum]
    for name in TRGM_INDEXES:
        assert _index_state(fresh_db, name) == (True, True)
    assert migrate(fresh_db) == []
    # Only the accepted earlier text: any other edit of an applied file is still refused.
    edited = Migration(4, "add_user_search_indexes", OLD_0004 + "\n-- an edit\n")
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE schema_migrations SET checksum = %s WHERE version = 4", (edited.checksum,)
        )
    with pytest.raises(MigrationError, match=r"0004_add_user_search_indexes\.sql was edited"):
        migrate(fresh_db)


def test_command_line_applies_the_configured_statement_timeout(fresh_db: str) -> None:
    env = {
        **settings_env(fresh_db, STACK_MIGRATION_STATEMENT_TIMEOUT="1ms"),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "authstack_migrator", "migrate"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    output = (done.stdout + done.stderr).decode()
    assert "migration timed out" in output
    assert "statement_timeout=1ms" in output
    assert _ledger(fresh_db) == []
    env["STACK_MIGRATION_STATEMENT_TIMEOUT"] = "not a duration"
    refused = subprocess.run(
        [sys.executable, "-m", "authstack_migrator", "migrate"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert b"STACK_MIGRATION_STATEMENT_TIMEOUT" in refused.stderr
