"""The migrator's time limits, no-transaction files and accepted rewrites, on new databases."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

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
from tests.conftest import settings_env
from tests.migrator.helpers import ledger_rows, one_row, run_cli

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


def _probe_table(version: int, *then: str) -> Migration:
    """Migration ``version``: CREATE TABLE probe (x integer), then the statements ``then``."""
    return Migration(version, "probe", " ".join(["CREATE TABLE probe (x integer);", *then]))


def _index_probe(version: int, *lines: str, options: str = "") -> Migration:
    """Migration ``version``: a no-transaction file (with more header ``options``) of ``lines``."""
    header = "-- migrate: no-transaction" + (f", {options}" if options else "")
    return Migration(version, "index_probe", "\n".join([header, *lines]) + "\n")


def _index_state(url: str, name: str) -> tuple[bool, bool] | None:
    """(valid, ready) of an index, or None if there is none of that name."""
    row = one_row(
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
    table = _probe_table(9200, "INSERT INTO probe VALUES (1);")
    body = "CREATE INDEX CONCURRENTLY IF NOT EXISTS probe_x_idx ON probe (x);"
    in_transaction = Migration(9201, "index_probe", body)
    # Inside a transaction PostgreSQL refuses a concurrent build outright ...
    with pytest.raises(psycopg.errors.ActiveSqlTransaction):
        migrate(fresh_db, [*load_migrations(), table, in_transaction])
    assert _index_state(fresh_db, "probe_x_idx") is None
    # ... so the header takes the file out of it.
    concurrent = _index_probe(9201, body)
    assert migrate(fresh_db, [*load_migrations(), table, concurrent]) == [concurrent]
    assert _index_state(fresh_db, "probe_x_idx") == (True, True)
    assert [r[0] for r in ledger_rows(fresh_db)][-2:] == [9200, 9201]
    assert migrate(fresh_db, [*load_migrations(), table, concurrent]) == []
    # The session limits of a no-transaction file do not outlive it on the runner's connection:
    # a later transactional file gets the runner's own.
    probe = Migration(
        9202, "limits", "CREATE TABLE limits AS SELECT current_setting('lock_timeout') v"
    )
    migrate(fresh_db, [*load_migrations(), table, concurrent, probe], lock_timeout="3s")
    assert one_row(fresh_db, "SELECT v FROM limits") == ("3s",)


def test_no_transaction_file_that_could_not_be_rerun_is_refused(fresh_db: str) -> None:
    bad = Migration(
        9300,
        "bad",
        "-- migrate: no-transaction\nCREATE INDEX CONCURRENTLY probe_idx ON users (id);",
    )
    with pytest.raises(MigrationError, match="probe_idx needs IF NOT EXISTS"):
        migrate(fresh_db, [*load_migrations(), bad])
    assert _index_state(fresh_db, "probe_idx") is None
    assert 9300 not in [r[0] for r in ledger_rows(fresh_db)]


def test_migration_waiting_for_a_held_lock_fails_fast_and_records_nothing(fresh_db: str) -> None:
    table = _probe_table(9400)
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
    assert 9401 not in [r[0] for r in ledger_rows(fresh_db)]
    # Released: the same migration goes through, and the advisory lock was not left behind.
    assert migrate(fresh_db, [*load_migrations(), table, alter], lock_timeout="200ms") == [alter]


def test_statement_timeout_applies_and_a_file_header_can_raise_it(fresh_db: str) -> None:
    migrate(fresh_db)
    slow = "CREATE TABLE slow_done AS SELECT pg_sleep(0.5)::text AS slept;"
    plain = Migration(9500, "slow", slow)
    with pytest.raises(MigrationTimeoutError, match="statement_timeout=100ms"):
        migrate(fresh_db, [*load_migrations(), plain], statement_timeout="100ms")
    assert one_row(fresh_db, "SELECT to_regclass('public.slow_done') IS NULL") == (True,)
    declared = Migration(9500, "slow", "-- migrate: statement_timeout=10s\n" + slow)
    applied = migrate(fresh_db, [*load_migrations(), declared], statement_timeout="100ms")
    assert applied == [declared]


def test_interrupted_no_transaction_migration_is_finished_by_the_next_run(fresh_db: str) -> None:
    """A unique build that fails leaves an INVALID index; the re-run drops and rebuilds it."""
    table = _probe_table(9600, "INSERT INTO probe VALUES (1), (1);")
    indexes = _index_probe(
        9601,
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS probe_x_idx ON probe (x);",
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS probe_x_key ON probe (x);",
    )
    shipped = [*load_migrations(), table, indexes]
    with pytest.raises(psycopg.errors.UniqueViolation):
        migrate(fresh_db, shipped)
    assert _index_state(fresh_db, "probe_x_idx") == (True, True)  # the first statement stuck
    leftover = _index_state(fresh_db, "probe_x_key")
    assert leftover is not None  # the failed build's leftover ...
    assert leftover[0] is False  # ... is INVALID
    assert 9601 not in [r[0] for r in ledger_rows(fresh_db)]
    # Plain IF NOT EXISTS would keep the invalid index and call the job done; the runner does not.
    with psycopg.connect(fresh_db) as conn:
        conn.execute("DELETE FROM probe WHERE ctid = (SELECT max(ctid) FROM probe)")
    assert migrate(fresh_db, shipped) == [indexes]
    assert _index_state(fresh_db, "probe_x_key") == (True, True)
    assert _index_state(fresh_db, "probe_x_idx") == (True, True)
    with psycopg.connect(fresh_db) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO probe VALUES (1)")


def test_migrator_session_killed_mid_file_is_finished_by_the_next_run(fresh_db: str) -> None:
    table = _probe_table(9700, "CREATE TABLE crash_switch ();")
    # Sleeps (long enough to be killed) only while crash_switch exists.
    indexes = _index_probe(
        9701,
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS probe_a_idx ON probe (x);",
        "SELECT pg_sleep(CASE WHEN to_regclass('crash_switch') IS NULL THEN 0 ELSE 30 END);",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS probe_b_idx ON probe (x);",
        options="statement_timeout=1min",
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
    assert 9701 not in [r[0] for r in ledger_rows(fresh_db)]
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
    assert [row[2] for row in ledger_rows(fresh_db) if row[0] == 4] == [old.checksum]

    applied = migrate(fresh_db)
    assert 4 not in [m.version for m in applied]
    assert [row[2] for row in ledger_rows(fresh_db) if row[0] == 4] == [old.checksum]
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
    done = run_cli("migrate", env)
    assert done.returncode == 1
    output = (done.stdout + done.stderr).decode()
    assert "migration timed out" in output
    assert "statement_timeout=1ms" in output
    assert ledger_rows(fresh_db) == []
    env["STACK_MIGRATION_STATEMENT_TIMEOUT"] = "not a duration"
    refused = run_cli("migrate", env)
    assert refused.returncode == 2
    assert b"STACK_MIGRATION_STATEMENT_TIMEOUT" in refused.stderr
