"""ClickHouse migrations on the real embedded engine, run by the real migrator in processes of
their own (an embedded store is open in one process at a time)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import migrated_clickhouse, settings_env

TIMEOUT_S = 120
LEDGER_AND_TABLES = textwrap.dedent(
    """
    import sys
    import clickhouse_connect
    client = clickhouse_connect.get_client(dsn=sys.argv[1])
    ledger = client.query(
        "SELECT version, name, ran FROM analytics_internal.schema_migrations ORDER BY version"
    ).result_rows
    print(ledger)
    print(sorted(r[0] for r in client.query(
        "SELECT name FROM system.tables WHERE database = 'analytics_internal'").result_rows))
    print(sorted(r[0] for r in client.query(
        "SELECT name FROM system.tables WHERE database = 'default'").result_rows))
    print(client.query("SELECT engine_full FROM system.tables WHERE database = "
                       "'analytics_internal' AND name = 'events'").result_rows[0][0])
    """
)
SYNC_TABLES = [
    "connected_accounts", "contact_channels", "email_outboxes", "notification_preferences",
    "project_permissions", "refresh_tokens", "team_invitations", "team_member_profiles",
    "team_permissions", "teams", "users",
]  # fmt: skip


def _python(
    code: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        env=env,
    )


def _migrate(url: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "authstack_migrator", "clickhouse"],
        env={
            **os.environ,
            **settings_env(database_url, STACK_CLICKHOUSE_URL=url, STACK_LOG_LEVEL="info"),
        },
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_migrations_create_the_contract_schema_and_a_second_run_changes_nothing(
    tmp_path: Path, migrated_database: str
) -> None:
    url = migrated_clickhouse(tmp_path / "store", migrated_database)
    first = _python(LEDGER_AND_TABLES, url)
    assert first.returncode == 0, first.stderr
    ledger, internal, public, engine = first.stdout.splitlines()
    # On the embedded engine the users/row-policy file is recorded without running (ran = 0).
    assert ledger == (
        "[(1, 'create_events', 1), (2, 'create_sync_tables', 1), "
        "(3, 'create_public_views', 1), (4, 'limit_admin_queries', 0), "
        "(5, 'key_connected_accounts_by_id', 1), (6, 'limit_connected_accounts_again', 0)]"
    )
    assert ast.literal_eval(internal) == sorted(
        ["_stack_sync_metadata", "events", "schema_migrations", *SYNC_TABLES]
    )
    assert ast.literal_eval(public) == sorted(["events", *SYNC_TABLES])
    assert "MergeTree" in engine
    assert "PARTITION BY toYYYYMM(event_at)" in engine
    assert "ORDER BY (project_id, branch_id, event_at)" in engine

    again = _migrate(url, migrated_database)
    assert again.returncode == 0, again.stderr
    assert "ClickHouse schema is up to date" in again.stdout + again.stderr
    assert "ClickHouse migration applied" not in again.stdout + again.stderr
    assert _python(LEDGER_AND_TABLES, url).stdout == first.stdout


EDITED = textwrap.dedent(
    """
    import dataclasses
    from authstack_core.settings import Settings
    from authstack_migrator.clickhouse_runner import load_clickhouse_migrations, migrate_clickhouse
    from authstack_migrator.runner import MigrationError
    migrations = load_clickhouse_migrations()
    migrations[1] = dataclasses.replace(migrations[1], sql=migrations[1].sql + "\\n-- edited\\n")
    try:
        migrate_clickhouse(Settings.from_env(), migrations)
    except MigrationError as exc:
        print("refused:", exc)
    """
)


def test_an_edited_applied_migration_is_refused(tmp_path: Path, migrated_database: str) -> None:
    url = migrated_clickhouse(tmp_path / "store", migrated_database)
    env = {**os.environ, **settings_env(migrated_database, STACK_CLICKHOUSE_URL=url)}
    done = _python(EDITED, env=env)
    assert done.returncode == 0, done.stderr
    assert "refused: ClickHouse migration 0002_create_sync_tables.sql was edited" in done.stdout


HOLD = textwrap.dedent(
    """
    import sys, time
    from authstack_core.analytics.store import EmbeddedLock
    lock = EmbeddedLock(sys.argv[1])
    print("holding", flush=True)
    time.sleep(30)
    """
)


def test_a_store_open_in_another_process_is_refused_with_a_clear_error(
    tmp_path: Path, migrated_database: str
) -> None:
    folder = tmp_path / "store"
    url = migrated_clickhouse(folder, migrated_database)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        done = _migrate(url, migrated_database)
        assert done.returncode == 1
        assert "is open in another process" in done.stdout + done.stderr
    finally:
        holder.kill()
        holder.wait()
