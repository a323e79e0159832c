"""The migrator on brand-new databases: idempotence, edit detection, locking, and the seed."""

from __future__ import annotations

import hashlib
import threading

import psycopg
import pytest
from psycopg import sql

from authstack_core.crypto.passwords import verify_password_sync
from authstack_core.settings import Settings
from authstack_migrator.runner import (
    Migration,
    MigrationError,
    load_migrations,
    migrate,
)
from authstack_migrator.seed import seed
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, INTERNAL_KEYS, settings_env
from tests.migrator.helpers import ledger_rows, one_row, run_cli

# The ids contract §9 fixes for the seeded rows, written out on purpose: this is the test that
# holds the seed to them (everything else imports the seed's constants).
INTERNAL_TEAM_ID = "a23e1b7f-ab18-41fc-9ee6-7a9ca9fa543c"
KEY_SET_ID = "3142e763-b230-44b5-8636-aa62f7489c26"
ADMIN_USER_ID = "33e7c043-d2d1-4187-acd3-f91b5ed64b46"


def _settings(url: str, **extra: str) -> Settings:
    return Settings(**settings_env(url, **extra))  # type: ignore[arg-type]


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


# --- migrations ---------------------------------------------------------------------------------


def test_second_migrate_applies_nothing_and_leaves_the_ledger_alone(fresh_db: str) -> None:
    shipped = load_migrations()
    assert shipped, "the package ships at least one migration"
    first = migrate(fresh_db)
    assert [m.version for m in first] == [m.version for m in shipped]
    ledger = ledger_rows(fresh_db)
    assert [(v, n, c) for v, n, c, _ in ledger] == [
        (m.version, m.name, m.checksum) for m in shipped
    ]
    assert migrate(fresh_db) == []
    assert ledger_rows(fresh_db) == ledger


def test_migration_versions_are_contiguous_from_one() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_edited_applied_migration_is_refused(fresh_db: str) -> None:
    migrate(fresh_db)
    edited = [
        Migration(m.version, m.name, m.sql + "\n-- a harmless-looking edit\n")
        for m in load_migrations()
    ]
    before = ledger_rows(fresh_db)
    with pytest.raises(MigrationError, match="edited"):
        migrate(fresh_db, edited)
    assert ledger_rows(fresh_db) == before


def test_database_from_a_newer_release_is_refused(fresh_db: str) -> None:
    migrate(fresh_db)
    with pytest.raises(MigrationError, match="newer"):
        migrate(fresh_db, load_migrations()[:-1] if len(load_migrations()) > 1 else [])


def test_new_migration_is_applied_on_top(fresh_db: str) -> None:
    migrate(fresh_db)
    extra = Migration(9000, "add_probe", "CREATE TABLE probe_table (id integer PRIMARY KEY);")
    applied = migrate(fresh_db, [*load_migrations(), extra])
    assert applied == [extra]
    assert one_row(fresh_db, "SELECT to_regclass('public.probe_table') IS NOT NULL") == (True,)
    assert migrate(fresh_db, [*load_migrations(), extra]) == []


def test_failing_migration_is_rolled_back_entirely(fresh_db: str) -> None:
    migrate(fresh_db)
    broken = Migration(9001, "broken", "CREATE TABLE half_done (id integer); SELECT 1 / 0;")
    with pytest.raises(psycopg.errors.DivisionByZero):
        migrate(fresh_db, [*load_migrations(), broken])
    assert one_row(fresh_db, "SELECT to_regclass('public.half_done') IS NULL") == (True,)
    assert [row[0] for row in ledger_rows(fresh_db)] == [m.version for m in load_migrations()]
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
    assert [row[0] for row in ledger_rows(fresh_db)] == shipped


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
    project = one_row(
        fresh_db, "SELECT display_name, owner_team_id::text FROM projects WHERE id = 'internal'"
    )
    assert project == ("Stack Dashboard", INTERNAL_TEAM_ID)
    team = one_row(
        fresh_db,
        "SELECT t.display_name FROM teams t JOIN tenancies n ON n.id = t.tenancy_id "
        "WHERE n.project_id = 'internal' AND t.id = %s",
        INTERNAL_TEAM_ID,
    )
    assert team == ("Internal Team",)
    keys = one_row(
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
    email = one_row(
        fresh_db,
        "SELECT value, is_verified, used_for_auth FROM contact_channels WHERE user_id = %s",
        ADMIN_USER_ID,
    )
    assert email == (ADMIN_EMAIL, True, True)
    stored = one_row(
        fresh_db,
        "SELECT password_hash FROM password_auth_methods WHERE user_id = %s",
        ADMIN_USER_ID,
    )
    assert stored is not None
    assert verify_password_sync(ADMIN_PASSWORD, stored[0])
    assert stored[0].startswith("$bcrypt-sha256$v=2,t=2b,r=10$")
    membership = one_row(
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
    assert one_row(fresh_db, "SELECT count(*) FROM users WHERE id = %s", ADMIN_USER_ID) == (1,)
    assert one_row(fresh_db, "SELECT count(*) FROM team_members") == (0,)


def test_seed_without_admin_credentials_creates_no_user(fresh_db: str) -> None:
    migrate(fresh_db)
    env = settings_env(fresh_db)
    del env["STACK_SEED_INTERNAL_PROJECT_USER_EMAIL"]
    del env["STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD"]
    seed(Settings(**env))  # type: ignore[arg-type]
    assert one_row(fresh_db, "SELECT count(*) FROM users") == (0,)
    assert one_row(fresh_db, "SELECT count(*) FROM projects WHERE id = 'internal'") == (1,)


def test_reseeding_with_a_rotated_key_replaces_the_old_one(fresh_db: str) -> None:
    migrate(fresh_db)
    seed(_settings(fresh_db))
    rotated = "ssk_rotated_secret_server_key_abcdefghijklmnop"
    seed(_settings(fresh_db, STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY=rotated))
    row = one_row(
        fresh_db, "SELECT secret_server_key_hash FROM api_key_sets WHERE id = %s", KEY_SET_ID
    )
    assert bytes(row[0]) == hashlib.sha256(rotated.encode()).digest()
    assert one_row(fresh_db, "SELECT count(*) FROM api_key_sets") == (1,)


def test_seed_dummy_project_only_when_enabled(fresh_db: str) -> None:
    migrate(fresh_db)
    seed(_settings(fresh_db))
    dummy = "SELECT count(*) FROM projects WHERE id = '6fbbf22e-f4b2-4c6e-95a1-beab6fa41063'"
    assert one_row(fresh_db, dummy) == (0,)
    seed(_settings(fresh_db, STACK_SEED_ENABLE_DUMMY_PROJECT="true"))
    assert one_row(fresh_db, dummy) == (1,)


# --- the command line ---------------------------------------------------------------------------


def test_command_line_migrates_and_seeds(fresh_db: str) -> None:
    env = {**settings_env(fresh_db), "PATH": "/usr/bin:/bin"}
    done = run_cli("all", env)
    assert done.returncode == 0, done.stderr.decode()
    assert one_row(fresh_db, "SELECT count(*) FROM projects WHERE id = 'internal'") == (1,)
    # Secrets given in the environment never reach the log.
    output = done.stdout + done.stderr
    for secret in (*INTERNAL_KEYS.values(), ADMIN_PASSWORD):
        assert secret.encode() not in output


def test_command_line_names_a_bad_variable(fresh_db: str) -> None:
    env = {**settings_env(fresh_db, STACK_SERVER_SECRET="***not base64***"), "PATH": "/usr/bin"}
    done = run_cli("migrate", env)
    assert done.returncode == 2
    assert b"STACK_SERVER_SECRET" in done.stderr
